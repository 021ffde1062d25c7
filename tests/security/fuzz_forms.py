"""What the fuzzer sends: targets read from app.url_map and the portal's own form classes,
and hypothesis strategies that fill their real field names with hostile or random values.

A view's forms are found by reading the names its code refers to (and those of the helpers
in its module it calls), so a new form or field is fuzzed without touching this file.
"""

from __future__ import annotations

import inspect
import io
import json
import re
import secrets
import types
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

from hypothesis import strategies as st
from PIL import Image
from wtforms import Form
from wtforms import fields as wtf
from wtforms.fields.core import UnboundField

# --- Targets ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # text, date, integer, decimal, boolean, choice, file, submit
    choices: tuple[str, ...] = ()


@dataclass
class Target:
    endpoint: str
    method: str
    rule: str
    arguments: dict[str, str]  # path parameter -> "int" or "string"
    fields: tuple[Field, ...]
    query_names: tuple[str, ...]  # read from the query string by the view itself
    forms: tuple[str, ...] = field(default=())


_FIELD_KINDS = (  # order matters: a SubmitField is a BooleanField, a DateField a DateTimeField
    (wtf.SubmitField, "submit"),
    (wtf.BooleanField, "boolean"),
    (wtf.FileField, "file"),
    ((wtf.DateField, wtf.DateTimeField), "date"),
    (wtf.IntegerField, "integer"),
    ((wtf.DecimalField, wtf.FloatField), "decimal"),
    ((wtf.SelectField, wtf.RadioField), "choice"),
)


def _kind(field_class) -> str:
    for classes, kind in _FIELD_KINDS:
        if issubclass(field_class, classes):
            return kind
    return "text"  # StringField, TextAreaField, PasswordField, HiddenField, TelField, EmailField


def _choice_values(unbound: UnboundField) -> tuple[str, ...]:
    choices = unbound.kwargs.get("choices") or ()
    return tuple(str(choice[0] if isinstance(choice, tuple) else choice) for choice in choices)


def fields_of(form_class: type[Form], prefix: str = "") -> list[Field]:
    found = []
    for name in dir(form_class):
        unbound = getattr(form_class, name, None)
        if isinstance(unbound, UnboundField):
            found += _expand(prefix + name, unbound)
    return found


def _expand(name: str, unbound: UnboundField) -> list[Field]:
    field_class = unbound.field_class
    if issubclass(field_class, wtf.FieldList):
        entries = unbound.kwargs.get("min_entries", 1) + 1  # one more than the page shows
        return [f for index in range(entries) for f in _expand(f"{name}-{index}", unbound.args[0])]
    if issubclass(field_class, wtf.FormField):
        return fields_of(unbound.args[0], prefix=f"{name}-")
    return [Field(name, _kind(field_class), _choice_values(unbound))]


def _code_objects(code: types.CodeType):
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _code_objects(const)


def _referenced(func) -> list:
    names = {name for code in _code_objects(func.__code__) for name in code.co_names}
    return [func.__globals__[name] for name in sorted(names) if name in func.__globals__]


def _is_form(obj) -> bool:
    return isinstance(obj, type) and issubclass(obj, Form)


def _helpers(func, module: str) -> list:
    """Functions of the view's own module it calls, also through a dict of steps."""
    found = []
    for obj in _referenced(func):
        candidates = obj.values() if isinstance(obj, dict) else [obj]
        found += [c for c in candidates if isinstance(c, types.FunctionType) and c.__module__ == module
                  and not hasattr(c, "access_rules")]  # another route (a name like `login`), not a helper
    return found


def _functions(view, depth: int = 2) -> list[list]:
    """The view, then its helpers, level by level."""
    view = inspect.unwrap(view)
    levels, seen = [[view]], {view}
    for _ in range(depth):
        level = [h for func in levels[-1] for h in _helpers(func, view.__module__) if h not in seen]
        seen.update(level)
        if not level:
            break
        levels.append(list(dict.fromkeys(level)))
    return levels


_ARG_READ = re.compile(r"request\.args(?:\.get(?:list)?\(\s*|\[)[\"'](\w+)[\"']")
_FORM_READ = re.compile(r"request\.(?:form|values)(?:\.get(?:list)?\(\s*|\[)[\"'](\w+)[\"']")
_FROM_ARGS = re.compile(r"\b(\w+)\(request\.args\b")
_FROM_REQUEST = re.compile(r"\b(\w+)\(\)")  # FlaskForm() reads the request by itself


