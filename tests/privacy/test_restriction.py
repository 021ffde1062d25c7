"""Restriction and objection: a frozen claim leaves the staff's queues until its patient
lifts the freeze; an objecting patient is left out of the fund's statistics."""

from __future__ import annotations

from portal import audit
from portal.claims import review, statistics
from portal.core import clock
from portal.extensions import db
from portal.models import AuditEvent, ClaimState, DataRequest
from tests.fixtures.clients import page, signed_in_as, text_of


def _queue_references(english_staff_client) -> list[str]:
    html = page(english_staff_client.get("/cns/claims"))
    return [cell.get_text(strip=True) for cell in html.select("table.queue tbody th[scope=row]")]


def _events(name: str) -> list[AuditEvent]:
    return list(db.session.scalars(db.select(AuditEvent).where(AuditEvent.event == name)))


def test_freezing_hides_the_claim_from_queue_and_counts_and_blocks_staff(english_patient_client,
                                                                           english_staff_client, people, make_claim):
    patient, doctor, staff = people["patient"], people["doctor"], people["cns"]
    claim = make_claim(patient, doctor)
    other = make_claim(patient, doctor)
    assert claim.reference in _queue_references(english_staff_client)
    assert review.counts(staff.profile)[ClaimState.SHARED] == 2

    form = page(english_patient_client.get(f"/patient/claims/{claim.id}")).select_one(
        f"form[action='/patient/claims/{claim.id}/freeze']")
    assert form is not None and form.select_one("input[name=csrf_token]")
    response = english_patient_client.post(f"/patient/claims/{claim.id}/freeze")
    assert response.status_code == 303 and response.headers["Location"] == f"/patient/claims/{claim.id}"
    db.session.refresh(claim)
    assert claim.frozen_at is not None

    assert _queue_references(english_staff_client) == [other.reference]
    assert review.counts(staff.profile)[ClaimState.SHARED] == 1
    assert "1 claim waits for review" in text_of(english_staff_client.get("/cns/"))
    staff_page = page(english_staff_client.get(f"/cns/claims/{claim.id}"))
    assert "Restricted" in staff_page.get_text() and not staff_page.select("main form")
    refused = english_staff_client.post(f"/cns/claims/{claim.id}/take-up")
    assert refused.status_code == 303
    assert "frozen this claim" in text_of(english_staff_client.get(refused.headers["Location"]))
    db.session.refresh(claim)
    assert claim.state == ClaimState.SHARED

    (frozen,) = _events(audit.CLAIM_FROZEN.name)
    assert frozen.data == {"claim_id": claim.id} and frozen.patient_id == patient.profile.id
    register = db.session.scalars(db.select(DataRequest).where(DataRequest.kind == "restriction")).all()
    assert [(r.state, r.message) for r in register] == [("done", f"frozen {claim.reference}")]


def test_the_patient_is_told_what_lifting_does_and_lifting_restores_the_claim(english_patient_client,
                                                                               english_staff_client, people,
                                                                               make_claim):
    claim = make_claim(people["patient"], people["doctor"], people["cns"], state="in_review")
    english_patient_client.post(f"/patient/claims/{claim.id}/freeze")
    shown = page(english_patient_client.get(f"/patient/claims/{claim.id}"))
    section = shown.select_one("section[aria-labelledby=restriction-heading]")
    assert "returns to the health fund's queue" in section.get_text()
    assert section.select_one(f"form[action='/patient/claims/{claim.id}/unfreeze']")
    assert not shown.select(f"form[action='/patient/claims/{claim.id}/freeze']")
    assert review.counts(people["cns"].profile)[ClaimState.IN_REVIEW] == 0

    assert english_patient_client.post(f"/patient/claims/{claim.id}/unfreeze").status_code == 303
    db.session.refresh(claim)
    assert claim.frozen_at is None and claim.state == ClaimState.IN_REVIEW
    assert review.counts(people["cns"].profile)[ClaimState.IN_REVIEW] == 1
    assert "Accept" in text_of(english_staff_client.get(f"/cns/claims/{claim.id}"))
    assert [e.data for e in _events(audit.CLAIM_UNFROZEN.name)] == [{"claim_id": claim.id}]
    messages = sorted(r.message for r in db.session.scalars(db.select(DataRequest)))
    assert messages == [f"frozen {claim.reference}", f"lifted {claim.reference}"]
    # The register entries show on the patient's page, in words.
    requests = page(english_patient_client.get("/patient/my-data")).select_one(
        "section[aria-labelledby='group-data_requests']").get_text(" ")
    assert f"Claim {claim.reference} frozen" in requests and f"Freeze of claim {claim.reference} lifted" in requests


