"""The header's links of a role, written once per language and page (templating.role_links):
each person still sees their own role's links, in their language, with the page they are on
marked, whatever another person's page wrote before."""

from __future__ import annotations

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
