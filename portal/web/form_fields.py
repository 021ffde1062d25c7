"""One form field with its label, help text and errors tied to it (templates/components/forms.html).

Written in Python rather than as a Jinja macro: a filter form has ten fields, and the macro's
dictionaries and loops cost more than the rest of the page's rows together."""

from __future__ import annotations

from markupsafe import Markup
from wtforms.widgets import Select, html_params

from portal.core import i18n

# Fields written already, for forms whose Meta says `kept_fields`: a field writes the same
# HTML for the same language and value, and its label and help are lazy strings, translated
# again through flask-babel whenever they are written (the queue's nine filters cost more than
# its twenty rows). `kept_fields = True`: search forms sent with GET, kept for every value
# typed; `"blank"`: forms that may hold personal data, kept only while a field is empty or
# holds its fixed default (the doctor's new invoice as it first shows). Never a field with errors.
_KEPT: dict[tuple, Markup] = {}
_KEPT_MOST = 4096


def _kept_key(f, arguments: tuple) -> tuple | None:
    kept = getattr(f.meta, "kept_fields", False)
    if not kept or f.errors or (kept == "blank" and not _blank(f)):
        return None
    if isinstance(f.widget, Select) and not isinstance(f.widget, KeptChoicesSelect):
        return None  # choices built for this request (a patient's doctors)
    # A label the view set for this request (a plain string, not the class's lazy one) is part
    # of what the field writes: the claim page asks "the doctor" on a direct-payment claim.
    label = f.label.text if isinstance(f.label.text, str) else None
    return (type(f.meta), f.name, i18n.language(), repr(f.data), tuple(f.raw_data or ()), label, arguments)


def _blank(f) -> bool:
    """Nothing typed, and nothing but the form's own fixed default."""
    return not f.raw_data and (f.data in (None, "") or (not callable(f.default) and f.data == f.default))


def field(f, autocomplete=None, inputmode=None, type=None, autofocus=False, spellcheck=None, **extra) -> Markup:  # noqa: A002
    """The field `f` as `<div class="field">`: its label, its help (`f.description`), the
    input, its errors; the input points to the help and errors with aria-describedby."""
    key = _kept_key(f, (autocomplete, inputmode, type, autofocus, spellcheck, tuple(sorted(extra.items()))))
    if key is not None and (found := _KEPT.get(key)) is not None:
        return found
    written = _written(f, autocomplete, inputmode, type, autofocus, spellcheck, extra)
    if key is not None:
        if len(_KEPT) >= _KEPT_MOST:  # values typed into a search are many: start again
            _KEPT.clear()
        _KEPT[key] = written
    return written


def _written(f, autocomplete, inputmode, type, autofocus, spellcheck, extra: dict) -> Markup:  # noqa: A002
    describedby = []
    if f.description:
        describedby.append(f"{f.id}-help")
    if f.errors:
        describedby.append(f"{f.id}-error")
    html = [Markup('<div class="field field-error">') if f.errors else Markup('<div class="field">')]
    if f.type == "BooleanField":
        attrs = {}
        if describedby:
            attrs["aria_describedby"] = " ".join(describedby)
        if f.errors:
            attrs["aria_invalid"] = "true"
        html += [Markup('<div class="checkbox">'), f(**attrs), f.label(), Markup("</div>")]
    else:
        html.append(f.label())
        if f.description:
            html.append(Markup('<p class="help" id="{}-help">{}</p>').format(f.id, f.description))
        # WTForms writes None as the text "None" (type="None" shows a password in clear): only set attributes.
        attrs = {name: value for name, value in (
            ("autocomplete", autocomplete), ("inputmode", inputmode), ("type", type), ("autofocus", autofocus or None),
            ("spellcheck", spellcheck), ("aria_describedby", " ".join(describedby) or None),
            ("aria_invalid", "true" if f.errors else None),
        ) if value is not None}
        attrs.update(extra)
        html.append(f(**attrs))
    if f.errors:
        html.append(Markup('<p class="error" id="{}-error">{}</p>').format(
            f.id, Markup("").join(Markup("{} ").format(error) for error in f.errors)))
    html.append(Markup("</div>"))
    return Markup("\n").join(html)



class KeptChoicesSelect(Select):
    """WTForms' <select> (the same HTML) for choices that differ only by language from one
    request to the next (a filter's states, funds, orders): each option is written once per
    language, then only which one is chosen changes. Not for choices built per request."""

    _kept: dict[tuple, tuple[tuple[str, str], ...]] = {}

    def __call__(self, field, **kwargs):
        choices = [] if field.has_groups() else list(field._iter_choices_normalized())
        if not choices or any(choice.render_kw for choice in choices):
            return super().__call__(field, **kwargs)
        key = (field.name, i18n.language(), tuple(choice.value for choice in choices))
        options = self._kept.get(key)
        if options is None:
            if len(self._kept) > 256:  # a guard: the choices were said to be fixed
                self._kept.clear()
            options = self._kept[key] = tuple(
                (self.render_option(choice._replace(selected=False)), self.render_option(choice._replace(selected=True)))
                for choice in choices
            )
        return written_select(self, field, kwargs, (
            chosen if choice.selected else plain for choice, (plain, chosen) in zip(choices, options, strict=True)))


def written_select(widget: Select, field, kwargs: dict, options) -> Markup:
    """A <select> as WTForms' Select opens it, around options written (and escaped) beforehand."""
    kwargs.setdefault("id", field.id)
    flags = getattr(field, "flags", {})
    for name in widget.validation_attrs:
        if name not in kwargs and getattr(flags, name, False):
            kwargs[name] = getattr(flags, name)
    return Markup(f"<select {html_params(name=field.name, **kwargs)}>{''.join(options)}</select>")  # noqa: S704  # nosec B704
