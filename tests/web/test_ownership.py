"""portal.web.ownership: who is asking, and an object only when it is theirs.

Each check runs in a request of its own, as the views do (a fresh context: no household or
profile kept from an earlier one), signed in as the person named. A refusal is the 404 an
unknown id gets, with one `access.refused` row naming who asked for what.
"""

from __future__ import annotations

import ast
import contextvars
from datetime import date
from pathlib import Path

import pytest
from flask import g, session
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload
from werkzeug.exceptions import NotFound

from portal.extensions import db
from portal.models import AuditEvent, Fund, GuardianLink, Invoice
from portal.web import ownership
from tests.fixtures.claims import new_claim
from tests.fixtures.factories import new_doctor, new_patient, new_staff
from tests.fixtures.invoices import new_invoice

PORTAL = Path(__file__).resolve().parents[2] / "portal"
BLUEPRINTS = tuple(f"portal.web.{name}" for name in ("patient", "doctor", "cns", "auth", "public", "activation"))


def asking(app, person, path, check, *, space=None, method="GET"):
    """Run `check()` in a request for `path` signed in as `person` (in `space`, a child's id)."""

    def run():
        with app.test_request_context(path, method=method):
            g.account = person.account
            if space is not None:
                session["space"] = space
            return check()

    return contextvars.Context().run(run)


def last_audit_id() -> int:
    return db.session.scalar(select(func.max(AuditEvent.id))) or 0


def refusals_after(mark: int) -> list[tuple]:
    rows = db.session.scalars(select(AuditEvent).where(AuditEvent.id > mark).order_by(AuditEvent.id))
    return [(row.event, row.actor_account_id, row.data) for row in rows]


def assert_refused(app, person, path, check, *, endpoint, kind, object_id, space=None, method="GET"):
    mark = last_audit_id()
    with pytest.raises(NotFound):
        asking(app, person, path, check, space=space, method=method)
    expected = {"endpoint": endpoint, "object": kind}
    if object_id is not None:
        expected["object_id"] = object_id
    assert refusals_after(mark) == [("access.refused", person.account.id, expected)]


@pytest.fixture
def family(app_ctx):
    """A parent, their minor child (no account of its own) and a doctor who treated both."""
    parent = new_patient(given_name="Paul")
    child = new_patient(given_name="Léa", birth=date.today().replace(year=date.today().year - 8), with_account=False)
    db.session.add(GuardianLink(parent_account_id=parent.account.id, child_patient_id=child.profile.id))
    db.session.commit()
    doctor = new_doctor()
    return parent, child, doctor


# --- The patient ---------------------------------------------------------------------------------


def test_a_patient_gets_their_own_invoice_and_claim(app, app_ctx):
    patient, doctor = new_patient(), new_doctor()
    invoice = new_invoice(patient, doctor)
    claim = new_claim(patient, doctor)
    mark = last_audit_id()

    assert asking(app, patient, f"/patient/invoices/{invoice.id}",
                  lambda: ownership.own_invoice(invoice.id, joinedload(Invoice.lines)).id) == invoice.id
    assert asking(app, patient, f"/patient/claims/{claim.id}", lambda: ownership.own_claim(claim.id).id) == claim.id
    assert asking(app, patient, "/patient/", lambda: ownership.current_patient().id) == patient.profile.id
    assert refusals_after(mark) == []  # an owner's access is no refusal


def test_another_patients_invoice_and_claim_are_refused(app, app_ctx):
    victim, intruder, doctor = new_patient(), new_patient(given_name="Ivan"), new_doctor()
    invoice = new_invoice(victim, doctor)
    claim = new_claim(victim, doctor)

    assert_refused(app, intruder, f"/patient/invoices/{invoice.id}", lambda: ownership.own_invoice(invoice.id),
                   endpoint="patient.invoice", kind="invoice", object_id=invoice.id)
    assert_refused(app, intruder, f"/patient/claims/{claim.id}", lambda: ownership.own_claim(claim.id),
                   endpoint="patient.claim", kind="claim", object_id=claim.id)


