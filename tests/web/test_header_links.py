"""The header's links of a role, written once per language and page (templating.role_links):
each person still sees their own role's links, in their language, with the page they are on
marked, whatever another person's page wrote before."""

from __future__ import annotations

from tests.conftest import make_app
from tests.fixtures.clients import page, signed_in_as


def _main_links(response) -> list[tuple[str, str, str | None]]:
    return [(a["href"], a.get_text(" ", strip=True), a.get("aria-current"))
            for a in page(response).select("nav.main-nav a")]


def test_each_role_language_and_page_has_its_own_header_links(app, people):
    patient = signed_in_as(app, people["patient"], lang="fr")
    doctor = signed_in_as(app, people["doctor"], lang="de")
    home, invoices = _main_links(patient.get("/patient/")), _main_links(patient.get("/patient/invoices"))
    assert [href for href, _text, _current in home][:3] == ["/patient/", "/patient/invoices", "/patient/claims"]
    assert home[0][2] == "page" and invoices[0][2] is None and invoices[1][2] == "page"
    assert home[1][1] == "Mes mémoires d'honoraires"
    german = _main_links(doctor.get("/doctor/invoices"))
    assert [href for href, _text, _current in german][:2] == ["/doctor/", "/doctor/invoices"]
    assert german[1] == ("/doctor/invoices", "Honorarnoten", "page")
    assert not any(href.startswith("/patient/") for href, _text, _current in german)
    english = _main_links(patient.get("/patient/invoices?lang=en"))
    assert english[1] == ("/patient/invoices", "My invoices", "page")
    assert english[3][0] == "/patient/notifications"  # per person: drawn outside the kept links


def _footer(response) -> tuple[list[tuple[str, str]], str | None]:
    footer = page(response).select_one("footer.site-footer")
    note = footer.select_one(".demo-note")
    return [(a["href"], a.get_text(strip=True)) for a in footer.select("a")], note and note.get_text(strip=True)


def test_the_footer_is_written_once_per_language_and_portal(app, client):
    french, note = _footer(client.get("/?lang=fr"))
    assert french[0] == ("/terms", "Conditions générales d'utilisation")
    assert ("mailto:contact@portal.example.lu", "Contact") in french
    assert note is not None  # the tests' portal runs in demo mode
    german, _note = _footer(client.get("/?lang=de"))
    assert german[0] == ("/terms", "Nutzungsbedingungen")
    # Another portal in the same process, not in demo mode and with its own address: its own footer.
    other = make_app(DEMO_MODE=False, PUBLIC_CONTACT_EMAIL="help@fund.example.lu").test_client()
    links, note = _footer(other.get("/?lang=fr"))
    assert note is None
    assert ("mailto:help@fund.example.lu", "Contact") in links
    assert _footer(client.get("/?lang=fr"))[1] is not None
