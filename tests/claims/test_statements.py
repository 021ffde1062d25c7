"""The reimbursement statement of an accepted claim, on its page and as a PDF."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from portal.claims import review
from portal.extensions import db
from portal.models import AuditEvent
from tests.fixtures.clients import page, text_of


@pytest.fixture
def accepted(people, make_claim):
    return make_claim(people["patient"], people["doctor"], people["cns"], state="accepted",
                      acts=(("C1", 1), ("K1", 2)))


def _pdf_text(response) -> str:
    reader = PdfReader(io.BytesIO(response.data))
    return " ".join(p.extract_text() for p in reader.pages)


def test_the_statement_page_shows_each_act_and_the_totals(patient_client, accepted, people):
    statement = accepted.statement
    response = patient_client.get(f"/patient/claims/{accepted.id}/statement?lang=en")
    assert response.status_code == 200
    shown = text_of(response)
    for expected in (statement.number, accepted.reference, people["doctor"].login, "C1", "K1",
                     f"ending in {accepted.iban[-4:]}", "Fund tariff", "Personal share"):
        assert expected in shown, expected
    assert accepted.iban not in shown
    rows = page(response).select("table.amounts tbody tr")
    assert [row.th.find(class_="muted").get_text(strip=True) for row in rows] == ["C1", "K1"]
    # The acts in words, from the nomenclature, in the page's language; the doctor by name.
    assert rows[0].th.get_text(" ", strip=True) == "GP consultation at the surgery C1"
    assert people["doctor"].profile.name in shown
    assert "Adjustment" not in shown
    total_row = page(response).select("table.amounts tfoot tr")[-1]
    assert "Total reimbursed" in total_row.get_text()
    viewed = db.session.scalar(db.select(AuditEvent).where(AuditEvent.event == "statement.viewed"))
    assert viewed.patient_id == accepted.patient_id and viewed.data == {"statement_id": statement.id}


def test_the_pdf_holds_the_statement(patient_client, accepted):
    statement = accepted.statement
    response = patient_client.get(f"/patient/claims/{accepted.id}/statement.pdf?lang=fr")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    text = _pdf_text(response)
    total = f"{statement.reimbursed_cents // 100},{statement.reimbursed_cents % 100:02d}"
    for expected in (statement.number, accepted.reference, "C1", "K1", total):
        assert expected in text, expected
    events = db.session.scalars(db.select(AuditEvent).where(AuditEvent.event == "statement.viewed")).all()
    assert [event.data.get("document") for event in events] == ["pdf"]


def test_the_pdf_follows_the_language(patient_client, accepted):
    assert "Total reimbursed" in _pdf_text(patient_client.get(f"/patient/claims/{accepted.id}/statement.pdf?lang=en"))


def test_an_adjusted_claim_shows_the_adjustment_and_its_reason(patient_client, people, make_claim):
    claim = make_claim(people["patient"], people["doctor"], people["cns"], state="in_review")
    review.accept(claim, people["cns"].profile, version=claim.version, amount_cents=1000,
                  reason="other", note="Only one act is covered")
    db.session.commit()
    shown = text_of(patient_client.get(f"/patient/claims/{claim.id}/statement?lang=en"))
    assert "Adjustment by the health fund: Another reason, explained in the note" in shown
    assert "Note from the agent: Only one act is covered" in shown
    assert "10.00 €" in shown and f"-{(claim.computed_cents - 1000) / 100:.2f} €" in shown
    text = _pdf_text(patient_client.get(f"/patient/claims/{claim.id}/statement.pdf?lang=en"))
    assert "Only one act is covered" in text and "10.00" in text


@pytest.mark.parametrize("language", ["fr", "de", "en"])
def test_the_patient_reads_the_reason_for_another_amount_in_their_language(patient_client, people, make_claim,
                                                                          app, language):
    from flask_babel import force_locale, gettext

    claim = make_claim(people["patient"], people["doctor"], people["cns"], state="in_review")
    review.accept(claim, people["cns"].profile, version=claim.version, amount_cents=1000, reason="ceiling")
    db.session.commit()
    with app.test_request_context(), force_locale(language):
        words = str(review.ADJUSTMENT_REASONS["ceiling"])
        note_label = gettext("Note from the agent: %(note)s", note="")
    if language != "en":
        assert words != "A reimbursement ceiling applies"
    on_claim = text_of(patient_client.get(f"/patient/claims/{claim.id}?lang={language}"))
    on_statement = text_of(patient_client.get(f"/patient/claims/{claim.id}/statement?lang={language}"))
    assert words in on_claim and words in on_statement
    assert note_label.strip() not in on_claim  # no note was written


def test_no_statement_before_acceptance(patient_client, people, make_claim):
    claim = make_claim(people["patient"], people["doctor"])
    assert patient_client.get(f"/patient/claims/{claim.id}/statement").status_code == 404
    assert patient_client.get(f"/patient/claims/{claim.id}/statement.pdf").status_code == 404


def test_another_patients_statement_is_not_found(patient_client, people, make_patient, make_claim):
    other = make_claim(make_patient(), people["doctor"], people["cns"], state="accepted")
    assert patient_client.get(f"/patient/claims/{other.id}/statement").status_code == 404
    assert patient_client.get(f"/patient/claims/{other.id}/statement.pdf").status_code == 404
    assert db.session.scalar(db.select(AuditEvent).where(AuditEvent.event == "statement.viewed")) is None


@pytest.mark.parametrize(("language", "act", "heading"), [
    ("fr", "Consultation du médecin généraliste au cabinet", "Médecin"),
    ("de", "Konsultation der Allgemeinmedizinerin oder des Allgemeinmediziners in der Praxis", "Ärztin/Arzt"),
    ("en", "GP consultation at the surgery", "Doctor"),
])
def test_the_statement_names_acts_and_doctor_in_the_page_language(patient_client, accepted, people, language, act,
                                                                  heading):
    shown = page(patient_client.get(f"/patient/claims/{accepted.id}/statement?lang={language}"))
    first = shown.select("table.amounts tbody tr")[0].th
    assert first.get_text(" ", strip=True) == f"{act} C1"
    facts = {dt.get_text(strip=True): dt.find_next_sibling("dd").get_text(" ", strip=True) for dt in shown.select("dl.facts dt")}
    assert facts[heading].startswith(people["doctor"].profile.name)
    # The PDF says the same: the act in words and the doctor's name, in that language.
    text = " ".join(_pdf_text(patient_client.get(f"/patient/claims/{accepted.id}/statement.pdf?lang={language}")).split())
    assert act.split()[0] in text and people["doctor"].profile.name in text
