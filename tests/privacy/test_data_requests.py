"""The fund's register of data-protection requests: staff see them within their fund's
scope and answer corrections; the patient reads the answer on the personal-data page."""

from __future__ import annotations

import pytest

from portal import audit
from portal.extensions import db
from portal.models import AuditEvent, DataRequest, Fund
from portal.privacy import rights
from tests.fixtures.clients import page, signed_in_as, text_of


def _correction(person, message="My surname is Krémer, with an accent.") -> DataRequest:
    filed = rights.request_correction(person.profile, "name", message, by=person.account)
    db.session.commit()
    return filed


def _events(name: str) -> list[AuditEvent]:
    return list(db.session.scalars(db.select(AuditEvent).where(AuditEvent.event == name)))


def test_a_correction_goes_to_staff_who_answer_and_the_patient_reads_the_answer(app, people, english_staff_client):
    patient = people["patient"]
    patient_client = signed_in_as(app, patient, lang="en")
    patient_client.post("/patient/my-data/correction",
                        data={"registry_field": "name", "message": "My surname is Krémer, with an accent."})
    filed = db.session.scalar(db.select(DataRequest))

    assert "Data-protection requests" in text_of(english_staff_client.get("/cns/"))
    register = page(english_staff_client.get("/cns/data-requests"))
    row = register.select_one("tbody tr")
    assert filed.reference in row.th.get_text() and "Correction" in row.get_text() and "Open" in row.get_text()
    assert patient.profile.full_name in row.get_text()

    detail = english_staff_client.get(row.th.a["href"])
    assert "My surname is Krémer, with an accent." in text_of(detail)
    assert patient.profile.matricule in text_of(detail)
    assert [e.data for e in _events(audit.DATA_REQUEST_VIEWED.name)] == [{"request_id": filed.id}]

    response = english_staff_client.post(f"/cns/data-requests/{filed.id}",
                                         data={"state": "done", "answer": "The register now reads Krémer."})
    assert response.status_code == 303
    db.session.refresh(filed)
    assert (filed.state, filed.answer, filed.answered_by_id) == ("done", "The register now reads Krémer.",
                                                                 people["cns"].profile.id)
    assert filed.closed_at is not None
    (answered,) = _events(audit.DATA_REQUEST_ANSWERED.name)
    assert answered.data == {"request_id": filed.id, "state": "done"} and answered.patient_id == patient.profile.id

    mine = page(patient_client.get("/patient/my-data")).select_one(
        "section[aria-labelledby='group-data_requests']").get_text(" ")
    assert "The register now reads Krémer." in mine and "Done" in mine


def test_the_first_answer_stands(people, english_staff_client):
    filed = _correction(people["patient"])
    english_staff_client.post(f"/cns/data-requests/{filed.id}",
                              data={"state": "refused", "answer": "The register is right."})
    again = english_staff_client.post(f"/cns/data-requests/{filed.id}",
                                      data={"state": "done", "answer": "Changed my mind."}, follow_redirects=True)
    assert "already been answered" in text_of(again)
    db.session.refresh(filed)
    assert (filed.state, filed.answer) == ("refused", "The register is right.")
    assert len(_events(audit.DATA_REQUEST_ANSWERED.name)) == 1


def test_an_answer_needs_a_decision_and_words(people, english_staff_client):
    filed = _correction(people["patient"])
    response = english_staff_client.post(f"/cns/data-requests/{filed.id}", data={"state": "", "answer": ""})
    assert response.status_code == 400
    assert page(response).select_one(".error-summary")
    db.session.refresh(filed)
    assert filed.state == "open" and _events(audit.DATA_REQUEST_ANSWERED.name) == []


def test_requests_carried_out_at_once_are_listed_but_not_answerable(people, english_staff_client, make_claim):
    patient = people["patient"]
    rights.set_objection(patient.profile, True, by=patient.account)
    db.session.commit()
    filed = db.session.scalar(db.select(DataRequest))
    detail = page(english_staff_client.get(f"/cns/data-requests/{filed.id}"))
    assert not detail.select("main form") and "carried out this request at once" in detail.get_text()
    response = english_staff_client.post(f"/cns/data-requests/{filed.id}", data={"state": "done", "answer": "x"},
                                         follow_redirects=True)
    assert "already been answered" in text_of(response)


def test_filters_by_kind_and_state(people, english_staff_client):
    patient = people["patient"]
    correction = _correction(patient)
    rights.set_objection(patient.profile, True, by=patient.account)
    db.session.commit()

    def listed(query):
        return [row.th.get_text(strip=True) for row in page(english_staff_client.get(f"/cns/data-requests?{query}"))
                .select("tbody tr")]

    assert len(listed("")) == 2
    assert listed("kind=correction") == [correction.reference]
    assert listed("state=open") == [correction.reference]
    assert correction.reference not in listed("kind=objection")
    assert listed("kind=bogus") and english_staff_client.get("/cns/data-requests?page=-3").status_code == 200


def test_fund_scope(app, people, make_patient, make_staff):
    cns_patient = people["patient"]
    civil_servant = make_patient(fund=Fund.CMFEP, given_name="Luc", surname="Weber")
    mine, theirs = _correction(civil_servant), _correction(cns_patient)
    orphan = DataRequest(reference="D-ERASED00001", patient_id=None, kind="erasure", state="done")
    db.session.add(orphan)
    db.session.commit()
    cmfep = signed_in_as(app, make_staff(fund=Fund.CMFEP), lang="en")
    listed = [row.th.get_text(strip=True) for row in page(cmfep.get("/cns/data-requests")).select("tbody tr")]
    assert listed == [mine.reference]
    assert cmfep.get(f"/cns/data-requests/{theirs.id}").status_code == 404
    assert cmfep.get(f"/cns/data-requests/{orphan.id}").status_code == 404
    assert cmfep.post(f"/cns/data-requests/{theirs.id}", data={"state": "done", "answer": "x"}).status_code == 404
    cns = signed_in_as(app, people["cns"], lang="en")
    everything = text_of(cns.get("/cns/data-requests"))
    assert all(ref in everything for ref in (mine.reference, theirs.reference, orphan.reference))
    assert "erased" in everything


@pytest.mark.parametrize("role", ["patient", "doctor"])
def test_only_staff_reach_the_register(app, people, role):
    client = signed_in_as(app, people[role], lang="en")
    assert client.get("/cns/data-requests").status_code == 403