def _source(func) -> str:
    try:
        return inspect.getsource(func)
    except (OSError, TypeError):
        return ""


def _posted_forms(levels) -> list[type[Form]]:
    """The forms built from the posted data, at the first level of calls that builds any."""
    for level in levels:
        referenced = [obj for func in level for obj in _referenced(func) if _is_form(obj)]
        built = {name for func in level for name in _FROM_REQUEST.findall(_source(func))}
        chosen = [form for form in referenced if form.__name__ in built] or referenced
        if chosen:
            return list(dict.fromkeys(chosen))
    return []


def targets(app) -> list[Target]:
    """Every rule accepting POST, and every GET rule whose view reads the query string."""
    found = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint == "static":
            continue
        levels = _functions(app.view_functions[rule.endpoint])
        sources = "\n".join(_source(func) for level in levels for func in level)
        globals_ = inspect.unwrap(app.view_functions[rule.endpoint]).__globals__
        arguments = {
            name: "int" if type(converter).__name__.lower().startswith("integer") else "string"
            for name, converter in rule._converters.items()
        }
        query_names = tuple(dict.fromkeys(_ARG_READ.findall(sources)))
        if "POST" in rule.methods:
            declared = getattr(app.view_functions[rule.endpoint], "posted_form", None)
            found.append(_post_target(rule, arguments, levels, sources, query_names, declared))
        if "GET" in rule.methods and "request.args" in sources:
            found.append(_get_target(rule, arguments, globals_, sources, query_names))
    return found


def _post_target(rule, arguments: dict[str, str], levels, sources: str, query_names: tuple[str, ...],
                 declared: tuple[type[Form], str] | None) -> Target:
    """The posted form's fields, and any field the view reads from request.form itself.

    A view built by a decorator that reads the form for it declares the form and its prefix
    (`posted_form`): its own code never names the form."""
    forms = [declared[0]] if declared else _posted_forms(levels)
    fields = [f for form in forms for f in fields_of(form, prefix=declared[1] if declared else "")]
    fields += [Field(name, "text") for name in dict.fromkeys(_FORM_READ.findall(sources))]
    return Target(rule.endpoint, "POST", rule.rule, arguments, _unique(fields), query_names,
                  tuple(form.__name__ for form in forms))


def _get_target(rule, arguments: dict[str, str], globals_: dict, sources: str, query_names: tuple[str, ...]) -> Target:
    """The fields of the forms built from request.args, and the names the view reads from it."""
    forms = [globals_[name] for name in _FROM_ARGS.findall(sources) if _is_form(globals_.get(name))]
    fields = [f for form in forms for f in fields_of(form)] + [Field(name, "text") for name in query_names]
    return Target(rule.endpoint, "GET", rule.rule, arguments, _unique(fields), (),
                  tuple(form.__name__ for form in forms))


def _unique(fields: list[Field]) -> tuple[Field, ...]:
    return tuple({f.name: f for f in fields}.values())


# --- Values -------------------------------------------------------------------------------------

# Each HTML fragment carries at least 8 characters around its first <, > or ", so the
# reflection check in test_fuzz.py can tell an echo from the page's own markup.
HOSTILE_TEXT = (
    "<script>alert('fz')</script>",
    '"><img src=x onerror=alert(1) data-fz>',
    '<div hx-get="/logout" hx-trigger="load" hx-target="body">fz</div>',
    '<a href="#" hx-post="/patient/my-data/withdraw" hx-trigger="load">fz</a>',
    '<form hx-boost="true" hx-vals=\'{"role": "cns"}\'>',
    "<svg onload=alert(1)>fz",
    "</textarea><script>alert(1)</script>",
    "javascript:alert(1)",
    "{{ 7*7 }}", "{{ config.items() }}", "{% for x in range(99) %}x{% endfor %}", "${7*7}", "#{7*7}",
    "<%= 7*7 %>", "{{''.__class__.__mro__[1].__subclasses__()}}", "{0.__class__}", "%(password)s",
    "' OR '1'='1", "1' OR 1=1 --", '" OR ""="', "1; DROP TABLE claim; --",
    "1 UNION SELECT password_hash FROM credential --", "%", "_", "%%", "\\", "'", '"', "`", "*",
    "\x00", "fz\x00fz", "\r\n\r\nX-Injected: 1", "\t", "\u202e\u0645fz", "\ufeff", "\u200b", "\x1b[31m",
    "Ω≈ç√∫", "👩\u200d⚕️💶", "ß", "İ", "ǅ", "\u0301", "ｆｚ",
    '=HYPERLINK("http://evil.example")', "+1", "-1", "@SUM(1)",
    "../../../etc/passwd", "%2e%2e%2f", "%00", "%s%s%s%n", "{0}", "None", "null", "NaN", "true", "[]", "{}",
    "9" * 40, "-" + "9" * 40, "9" * 4301, "1e999", "0x10", "١٢٣", "１２３", "²", "⁵5", "Ⅻ", "½",
)
# Invalid UTF-8, lone surrogates as their bytes, overlong encodings.
RAW_BYTES = (b"\xed\xa0\x80", b"\xff\xfe\x00", b"\xc0\xaf", b"\x80", b"fz\xe2\x28\xa1", b"\xf4\x90\x80\x80", b"\xc3")