def test_a_decided_claim_cannot_be_frozen(english_patient_client, people, make_claim):
    claim = make_claim(people["patient"], people["doctor"], people["cns"], state="accepted")
    assert not page(english_patient_client.get(f"/patient/claims/{claim.id}")).select("form[action$='/freeze']")
    response = english_patient_client.post(f"/patient/claims/{claim.id}/freeze", follow_redirects=True)
    assert "already been decided or withdrawn" in text_of(response)
    db.session.refresh(claim)
    assert claim.frozen_at is None and _events(audit.CLAIM_FROZEN.name) == []


def test_another_patients_claim_is_not_found(app, people, make_patient, make_claim):
    stranger = make_patient(given_name="Paul", surname="Hoffmann")
    claim = make_claim(people["patient"], people["doctor"])
    client = signed_in_as(app, stranger, lang="en")
    assert client.post(f"/patient/claims/{claim.id}/freeze").status_code == 404
    assert client.post(f"/patient/claims/{claim.id}/unfreeze").status_code == 404
    assert client.post("/patient/claims/999999/freeze").status_code == 404
    db.session.refresh(claim)
    assert claim.frozen_at is None


def test_freezing_twice_or_lifting_an_unfrozen_claim_changes_nothing(english_patient_client, people, make_claim):
    claim = make_claim(people["patient"], people["doctor"])
    lifted_twice = english_patient_client.post(f"/patient/claims/{claim.id}/unfreeze", follow_redirects=True)
    assert "not frozen" in text_of(lifted_twice)
    english_patient_client.post(f"/patient/claims/{claim.id}/freeze")
    again = english_patient_client.post(f"/patient/claims/{claim.id}/freeze", follow_redirects=True)
    assert "already frozen" in text_of(again)
    assert len(_events(audit.CLAIM_FROZEN.name)) == 1


def test_objection_removes_the_patient_from_the_statistics(english_patient_client, people, make_patient, make_claim):
    other = make_patient(given_name="Luc", surname="Weber")
    staff = people["cns"]
    make_claim(people["patient"], people["doctor"], staff, state="accepted")
    make_claim(other, people["doctor"], staff, state="accepted")
    period = statistics.Period.last_days(today=clock.today())
    before = statistics.report(staff.profile, period)
    assert (before.total, before.decided) == (2, 2)

    response = english_patient_client.post("/patient/my-data/objection", data={"objects": "y"})
    assert response.status_code == 303
    db.session.refresh(people["patient"].profile)
    assert people["patient"].profile.objects_to_statistics is True
    after = statistics.report(staff.profile, period)
    assert (after.total, after.decided) == (1, 1)
    assert page(english_patient_client.get("/patient/my-data")).select_one("#objects").has_attr("checked")

    english_patient_client.post("/patient/my-data/objection", data={})
    assert statistics.report(staff.profile, period).total == 2
    assert [e.data for e in _events(audit.OBJECTION_CHANGED.name)] == [{"objects": True}, {"objects": False}]
    register = db.session.scalars(db.select(DataRequest).where(DataRequest.kind == "objection")
                                  .order_by(DataRequest.id)).all()
    assert [(r.state, r.message) for r in register] == [("done", "objects"), ("done", "withdrawn")]