def test_an_unknown_id_gets_the_same_refusal(app, app_ctx):
    patient = new_patient()
    assert_refused(app, patient, "/patient/invoices/999999", lambda: ownership.own_invoice(999999),
                   endpoint="patient.invoice", kind="invoice", object_id=999999)


def test_a_query_with_more_columns_is_narrowed_to_the_owner(app, app_ctx):
    victim, intruder, doctor = new_patient(), new_patient(given_name="Ivan"), new_doctor()
    invoice = new_invoice(victim, doctor)

    def row():
        found = ownership.own_row(db.select(Invoice, Invoice.number).where(Invoice.id == invoice.id), Invoice, invoice.id)
        return found[0].id, found[1]

    assert asking(app, victim, f"/patient/invoices/{invoice.id}", row) == (invoice.id, invoice.number)
    assert_refused(app, intruder, f"/patient/invoices/{invoice.id}", row,
                   endpoint="patient.invoice", kind="invoice", object_id=invoice.id)


def test_several_invoices_are_refused_at_the_first_that_is_not_theirs(app, app_ctx):
    patient, other, doctor = new_patient(), new_patient(given_name="Ivan"), new_doctor()
    mine = new_invoice(patient, doctor)
    theirs = new_invoice(other, doctor)
    ids = [mine.id, theirs.id]

    def chosen(ids):
        return lambda: [row.id for row in ownership.own_all(db.select(Invoice).where(Invoice.id.in_(ids)), Invoice, ids)]

    assert asking(app, patient, "/patient/invoices/share", chosen([mine.id])) == [mine.id]
    assert_refused(app, patient, "/patient/invoices/share", chosen(ids),
                   endpoint="patient.share", kind="invoice", object_id=theirs.id)


def test_an_account_without_a_registry_record_has_no_patient_and_owns_nothing(app, app_ctx):
    patient = new_patient()
    invoice = new_invoice(patient, new_doctor())
    patient.profile.account = None
    db.session.commit()
    with pytest.raises(NotFound):
        asking(app, patient, "/patient/", ownership.current_patient)
    assert asking(app, patient, "/patient/", ownership.acting_patient) is None
    assert_refused(app, patient, f"/patient/invoices/{invoice.id}", lambda: ownership.own_invoice(invoice.id),
                   endpoint="patient.invoice", kind="invoice", object_id=invoice.id)


# --- A parent in a child's space ------------------------------------------------------------------


def test_a_parent_in_their_own_space_does_not_reach_the_childs_invoice(app, family):
    parent, child, doctor = family
    invoice = new_invoice(child, doctor)
    assert asking(app, parent, "/patient/", ownership.current_space)[1] is True
    assert_refused(app, parent, f"/patient/invoices/{invoice.id}", lambda: ownership.own_invoice(invoice.id),
                   endpoint="patient.invoice", kind="invoice", object_id=invoice.id)


def test_a_parent_in_the_childs_space_acts_for_the_child_only(app, family):
    parent, child, doctor = family
    childs = new_invoice(child, doctor)
    parents = new_invoice(parent, doctor)
    space = child.profile.id

    assert asking(app, parent, "/patient/", lambda: ownership.current_patient().id, space=space) == child.profile.id
    person_id, own = asking(app, parent, "/patient/", lambda: (ownership.current_space()[0].id,
                                                               ownership.current_space()[1]), space=space)
    assert (person_id, own) == (child.profile.id, False)
    assert asking(app, parent, f"/patient/invoices/{childs.id}", lambda: ownership.own_invoice(childs.id).id,
                  space=space) == childs.id
    assert_refused(app, parent, f"/patient/invoices/{parents.id}", lambda: ownership.own_invoice(parents.id),
                   endpoint="patient.invoice", kind="invoice", object_id=parents.id, space=space)


def test_a_space_that_is_not_the_parents_child_is_ignored(app, family):
    parent, _child, doctor = family
    stranger = new_patient(given_name="Tom", birth=date.today().replace(year=date.today().year - 8), with_account=False)
    assert asking(app, parent, "/patient/", lambda: ownership.current_patient().id,
                  space=stranger.profile.id) == parent.profile.id