def _huge() -> st.SearchStrategy[str]:
    # Built, not drawn character by character: hypothesis keeps each example small.
    return st.builds(lambda char, size: char * size, st.sampled_from(["A", "é", "<", "\x00", "😀", "9"]),
                     st.sampled_from([1_001, 4_097, 65_536, 100_001]))


def raw_bytes() -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.sampled_from(RAW_BYTES),
        st.binary(max_size=16),
        st.characters(categories=["Cs"]).map(lambda char: char.encode("utf-8", "surrogatepass")),
    )


def text_values() -> st.SearchStrategy[str | bytes]:
    return st.one_of(
        st.text(max_size=24),  # any code point but a lone surrogate: control characters, NUL…
        st.sampled_from(HOSTILE_TEXT),
        st.tuples(st.text(max_size=4), st.sampled_from(HOSTILE_TEXT), st.text(max_size=4)).map("".join),
        # Rarer: a huge text in one request of a few dozen (they are slow to send and echo).
        st.integers(0, 15).flatmap(lambda n: _huge() if n == 0 else raw_bytes()),
    )


BAD_DATES = ("2024-02-30", "2023-13-01", "0000-00-00", "99999-01-01", "-2024-01-01", "2024-1-1", "01/02/2024",
             "2024-01-01T00:00", "1e9", "2024-01-01\x00", " 2024-01-01 ", "9999-12-31", "0001-01-01", "1899-12-31")
BAD_INTEGERS = ("2147483648", "9223372036854775808", "-9223372036854775809", "1" + "0" * 400, "-1", "0", "1e3",
                "1.5", " 1", "+1", "٣", "0x1f", "1_000")
BAD_DECIMALS = ("NaN", "sNaN", "-Infinity", "Infinity", "1e999999", "1E-999999", "12,34", "1 000,50", "0.001",
                "-0", "57.70", "1e6", "1000000.01", "99999999999999999999999999999.99", "1,2,3", ",", ".")
BOOLEANS = ("y", "on", "1", "true", "", "false", "0", "no", "n", "True")


def kind_values(item: Field) -> st.SearchStrategy:
    text = text_values()
    if item.kind == "date":
        return st.one_of(st.dates().map(lambda day: day.isoformat()), st.sampled_from(BAD_DATES), text)
    if item.kind == "integer":
        return st.one_of(st.integers().map(str), st.sampled_from(BAD_INTEGERS), text)
    if item.kind == "decimal":
        return st.one_of(st.decimals().map(str), st.integers().map(str), st.sampled_from(BAD_DECIMALS), text)
    if item.kind in ("boolean", "submit"):
        return st.one_of(st.sampled_from(BOOLEANS), text)
    if item.kind == "choice" and item.choices:
        return st.one_of(st.sampled_from(item.choices), text)
    if item.kind == "file":
        return files()
    return text


def json_values() -> st.SearchStrategy:
    leaves = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8),
                       st.sampled_from([10**400, -(2**63), 1e308]))
    return st.recursive(leaves, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                        st.dictionaries(st.text(max_size=4), inner, max_size=2)),
                        max_leaves=4)


@dataclass(frozen=True)
class Upload:
    filename: str | bytes
    content: bytes
    content_type: str

    def __repr__(self):
        return f"Upload({self.filename!r}, {self.content[:24]!r}…{len(self.content)} bytes, {self.content_type!r})"


def _image(fmt: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), "white").save(out, format=fmt)
    return out.getvalue()


