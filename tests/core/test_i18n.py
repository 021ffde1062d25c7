"""Language choice, and catalogues that are complete and compiled."""

import io
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

from tests.fixtures.clients import page

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "translations"


def _catalog(lang):
    with (TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=lang)


def _source_messages() -> set[tuple[str, str | None]]:
    """(message, context) pairs: one word may need two translations ("Open", a verb and a state)."""
    method_map = [("portal/**.py", "python"), ("templates/**.html", "jinja2")]
    options = {"templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "false"}}
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT),
        method_map=method_map,
        options_map=options,
        keywords={"_": None, "_l": None, "gettext": None, "lazy_gettext": None, "ngettext": (1, 2),
                  "pgettext": ((1, "c"), 2), "lazy_pgettext": ((1, "c"), 2)},
    ):
        found.add((message[0] if isinstance(message, tuple) else message, _context))
    return found


@pytest.mark.parametrize("lang", ["fr", "de"])
def test_every_source_string_is_translated(lang):
    catalog = _catalog(lang)
    missing = sorted(
        m for m, context in _source_messages()
        if not catalog.get(m, context=context) or not catalog.get(m, context=context).string
    )
    fuzzy = sorted(m.id for m in catalog if m.id and m.fuzzy)
    assert not missing, f"{lang}: {len(missing)} untranslated, e.g. {missing[:5]}"
    assert not fuzzy, f"{lang}: fuzzy entries {fuzzy[:5]}"


def _messages(catalog) -> dict:
    """(id, context) → translation, as gettext will see them: the header and its metadata left out."""
    def plain(value):  # a plural's forms come back as a list from .mo, a tuple from .po
        return tuple(value) if isinstance(value, (list, tuple)) else value

    return {(plain(m.id), m.context): plain(m.string) for m in catalog if m.id}


@pytest.mark.parametrize("lang", ["fr", "de", "en"])
def test_compiled_catalogues_match_their_sources(lang):
    """Messages, not bytes: another Babel version or moved line references must not fail this."""
    source = _catalog(lang)
    compiled = io.BytesIO()
    write_mo(compiled, source)  # what `pybabel compile` makes of the .po: untranslated and fuzzy left out
    compiled.seek(0)
    with (TRANSLATIONS / lang / "LC_MESSAGES" / "messages.mo").open("rb") as handle:
        shipped = read_mo(handle)
    expected = read_mo(compiled)
    assert _messages(shipped) == _messages(expected), f"run: make translations ({lang}.mo is stale)"
    assert shipped.plural_forms == expected.plural_forms


def test_french_is_the_default(client):
    assert page(client.get("/")).html["lang"] == "fr"


def test_browser_preference_is_used(client):
    response = client.get("/", headers={"Accept-Language": "de-LU,de;q=0.9,en;q=0.5"})
    assert page(response).html["lang"] == "de"


def test_explicit_choice_beats_the_browser_and_is_remembered(client):
    client.get("/?lang=en", headers={"Accept-Language": "de"})
    response = client.get("/privacy", headers={"Accept-Language": "de"})
    assert page(response).html["lang"] == "en"


def test_unknown_language_is_ignored(client):
    assert page(client.get("/?lang=xx")).html["lang"] == "fr"


def test_choice_is_stored_on_the_account(signed_in, app_ctx):
    client, person = signed_in("patient")
    client.get("/patient/?lang=de")
    from portal.extensions import db

    db.session.refresh(person.account)
    assert person.account.preferred_language == "de"


def test_language_switcher_keeps_the_page_and_its_query(client):
    document = page(client.get("/privacy?lang=de"))
    links = {a["hreflang"]: a["href"] for a in document.select("nav.languages a")}
    assert links["en"] == "/privacy?lang=en"
    assert document.select_one('nav.languages a[aria-current="true"]')["hreflang"] == "de"
