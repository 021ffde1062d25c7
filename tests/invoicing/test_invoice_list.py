"""The patient's list of invoices at a glance: filters that hold exactly the invoices of the
state they name, a count of what they match, and on each row why an invoice cannot be sent."""

from __future__ import annotations

from datetime import timedelta

import pytest

from portal.claims import sharing
from portal.core import clock
from portal.extensions import db
from portal.invoicing import invoices
from tests.fixtures.clients import page


@pytest.fixture
def kinds(people, make_invoice):
    """One invoice of each kind, each a day older than the one before."""
    patient, doctor = people["patient"], people["doctor"]
    made = {
        "open": make_invoice(patient, doctor, days_ago=1),
        "shared": make_invoice(patient, doctor, days_ago=2),
        "voided": make_invoice(patient, doctor, days_ago=3),
        "paper": make_invoice(patient, doctor, days_ago=4, paid_on_site=False),
        "old": make_invoice(patient, doctor, days_ago=5),
    }
    sharing.share(patient.profile, [made["shared"]], by=patient.account)
    invoices.void(made["voided"], "wrong act")
    made["old"].expires_at = clock.now() - timedelta(days=1)  # past the two years the portal keeps
    db.session.commit()
    return made


def _rows(response) -> dict[int, str]:
    """Invoice id -> the row's words."""
    return {
        int(item.a["href"].rsplit("/", 1)[1]): " ".join(item.get_text(" ").split())
        for item in page(response).select("ul.invoice-list > li")
    }


def _count(response) -> str:
    return page(response).select_one("#invoice-rows .result-count").get_text(strip=True)


@pytest.mark.parametrize(("state", "expected"), [
    ("issued", {"open", "paper"}),
    ("shared", {"shared"}),
    ("voided", {"voided"}),
    ("expired", {"old"}),
    ("", {"open", "shared", "voided", "paper", "old"}),
])
def test_each_filter_holds_exactly_the_invoices_of_its_state(patient_client, kinds, state, expected):
    response = patient_client.get(f"/patient/invoices?state={state}&lang=en")
    assert set(_rows(response)) == {kinds[name].id for name in expected}
    words = "1 invoice" if len(expected) == 1 else f"{len(expected)} invoices"
    assert _count(response) == words


def test_issued_no_longer_includes_invoices_already_sent(patient_client, kinds):
    shown = _rows(patient_client.get("/patient/invoices?state=issued&lang=en"))
    assert kinds["shared"].id not in shown
    assert all("Issued" in words for words in shown.values())


def test_each_row_that_cannot_be_sent_says_why(patient_client, kinds):
    rows = _rows(patient_client.get("/patient/invoices?lang=en"))
    assert "Cannot be sent" not in rows[kinds["open"].id]
    assert "Cannot be sent again: your health fund already has it." in rows[kinds["shared"].id]
    assert "Cannot be sent: the doctor voided it." in rows[kinds["voided"].id]
    assert "Cannot be sent: it is more than two years old." in rows[kinds["old"].id]
    assert "post this paper invoice to your health fund" in rows[kinds["paper"].id]


def test_every_row_has_the_same_two_columns(patient_client, kinds):
    """A checkbox where the invoice can be sent, an empty cell where not: rows of one width."""
    for item in page(patient_client.get("/patient/invoices?lang=en")).select("ul.invoice-list > li"):
        first = item.find(recursive=False)
        expected = "checkbox" if item.a["href"].endswith(f"/{kinds['open'].id}") else "pick-none"
        assert first["class"] == [expected]
        assert len(item.find_all(recursive=False)) == 2


def test_the_count_counts_every_page_and_comes_with_the_htmx_fragment(patient_client, people, make_invoice):
    for day in range(invoices.PAGE_SIZE + 2):
        make_invoice(people["patient"], people["doctor"], days_ago=day + 1)
    first = patient_client.get("/patient/invoices?lang=en")
    assert len(_rows(first)) == invoices.PAGE_SIZE and _count(first) == f"{invoices.PAGE_SIZE + 2} invoices"
    fragment = patient_client.get("/patient/invoices?state=voided&lang=en", headers={"HX-Request": "true"})
    assert "<h1" not in fragment.get_data(as_text=True)
    assert _count(fragment) == "0 invoices"


@pytest.mark.parametrize(("language", "words"), [
    ("fr", {"Date de la prestation, à partir du", "Date de la prestation, jusqu'au", "Émis", "Envoyé à la caisse"}),
    ("de", {"Datum der Leistung ab", "Datum der Leistung bis", "Ausgestellt", "An die Kasse gesendet"}),
    ("en", {"Date of service from", "Date of service until", "Issued", "Sent to the fund"}),
])
def test_filter_words_read_in_context(patient_client, language, words):
    form = page(patient_client.get(f"/patient/invoices?lang={language}")).select_one("form.filters")
    labels = {label.get_text(strip=True) for label in form.select("label")}
    options = {option.get_text(strip=True) for option in form.select("select[name=state] option")}
    assert words <= labels | options
    assert not labels & {"Du", "Au", "Von", "Bis"}


def test_the_doctor_list_shows_sent_invoices_and_counts(doctor_client, kinds):
    response = doctor_client.get("/doctor/invoices?state=shared&lang=en")
    rows = page(response).select("#invoice-rows tbody tr")
    assert [row.a.get_text(strip=True) for row in rows] == [kinds["shared"].number]
    assert "Sent to the fund" in rows[0].get_text()
    assert page(response).select_one("#invoice-rows .result-count").get_text(strip=True) == "1 invoice"