PNG, JPEG = _image("PNG"), _image("JPEG")
FILE_CONTENTS = (
    PNG, JPEG, b"", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n",
    b"%PDF-1.4\n<script>alert(1)</script>\n%%EOF\n", PNG + b"<script>alert(1)</script>",
    b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(1)</script></svg>',
    b"GIF89a\x01\x00\x01\x00<script>alert(1)</script>", b"\xff\xd8\xff" + b"\x00" * 64,
    b"\x89PNG\r\n\x1a\n" + b"\xff" * 64, b"<?php system($_GET['c']); ?>", b"PK\x03\x04" + b"\x00" * 40,
)
FILE_NAMES = ("id.png", "scan.jpg", "letter.pdf", "../../etc/passwd", "..\\..\\boot.ini", "x.php.png",
              "a\x00.png", '<img src=x onerror=alert(1)>.png', 'quote".png', "", "CON", "😀.pdf", "a" * 300 + ".png",
              "/abs/path.png", "new\r\nline.png")
FILE_TYPES = ("image/png", "image/jpeg", "application/pdf", "text/html", "image/svg+xml", "", "application/x-php")


def files() -> st.SearchStrategy[Upload]:
    return st.builds(
        Upload,
        st.one_of(st.sampled_from(FILE_NAMES), st.text(max_size=12), raw_bytes()),
        st.one_of(st.sampled_from(FILE_CONTENTS), st.binary(max_size=64)),
        st.sampled_from(FILE_TYPES),
    )


# Names a forged request might add: privileges, other people's ids, the framework's own.
EXTRA_NAMES = ("role", "patient_id", "account_id", "doctor_id", "amount", "fund", "is_admin", "status", "csrf_token",
               "next", "lang", "id", "version", "lines-99-code", "lines-100000-quantity", "lines--1-code", "lines-x-code",
               "__class__", "submit", "")


# --- Requests -----------------------------------------------------------------------------------


@dataclass
class FuzzRequest:
    method: str
    path: str
    query_string: bytes
    body: bytes | None
    content_type: str | None
    headers: dict[str, str]
    strings: list[str]  # every text sent, to look for unescaped echoes

    def __repr__(self):
        body = self.body if self.body is None or len(self.body) < 600 else self.body[:600] + b"..."
        return (f"FuzzRequest({self.method} {self.path}?{self.query_string[:300]!r} "
                f"content_type={self.content_type!r} headers={self.headers!r} body={body!r})")


def _text(value) -> str | None:
    return value if isinstance(value, str) else None


def _as_bytes(value) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode("utf-8", "surrogatepass")


def _urlencoded(pairs) -> str:
    return urlencode([(_as_bytes(k), _as_bytes(v.filename if isinstance(v, Upload) else v)) for k, v in pairs])


def _raw_form(pairs) -> bytes:
    # As a careless client would send it: nothing percent-encoded.
    return b"&".join(_as_bytes(k) + b"=" + _as_bytes(v.filename if isinstance(v, Upload) else v) for k, v in pairs)


def _multipart(pairs, boundary: bytes, *, escape: bool) -> bytes:
    def header_value(value) -> bytes:
        raw = _as_bytes(value)
        return raw.replace(b'"', b"%22").replace(b"\r", b"%0D").replace(b"\n", b"%0A") if escape else raw

    parts = []
    for name, value in pairs:
        disposition = b'Content-Disposition: form-data; name="' + header_value(name) + b'"'
        if isinstance(value, Upload):
            head = disposition + b'; filename="' + header_value(value.filename) + b'"\r\n'
            head += b"Content-Type: " + value.content_type.encode() + b"\r\n\r\n"
            data = value.content
        else:
            head, data = disposition + b"\r\n\r\n", _as_bytes(value)
        parts.append(b"--" + boundary + b"\r\n" + head + data + b"\r\n")
    return b"".join(parts) + b"--" + boundary + b"--\r\n"


EDGE_IDS = (0, 1, 2**31 - 1, 2**31, 2**53 + 1, 2**63, 10**30)


