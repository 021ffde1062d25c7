"""The patient follows claims: the list, one claim with its timeline, withdrawing, answering."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pytest

from portal.claims import review, sharing
from portal.core import clock
from portal.extensions import db
from portal.models import AuditEvent, ClaimEvent, ClaimState, Fund
from portal.web import states
from portal.web.patient.claims import REJECTION_SENTENCES
from tests.fixtures.clients import page, sign_in, text_of
from tests.fixtures.images import png as _png
from tests.fixtures.queries import count_queries


def test_every_state_and_reason_has_words():
    assert set(states.STATES["claim"]) == set(ClaimState.ALL)
    assert set(REJECTION_SENTENCES) == set(review.REJECTION_REASONS)


def test_the_list_shows_each_claim_in_words(patient_client, people, make_claim):
    patient, doctor, staff = people["patient"], people["doctor"], people["cns"]
    accepted = make_claim(patient, doctor, staff, state="accepted")
    waiting = make_claim(patient, doctor)
    response = patient_client.get("/patient/claims?lang=en")
    shown = text_of(response)
    for expected in (accepted.reference, waiting.reference, doctor.profile.name, "Accepted", "Waiting for review",
                     "57.70 €", "50.78 €", "not decided yet"):
        assert expected in shown, expected
    rows = page(response).select("#claim-rows tbody tr")
    assert [row.th.get_text(strip=True) for row in rows] == [waiting.reference, accepted.reference]  # newest first
    assert rows[0].th.a["href"] == f"/patient/claims/{waiting.id}"


def test_the_list_is_paginated_and_htmx_gets_the_rows_alone(patient_client, people, make_claim):
    for _ in range(21):
        make_claim(people["patient"], people["doctor"])
    first = page(patient_client.get("/patient/claims?lang=en"))
    assert len(first.select("#claim-rows tbody tr")) == 20
    assert first.find("a", string="Next page")
    second = patient_client.get("/patient/claims?page=2&lang=en", headers={"HX-Request": "true"})
    assert len(page(second).select("tbody tr")) == 1 and b"<h1" not in second.data


def test_the_claim_shows_timeline_with_durations_and_the_consent(app, people, make_invoice):
    patient, doctor, staff = people["patient"], people["doctor"], people["cns"]
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
    clock.freeze(start)
    invoice = make_invoice(patient, doctor)
    clock.freeze(start + timedelta(days=2))
    (claim,) = sharing.share(patient.profile, [invoice], by=patient.account)
    clock.freeze(start + timedelta(days=2, hours=3))
    review.take_up(claim, staff.profile)
    review.accept(claim, staff.profile, version=claim.version)
    db.session.commit()
    payment = claim.statement.payment_date

    client = app.test_client()
    sign_in(client, patient)
    response = client.get(f"/patient/claims/{claim.id}?lang=en")
    assert response.status_code == 200
    steps = page(response).select("ol.timeline > li")
    assert len(steps) == 6
    words = [" ".join(step.get_text(" ").split()) for step in steps]
    assert words[0].startswith("Invoice issued by the doctor")
    assert "Sent to the health fund" in words[1] and "2 days after the previous step" in words[1]
    assert "Review started by an agent" in words[3] and "3 hours after the previous step" in words[3]
    assert words[4].startswith("Accepted")
    assert "scheduled for" in words[5] and str(payment.year) in words[5]
    assert all(step.find("time") for step in steps[:5])

    shown = text_of(response)
    for expected in (invoice.number, "Chosen by hand", f"{patient.profile.full_name}, the insured person",
                     f"ending in {patient.profile.iban[-4:]}", "Read the reimbursement statement",
                     "Your claim goes to the CNS"):
        assert expected in shown, expected
    assert patient.profile.iban not in shown
    assert page(response).find("a", href=f"/patient/invoices/{invoice.id}")
    viewed = db.session.scalar(db.select(AuditEvent).where(AuditEvent.event == "claim.viewed"))
    assert viewed.patient_id == patient.profile.id and viewed.data["claim_id"] == claim.id

    clock.freeze(datetime.combine(payment, datetime.min.time(), tzinfo=UTC) + timedelta(days=1))
    sign_in(client, patient)
    later = page(client.get(f"/patient/claims/{claim.id}?lang=en")).select("ol.timeline > li")
    assert "transferred on" in later[5].get_text()


def test_pending_steps_are_marked_and_other_funds_are_explained(patient_client, people, make_patient, make_claim, app):
    claim = make_claim(people["patient"], people["doctor"])
    steps = page(patient_client.get(f"/patient/claims/{claim.id}?lang=en")).select("ol.timeline > li")
    assert [("pending" in step.get_text()) for step in steps] == [False, False, False, True, True, True]

    civil_servant = make_patient(fund=Fund.CMFEP)
    theirs = make_claim(civil_servant, people["doctor"])
    client = app.test_client()
    sign_in(client, civil_servant)
    shown = text_of(client.get(f"/patient/claims/{theirs.id}?lang=en"))
    assert "the CNS (National Health Fund) receives your claim and passes it on to the CMFEP" in shown


def test_a_rejected_claim_gives_the_reason_in_words(patient_client, people, make_claim):
    claim = make_claim(people["patient"], people["doctor"], people["cns"], state="in_review")
    review.reject(claim, people["cns"].profile, version=claim.version, reason="other", note="Act billed twice.")
    db.session.commit()
    shown = text_of(patient_client.get(f"/patient/claims/{claim.id}?lang=en"))
    assert "Rejected" in shown and "Another reason, explained in the note below." in shown
    assert "Act billed twice." in shown
    assert "pending" not in page(patient_client.get(f"/patient/claims/{claim.id}?lang=en")).select("ol.timeline")[0].get_text()


def test_another_patients_claim_is_not_found(patient_client, people, make_patient, make_claim):
    other = make_claim(make_patient(), people["doctor"], people["cns"], state="accepted")
    assert patient_client.get(f"/patient/claims/{other.id}").status_code == 404
    assert patient_client.post(f"/patient/claims/{other.id}/withdraw").status_code == 404
    assert patient_client.post(f"/patient/claims/{other.id}/answer", data={"message": "x"}).status_code == 404
    assert other.reference not in text_of(patient_client.get("/patient/claims"))


def test_a_parent_sees_the_childs_claim_and_the_consent_they_gave(app, people, make_child, make_invoice):
    parent = people["patient"]
    child = make_child(parent, given_name="Léa", birth=date(2016, 4, 1), with_account=False)
    (claim,) = sharing.share(child.profile, [make_invoice(child, people["doctor"])], by=parent.account)
    db.session.commit()
    client = app.test_client()
    sign_in(client, parent)
    assert client.get(f"/patient/claims/{claim.id}").status_code == 404  # not in the parent's own space
    client.post("/patient/space", data={"space": str(child.profile.id)})
    shown = text_of(client.get(f"/patient/claims/{claim.id}?lang=en"))
    assert f"{parent.profile.full_name}, as parent" in shown


def test_withdraw_while_shared(patient_client, people, make_claim):
    claim = make_claim(people["patient"], people["doctor"])
    form = page(patient_client.get(f"/patient/claims/{claim.id}?lang=en")).find(
        "form", action=f"/patient/claims/{claim.id}/withdraw")
    assert form is not None and "can send the invoice again later" in form.get_text()
    response = patient_client.post(f"/patient/claims/{claim.id}/withdraw?lang=en")
    assert response.status_code == 303 and response.headers["Location"] == f"/patient/claims/{claim.id}"
    db.session.refresh(claim)
    assert claim.state == ClaimState.WITHDRAWN
    shown = text_of(patient_client.get(response.headers["Location"] + "?lang=en"))
    assert "Your claim was withdrawn" in shown and "Withdrawn by you" in shown


def test_withdraw_after_take_up_is_refused_with_a_message(patient_client, people, make_claim):
    claim = make_claim(people["patient"], people["doctor"])
    page_before = patient_client.get(f"/patient/claims/{claim.id}")  # the patient sees the button...
    assert b"/withdraw" in page_before.data
    review.take_up(claim, people["cns"].profile)  # ...and meanwhile an agent takes the claim up
    db.session.commit()
    response = patient_client.post(f"/patient/claims/{claim.id}/withdraw?lang=en", follow_redirects=True)
    assert response.status_code == 200
    assert "An agent has already started reviewing this claim" in text_of(response)
    db.session.refresh(claim)
    assert claim.state == ClaimState.IN_REVIEW
    assert b"/withdraw" not in response.data


def test_an_answer_with_a_png_returns_the_claim_to_review(patient_client, people, make_claim):
    claim = make_claim(people["patient"], people["doctor"], people["cns"], state="info_requested")
    shown = page(patient_client.get(f"/patient/claims/{claim.id}?lang=en"))
    assert "Please send the prescription." in shown.get_text()
    form = shown.find("form", action=f"/patient/claims/{claim.id}/answer")
    assert form["enctype"] == "multipart/form-data"
    assert form.find("textarea")["id"] in [label.get("for") for label in form.find_all("label")]

    response = patient_client.post(
        f"/patient/claims/{claim.id}/answer?lang=en",
        data={"message": "Here is the prescription.", "document": (io.BytesIO(_png()), "prescription.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    db.session.refresh(claim)
    assert claim.state == ClaimState.IN_REVIEW
    answer = claim.events[-1]
    assert (answer.kind, answer.message, answer.document_type) == ("info_answered", "Here is the prescription.",
                                                                   "image/png")
    assert "your answer was sent" in text_of(patient_client.get(response.headers["Location"] + "?lang=en"))


def test_a_refused_upload_is_a_field_error_and_saves_nothing(patient_client, people, make_claim):
    claim = make_claim(people["patient"], people["doctor"], people["cns"], state="info_requested")
    events_before = db.session.scalar(db.select(db.func.count()).select_from(ClaimEvent))
    response = patient_client.post(
        f"/patient/claims/{claim.id}/answer?lang=en",
        data={"message": "See attached.", "document": (io.BytesIO(b"MZ\x90\x00 not an image"), "virus.exe")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    error = page(response).find(id="document-error")
    assert error is not None and "JPEG or PNG photo or a PDF" in error.get_text()
    db.session.refresh(claim)
    assert claim.state == ClaimState.INFO_REQUESTED
    assert db.session.scalar(db.select(db.func.count()).select_from(ClaimEvent)) == events_before


def test_an_empty_answer_is_refused_and_htmx_gets_the_form_alone(patient_client, people, make_claim):
    claim = make_claim(people["patient"], people["doctor"], people["cns"], state="info_requested")
    response = patient_client.post(f"/patient/claims/{claim.id}/answer?lang=en", data={"message": "  "},
                                   headers={"HX-Request": "true"})
    assert response.status_code == 400 and b"<h1" not in response.data
    assert page(response).find(id="message-error")
    too_long = patient_client.post(f"/patient/claims/{claim.id}/answer?lang=en", data={"message": "x" * 2001})
    assert page(too_long).find(id="message-error")
    db.session.refresh(claim)
    assert claim.state == ClaimState.INFO_REQUESTED


def test_answering_a_claim_that_is_not_waiting_changes_nothing(patient_client, people, make_claim):
    claim = make_claim(people["patient"], people["doctor"], people["cns"], state="in_review")
    response = patient_client.post(f"/patient/claims/{claim.id}/answer?lang=en", data={"message": "Hello"},
                                   follow_redirects=True)
    assert "already answered or withdrawn" in text_of(response)
    assert [e.kind for e in claim.events] == ["shared", "taken_up"]


@pytest.mark.parametrize("state", ["accepted", "info_requested"])
def test_the_pages_stay_within_eight_queries(patient_client, people, make_claim, state):
    for _ in range(3):
        claim = make_claim(people["patient"], people["doctor"], people["cns"], state=state)
    for url in ("/patient/claims", f"/patient/claims/{claim.id}"):
        patient_client.get(url)  # the first request of a session writes its activity
        with count_queries() as queries:
            assert patient_client.get(url).status_code == 200
        assert len(queries) <= 8, (url, len(queries))


def test_withdrawing_twice_says_it_is_already_done(patient_client, people, make_claim):
    claim = make_claim(people["patient"], people["doctor"])
    patient_client.post(f"/patient/claims/{claim.id}/withdraw")
    again = patient_client.post(f"/patient/claims/{claim.id}/withdraw?lang=en", follow_redirects=True)
    assert "This claim was already withdrawn." in text_of(again)