def test_entering_a_strangers_space_is_refused(app, family):
    parent, child, _doctor = family
    stranger = new_patient(given_name="Tom", birth=date.today().replace(year=date.today().year - 8), with_account=False)
    assert asking(app, parent, "/patient/space", lambda: ownership.enter_space(child.profile.id).id,
                  method="POST") == child.profile.id
    assert_refused(app, parent, "/patient/space", lambda: ownership.enter_space(stranger.profile.id),
                   endpoint="patient.switch_space", kind="patient", object_id=stranger.profile.id, method="POST")


# --- The doctor and the agent ---------------------------------------------------------------------


def test_a_doctor_gets_their_invoices_and_codes_and_no_one_elses(app, app_ctx, issue_code):
    doctor, other, patient = new_doctor(), new_doctor(name="Dr Other"), new_patient()
    invoice = new_invoice(patient, doctor)
    code, _token = issue_code(new_patient(given_name="Noé", with_account=False).profile, doctor.profile)

    assert asking(app, doctor, f"/doctor/invoices/{invoice.id}", lambda: ownership.own_invoice(invoice.id).id) == invoice.id
    assert asking(app, doctor, "/doctor/", lambda: ownership.current_doctor().id) == doctor.profile.id
    assert asking(app, doctor, f"/doctor/activations/{code.id}/revoke",
                  lambda: ownership.own_code(code.id).id, method="POST") == code.id
    assert_refused(app, other, f"/doctor/invoices/{invoice.id}", lambda: ownership.own_invoice(invoice.id),
                   endpoint="doctor.invoice", kind="invoice", object_id=invoice.id)
    assert_refused(app, other, f"/doctor/activations/{code.id}/revoke", lambda: ownership.own_code(code.id),
                   endpoint="doctor.revoke_activation", kind="code", object_id=code.id, method="POST")


def test_an_agent_reaches_the_claims_of_their_fund_only(app, app_ctx):
    doctor, cns_agent, fund_agent = new_doctor(), new_staff(), new_staff(fund=Fund.CMFEP)
    cns_claim = new_claim(new_patient(), doctor)
    cmfep_claim = new_claim(new_patient(given_name="Yves", fund=Fund.CMFEP), doctor)

    assert asking(app, cns_agent, f"/cns/claims/{cmfep_claim.id}", lambda: ownership.own_claim(cmfep_claim.id).id) \
        == cmfep_claim.id  # the CNS's scope covers every fund
    assert asking(app, fund_agent, f"/cns/claims/{cmfep_claim.id}", lambda: ownership.own_claim(cmfep_claim.id).id) \
        == cmfep_claim.id
    assert asking(app, fund_agent, "/cns/", lambda: ownership.current_agent().id) == fund_agent.profile.id
    assert_refused(app, fund_agent, f"/cns/claims/{cns_claim.id}", lambda: ownership.own_claim(cns_claim.id),
                   endpoint="cns.claim", kind="claim", object_id=cns_claim.id)


# --- One home ---------------------------------------------------------------------------------------


def test_ownership_imports_no_blueprint():
    tree = ast.parse((PORTAL / "web" / "ownership.py").read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    names = {f"{node.module}.{alias.name}" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
             for alias in node.names}
    assert not [name for name in imported | names if name.startswith(BLUEPRINTS)]


def test_no_view_keeps_its_own_owner_check():
    """The signed-in person and their objects come from portal.web.ownership only."""
    copies, read = [], 0
    for package in ("patient", "doctor", "cns", "auth", "public", "activation"):
        for path in (PORTAL / "web" / package).glob("*.py"):
            read += 1
            text = path.read_text()
            for needle in ("def _own", "def _patient(", "def _doctor(", "def _staff(", "def _agent(",
                           "acting_patient(current_user)", "profile(current_user)"):
                if needle in text:
                    copies.append(f"{path.name}: {needle}")
    assert read > 30  # the blueprints were found where they live
    assert copies == []