def _path(draw, target: Target, ids: dict[str, list], strings: list[str]) -> str:
    path = target.rule
    for name, converter in target.arguments.items():
        if converter == "int":
            value = str(draw(st.sampled_from([*ids.get(name, []), *EDGE_IDS])))
        else:
            chosen = draw(st.one_of(st.sampled_from([*ids.get(name, []), "x"]), st.text(min_size=1, max_size=40),
                                    st.sampled_from(HOSTILE_TEXT)))
            strings.append(chosen)
            value = quote(chosen.encode("utf-8", "surrogatepass"), safe="")
        path = re.sub(rf"<(?:[^<>]*:)?{name}>", value, path)
    return path


def _pairs(draw, target: Target, good: dict[str, list[str]]) -> list:
    pairs = []
    for item in target.fields:
        key = re.sub(r"-\d+-", "-N-", item.name)
        values = kind_values(item)
        if good.get(key):
            values = st.one_of(st.sampled_from(good[key]), values)
        count = draw(st.sampled_from([1, 1, 1, 1, 1, 0, 2]))  # mostly once; sometimes missing or twice
        pairs += [(item.name, draw(values)) for _ in range(count)]
    pairs += draw(st.lists(st.tuples(st.one_of(st.sampled_from(EXTRA_NAMES), st.text(max_size=12)), text_values()),
                           max_size=3))
    if draw(st.booleans()):
        pairs = draw(st.permutations(pairs))
    return pairs


def _query(draw, target: Target, good: dict[str, list[str]]) -> list:
    query = []
    for name in target.query_names:
        if draw(st.booleans()):
            query.append((name, draw(st.one_of(st.sampled_from(good.get(name) or ["1"]), text_values()))))
    if draw(st.integers(0, 9)) == 0:
        query.append(("lang", draw(st.one_of(st.sampled_from(["en", "de", "fr", "xx"]), text_values()))))
    return query


def _htmx_headers(draw) -> dict[str, str]:
    headers = {}
    if draw(st.integers(0, 3)) == 0:
        headers["HX-Request"] = "true"
        if draw(st.booleans()):
            headers["HX-Boosted"] = "true"
        if draw(st.booleans()):
            current = draw(st.one_of(st.sampled_from(["http://localhost/patient/", "//evil.example/x", ""]),
                                     st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=30)))
            headers["HX-Current-URL"] = current
    return headers


def _body(draw, pairs) -> tuple[bytes, str | None]:
    shape = draw(st.sampled_from(["urlencoded"] * 6 + ["multipart"] * 2 + ["raw", "json", "empty"]))
    if any(isinstance(value, Upload) for _name, value in pairs) and shape == "urlencoded":
        shape = "multipart"
    if shape == "urlencoded":
        return _urlencoded(pairs).encode(), "application/x-www-form-urlencoded"
    if shape == "multipart":
        boundary = secrets.token_hex(12).encode()
        body = _multipart(pairs, boundary, escape=draw(st.integers(0, 4)) > 0)
        return body, f"multipart/form-data; boundary={boundary.decode()}"
    if shape == "raw":
        return _raw_form(pairs), "application/x-www-form-urlencoded"
    if shape == "json":
        # No page of the portal sends JSON; Flask-WTF would still read it as form data.
        document = {name: draw(json_values()) for name, _value in pairs}
        return json.dumps(document).encode(), "application/json"
    return b"", None


@st.composite
def requests_for(draw, target: Target, good: dict[str, list[str]], ids: dict[str, list]):
    """One request to `target`; `good` holds plausible values per field name (real
    matricules, versions, dates) so that some requests get past validation, and `ids` the
    real object ids per path parameter."""
    strings: list[str] = []
    path = _path(draw, target, ids, strings)

    pairs = _pairs(draw, target, good)
    strings += [text for pair in pairs for text in (_text(pair[0]), _text(pair[1])) if text]
    strings += [pair[1].filename for pair in pairs if isinstance(pair[1], Upload) and isinstance(pair[1].filename, str)]

    query = _query(draw, target, good)
    strings += [value for _name, value in query if isinstance(value, str)]

    headers = _htmx_headers(draw)

    body = content_type = None
    if target.method == "GET":
        query += pairs
    else:
        body, content_type = _body(draw, pairs)
    # A server refuses a request line beyond a few kilobytes (gunicorn: 4094 bytes) before
    # the portal sees it; a longer query string tests nothing but the test's patience.
    query = [(name, value[:6000]) for name, value in query]
    query_string = _urlencoded(query).encode()
    if query and draw(st.integers(0, 9)) == 0:
        query_string = _raw_form(query)  # not percent-encoded at all
    return FuzzRequest(target.method, path, query_string, body, content_type, headers, strings)
