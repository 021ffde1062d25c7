"""The access log: who accessed which of the patient's data, when and why; 13 months only."""

from __future__ import annotations

from datetime import date, timedelta

from portal.core import clock
from portal.extensions import db
from portal.models import AuditEvent
from portal.privacy import accesses, retention
from tests.fixtures.clients import page, signed_in_as
from tests.fixtures.queries import PAGE_BUDGET, count_queries


def _rows(client, url="/patient/my-data/access-log"):
    html = page(client.get(url))
    return [[cell.get_text(" ", strip=True) for cell in row.find_all(["th", "td"])]
            for row in html.select("table.access-log tbody tr")]


def _add(patient_id: int, event: str = "invoice.viewed", *, at=None, actor=None, role=None, **data) -> AuditEvent:
    row = AuditEvent(event=event, patient_id=patient_id, actor_account_id=actor, actor_role=role,
                     occurred_at=at or clock.now(), data=data or {"invoice_id": 1})
    db.session.add(row)
    db.session.commit()
    return row


def test_doctor_by_name_staff_by_reference_and_the_patient_as_you(app, english_patient_client, people, make_claim):
    patient, doctor, staff = people["patient"], people["doctor"], people["cns"]
    claim = make_claim(patient, doctor)
    signed_in_as(app, doctor, lang="en").get(f"/doctor/invoices/{claim.invoice_id}")
    signed_in_as(app, staff, lang="en").get(f"/cns/claims/{claim.id}")
    english_patient_client.get(f"/patient/claims/{claim.id}")
    rows = _rows(english_patient_client)
    who_what = [(row[1], row[2]) for row in rows]
    assert ("You", "Viewed a claim") in who_what
    assert (f"Staff of CNS, reference {staff.profile.staff_id}", "Viewed a claim") in who_what
    assert ("Dr Jeanne Wagner", "Viewed an invoice") in who_what
    assert ("You", "Sent an invoice to the health fund") in who_what
    # The test fixture issues the invoice outside any request, as a batch would: no person acted.
    assert ("The portal (automatically)", "Wrote an invoice") in who_what
    why = {row[2]: row[3] for row in rows if row[1] == "Dr Jeanne Wagner"}
    assert why["Viewed an invoice"] == "Your care and its invoicing"


def test_newest_first_and_only_the_last_thirteen_months(english_patient_client, people):
    pid = people["patient"].profile.id
    now = clock.now()
    cutoff = retention.months_before(now, 13)
    _add(pid, at=cutoff - timedelta(days=1), invoice_id=111)
    _add(pid, at=cutoff + timedelta(days=1), invoice_id=222)
    _add(pid, "claim.viewed", at=now - timedelta(hours=1), claim_id=3)
    entries = [e.event.data for e in _entries(people)]
    assert {"invoice_id": 111} not in entries and {"invoice_id": 222} in entries
    dates = [e.event.occurred_at for e in _entries(people)]
    assert dates == sorted(dates, reverse=True)
    assert len(_rows(english_patient_client)) == len(dates)


def _entries(people):
    entries, _older = accesses.page(people["patient"].profile, people["patient"].account)
    return entries


def test_another_patients_rows_never_show(english_patient_client, people, make_patient, make_claim):
    other = make_patient(given_name="Paul", surname="Hoffmann")
    make_claim(other, people["doctor"])
    _add(other.profile.id, "claim.viewed", actor=people["cns"].account.id, role="cns", claim_id=99)
    mine = db.session.scalar(db.select(db.func.count()).select_from(AuditEvent)
                             .where(AuditEvent.patient_id == people["patient"].profile.id))
    assert len(_rows(english_patient_client)) == mine
    assert {e.event.patient_id for e in _entries(people)} <= {people["patient"].profile.id}
    assert not any(e.event.data == {"claim_id": 99} for e in _entries(people))


def test_a_parent_acting_in_a_childs_space_shows_as_a_parent(app, make_patient, make_child):
    parent = make_patient(given_name="Anne", surname="Schmit")
    child = make_child(parent, given_name="Léa", surname="Schmit", birth=date(2012, 6, 2))
    _add(child.profile.id, actor=parent.account.id, role="patient")
    _add(child.profile.id, "statement.viewed", actor=child.account.id, role="patient", statement_id=1)
    child_view = [(row[1], row[2]) for row in _rows(signed_in_as(app, child, lang="en"))]
    assert ("A parent", "Viewed an invoice") in child_view and ("You", "Viewed a reimbursement statement") in child_view
    parent_client = signed_in_as(app, parent, lang="en")
    parent_client.post("/patient/space", data={"space": str(child.profile.id)})
    parent_view = [(row[1], row[2]) for row in _rows(parent_client)]
    assert ("You", "Viewed an invoice") in parent_view and ("Léa", "Viewed a reimbursement statement") in parent_view


def test_pages_walk_every_entry_once_in_one_query_for_the_rows(english_patient_client, people):
    pid, start = people["patient"].profile.id, clock.now() - timedelta(days=10)
    for number in range(30):
        _add(pid, at=start + timedelta(minutes=number), actor=people["doctor"].account.id, role="doctor",
             invoice_id=number)
    seen, url = [], "/patient/my-data/access-log"
    english_patient_client.get(url)
    with count_queries() as statements:
        first = english_patient_client.get(url)
    assert len(statements) <= PAGE_BUDGET, statements
    assert sum("audit_event" in s and "doctor" in s for s in statements) == 1  # names joined, no N+1
    html = page(first)
    seen += html.select("table.access-log tbody tr")
    older = html.find("a", string="Older entries")
    assert older is not None
    second = page(english_patient_client.get(older["href"]))
    seen += second.select("table.access-log tbody tr")
    assert second.find("a", string="Newest entries") and not second.find("a", string="Older entries")
    assert len(seen) >= 30
    assert english_patient_client.get("/patient/my-data/access-log?before=garbage").status_code == 200
