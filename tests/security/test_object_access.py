"""Every object route, asked by the wrong owner of the right role.

Another patient's claim, invoice, statement or export; another doctor's invoice or
activation code; a claim, data request or identity request of another fund's insured person
(asked by a CMFEP agent); another account's session. Each answer is 404 — never 403, which
would confirm the object exists — the same page as for an id that does not exist; the object
is unchanged in the database; and one `access.refused` audit row names who asked for what.

The role-level matrix (every route × every role) is tests/web/test_access.py; this file checks
ownership inside a role. `test_every_object_route_has_a_case` walks app.url_map: a new route
with an object in its URL fails it until a case is added to CASES below.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import pytest
from sqlalchemy import func, inspect, select

from portal.accounts import guardian_register
from portal.activation import codes
from portal.claims import review, sharing, states
from portal.core import clock, jobs
from portal.documents import uploads
from portal.extensions import db
from portal.helpdesk import requests as helpdesk
from portal.models import AuditEvent, Fund, IdentityRequest, UserSession
from portal.privacy import export, rights
from tests.fixtures.activation import awaiting_check, waiting_reactivation
from tests.fixtures.claims import new_claim
from tests.fixtures.clients import page, sign_in, text_of, url_for
from tests.fixtures.factories import new_doctor, new_patient, new_staff
from tests.fixtures.images import png
from tests.fixtures.invoices import new_invoice
from tests.web.test_access import ANY, EXPECTED, _allowed

# --- The world: the victim's objects, and an intruder of each role ---------------------------------


class World:
    """The victim is a CNS-insured patient treated by `doctor`; the intruders are another
    patient, another doctor, and an agent of another fund (CMFEP). Built lazily: a test pays
    only for what it asks for."""

    def __init__(self, app):
        self.app = app

    @cached_property
    def victim(self):
        return new_patient(given_name="Anne", surname="Victim")

    @cached_property
    def other_patient(self):
        return new_patient(given_name="Ivan", surname="Intrus")

    @cached_property
    def doctor(self):
        return new_doctor(name="Dr Owner")

    @cached_property
    def other_doctor(self):
        return new_doctor(name="Dr Intruder")

    @cached_property
    def agent(self):
        """CNS scope: sees every fund's claims; moves the victim's claims along."""
        return new_staff()

    @cached_property
    def fund_agent(self):
        """CMFEP scope: must see nothing of a CNS-insured person."""
        return new_staff(fund=Fund.CMFEP)

    @cached_property
    def invoice(self):
        return new_invoice(self.victim, self.doctor)

    @cached_property
    def direct_statement(self):
        """A direct payment the fund made to `doctor` for the victim's invoice."""
        self.doctor.profile.iban = "LU280019400644750000"
        invoice = new_invoice(self.victim, self.doctor, settlement="direct")
        claim = states.active_claim_of(invoice.id)
        review.take_up(claim, self.agent.profile)
        statement = review.accept(claim, self.agent.profile, version=claim.version)
        db.session.commit()
        return statement

    def claim(self, state="shared"):
        return new_claim(self.victim, self.doctor, self.agent, state=state)

    def frozen_claim(self):
        claim = self.claim()
        rights.freeze(claim, by=self.victim.account)
        db.session.commit()
        return claim

    def answered_claim(self):
        """A claim whose patient answered the fund's question with a document."""
        claim = self.claim("info_requested")
        sharing.answer(claim, "Here is the prescription.", by=self.victim.account, document=png())
        db.session.commit()
        return claim, claim.events[-1]

    @cached_property
    def export(self):
        made, token = export.create(self.victim.profile, by=self.victim.account, language="en")
        db.session.commit()
        jobs.run_ready()  # the job that builds it
        return made, token

    @cached_property
    def activation(self):
        newcomer = new_patient(given_name="Nora", surname="Newcomer", with_account=False)
        code, token = codes.issue(newcomer.profile, doctor=self.doctor.profile, document_type="identity_card",
                                  document_last4="AB12", mobile="+352621123456")
        db.session.commit()
        return code, token

    @cached_property
    def data_request(self):
        filed = rights.request_correction(self.victim.profile, "name", "My name is spelt Anne.",
                                           by=self.victim.account)
        db.session.commit()
        return filed

    @cached_property
    def help_request(self):
        """The victim's message to their fund, with a document."""
        filed = helpdesk.file("claim", "When is my claim paid?", account=self.victim.account,
                              patient=self.victim.profile, document=(png(), "scan.png"))
        db.session.commit()
        return filed

    @cached_property
    def identity_request(self):
        person = self.victim.profile
        filed = IdentityRequest(
            reference="ref-" + codes.new_token()[:20], matricule=person.matricule, surname=person.surname,
            given_name=person.given_name, birth_date=person.birth_date, mobile="+352621999999", language="en",
            document_name=uploads.store(png()), document_type="image/png", patient_id=person.id,
            created_at=clock.now(),
        )
        db.session.add(filed)
        db.session.commit()
        return filed

    @cached_property
    def guardian_request(self):
        """A doctor asked that the victim be made a CNS-insured child's guardian."""
        child = new_patient(given_name="Mia", surname="Kind", birth=clock.today().replace(year=clock.today().year - 6),
                            with_account=False)
        filed = guardian_register.request_link(child.profile, self.victim.profile, self.doctor.profile)
        db.session.commit()
        return filed

    @cached_property
    def activation_check(self):
        """A CNS-insured newcomer the register cannot reach: their activation waits for staff."""
        newcomer = new_patient(given_name="Noé", surname="Nocontact", with_account=False)
        code = awaiting_check(newcomer.profile, self.doctor.profile)
        db.session.commit()
        return code

    @cached_property
    def reactivation(self):
        """Someone started a new activation of the victim's working account."""
        row = waiting_reactivation(self.victim.account)
        db.session.commit()
        return row

    @cached_property
    def victim_session(self):
        """The victim signed in on another device: a live session row of theirs."""
        sign_in(self.app.test_client(), self.victim)
        return db.session.scalars(
            select(UserSession).where(UserSession.account_id == self.victim.account.id)
            .order_by(UserSession.created_at.desc())
        ).first()


# --- Reading the database ------------------------------------------------------

def row_values(row) -> dict:
    """The row's columns as stored now, read again from the database."""
    db.session.expire_all()
    model = type(row)
    fresh = db.session.get(model, inspect(row).identity)
    return {column.key: getattr(fresh, column.key) for column in inspect(model).column_attrs}


def table_counts() -> dict[str, int]:
    """Rows per table, the audit trail apart (a refusal adds to it on purpose)."""
    return {
        table.name: db.session.scalar(select(func.count()).select_from(table))
        for table in db.metadata.sorted_tables if table.name != "audit_event"
    }


def last_audit_id() -> int:
    return db.session.scalar(select(func.max(AuditEvent.id))) or 0


def audit_rows_after(mark: int) -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.id > mark).order_by(AuditEvent.id)))


@pytest.fixture
def world(app, app_ctx):
    return World(app)


# --- The cases: for each object route, the victim's object and who tries to reach it ---------------

@dataclass
class Target:
    intruder: object  # a tests.fixtures.factories.Person of the route's role
    args: dict  # URL arguments naming the victim's object
    row: object  # the object itself, read again after every request
    kind: str  # what the audit row calls it
    audited_id: bool = True  # False when the id is a secret (a session, an export link)
    form: dict = field(default_factory=dict)  # what the owner would post: only ownership stops it


def _claim_case(role_of: Callable[[World], object], state: str, form: Callable | None = None):
    def build(w: World) -> Target:
        claim = w.frozen_claim() if state == "frozen" else w.claim(state)
        return Target(role_of(w), {"claim_id": claim.id}, claim, "claim", form=form(claim) if form else {})
    return build


def _patient(w):
    return w.other_patient


def _fund_agent(w):
    return w.fund_agent


def _claim_document(w: World) -> Target:
    claim, event = w.answered_claim()
    return Target(w.fund_agent, {"claim_id": claim.id, "event_id": event.id}, event, "claim")


def _invoice_case(role_of, form=None):
    def build(w: World) -> Target:
        return Target(role_of(w), {"invoice_id": w.invoice.id}, w.invoice, "invoice", form=form or {})
    return build


def _code_case(with_token: bool):
    def build(w: World) -> Target:
        code, token = w.activation
        # Even with the letter's own token, another doctor gets nothing.
        return Target(w.other_doctor, {"code_id": code.id}, code, "code",
                      form={"token": token} if with_token else {})
    return build


def _identity_case(form=None):
    def build(w: World) -> Target:
        filed = w.identity_request
        return Target(w.fund_agent, {"request_id": filed.id}, filed, "request", form=form or {})
    return build


def _guardian_case(form=None):
    def build(w: World) -> Target:
        filed = w.guardian_request
        return Target(w.fund_agent, {"request_id": filed.id}, filed, "request", form=form or {})
    return build


def _activation_check(w: World) -> Target:
    return Target(w.fund_agent, {"code_id": w.activation_check.id}, w.activation_check, "code",
                  form={"checked": "y"})


def _reactivation(w: World) -> Target:
    return Target(w.fund_agent, {"reactivation_id": w.reactivation.id}, w.reactivation, "reactivation",
                  form={"checked": "y"})


def _data_request(w: World) -> Target:
    filed = w.data_request
    return Target(w.fund_agent, {"request_id": filed.id}, filed, "request",
                  form={"state": "done", "answer": "Corrected in the register."})


def _help_case(form=None):
    def build(w: World) -> Target:
        filed = w.help_request
        return Target(w.fund_agent, {"request_id": filed.id}, filed, "request", form=form or {})
    return build


def _export(w: World) -> Target:
    made, token = w.export
    return Target(w.other_patient, {"token": token}, made, "export", audited_id=False)


def _session(w: World) -> Target:
    row = w.victim_session
    return Target(w.other_patient, {"session_id": row.id}, row, "session", audited_id=False)


def _decision(**fields):
    return lambda claim: {"version": claim.version, **fields}


CASES: dict[str, Callable[[World], Target]] = {
    "auth.end_session": _session,
    "patient.claim": _claim_case(_patient, "shared"),
    "patient.answer_claim": _claim_case(_patient, "info_requested", lambda _c: {"message": "Here it is."}),
    "patient.freeze_claim": _claim_case(_patient, "shared"),
    "patient.unfreeze_claim": _claim_case(_patient, "frozen"),
    "patient.withdraw_claim": _claim_case(_patient, "shared"),
    "patient.statement": _claim_case(_patient, "accepted"),
    "patient.statement_pdf": _claim_case(_patient, "accepted"),
    "patient.invoice": _invoice_case(_patient),
    "patient.invoice_pdf_download": _invoice_case(_patient),
    "patient.report_invoice": _invoice_case(_patient, {"message": "The date is wrong."}),
    "patient.export_download": _export,
    "doctor.invoice": _invoice_case(lambda w: w.other_doctor),
    "doctor.invoice_pdf_download": _invoice_case(lambda w: w.other_doctor),
    "doctor.void_invoice": _invoice_case(lambda w: w.other_doctor, {"reason": "Issued to the wrong person."}),
    "doctor.answer_question": _invoice_case(lambda w: w.other_doctor, {"message": "My answer."}),
    "doctor.remittance_pdf": lambda w: Target(w.other_doctor, {"statement_id": w.direct_statement.id},
                                              w.direct_statement, "statement"),
    "doctor.activation_letter_pdf": _code_case(with_token=True),
    "doctor.revoke_activation": _code_case(with_token=False),
    "cns.claim": _claim_case(_fund_agent, "shared"),
    "cns.take_up_claim": _claim_case(_fund_agent, "shared"),
    "cns.accept_claim": _claim_case(_fund_agent, "in_review",
                                    lambda c: {"version": c.version, "amount": f"{c.computed_cents / 100:.2f}"}),
    "cns.reject_claim": _claim_case(_fund_agent, "in_review", _decision(reason="duplicate", confirmed="y")),
    "cns.request_info": _claim_case(_fund_agent, "in_review", _decision(question="Send the prescription.")),
    "cns.undo_decision": _claim_case(_fund_agent, "rejected", _decision()),
    "cns.claim_document": _claim_document,
    "cns.data_request": _data_request,
    "cns.help_request": _help_case({"body": "Paid on Monday."}),
    "cns.help_document": _help_case(),
    "cns.identity_request": _identity_case(),
    "cns.identity_request_document": _identity_case(),
    "cns.approve_identity_request": _identity_case(),
    "cns.reject_identity_request": _identity_case({"reason": "mismatch"}),
    "cns.confirm_guardian_request": _guardian_case({"document_checked": "y"}),
    "cns.refuse_guardian_request": _guardian_case(),
    "cns.confirm_activation_check": _activation_check,
    "cns.waive_reactivation": _reactivation,
}

# Public routes whose URL part is itself the secret (a bearer capability, not an owned id):
# whoever holds an activation letter or a request's reference is its intended reader.
# What they must hold to is that a guessed or dead capability tells nothing; see the tests
# at the end of this file.
CAPABILITIES = {"activation.link": "token", "activation.request_status": "reference", "public.not_me": "token"}

# Routes that act on any account by design, behind the CNS administrator permission rather than an
# owner: the permission is tested in tests/accounts/test_staff_administration.py.
ADMINISTRATION = {"cns.admin_block", "cns.admin_unblock", "cns.admin_deactivate"}

# Ids that do not exist: the largest the columns hold, and one past them (a guess must
# never turn into a database error).
MISSING_INTS = (2**31 - 1, 10**12)
MISSING_TEXT = {"session_id": "f" * 64, "token": "A" * 32}


def object_routes(app) -> dict:
    return {rule.endpoint: rule for rule in app.url_map.iter_rules() if rule.arguments and rule.endpoint != "static"}


def _methods(rule) -> list[str]:
    return [method for method in ("GET", "POST") if method in rule.methods]


def _missing_variants(rule, args: dict) -> list[tuple[dict, int | None]]:
    """URL arguments naming an object that does not exist (the route's first argument
    replaced), each with the id the audit row must name."""
    first = re.search(r"<(?:\w+:)?(\w+)>", rule.rule).group(1)
    if first in MISSING_TEXT:
        return [({**args, first: MISSING_TEXT[first]}, None)]
    return [({**args, first: value}, value) for value in MISSING_INTS]


def _send(client, method: str, path: str, form: dict):
    return client.get(path) if method == "GET" else client.post(path, data=form)


def _expect_one_refusal(mark: int, target: Target, endpoint: str, object_id: int | None):
    rows = audit_rows_after(mark)
    assert [row.event for row in rows] == ["access.refused"], f"{endpoint}: {[row.event for row in rows]}"
    (row,) = rows
    expected = {"endpoint": endpoint, "object": target.kind}
    if object_id is not None:
        expected["object_id"] = object_id
    assert row.data == expected
    assert (row.actor_account_id, row.actor_role) == (target.intruder.account.id, target.intruder.account.role)
    assert row.ip == "127.0.0.1"
    assert row.patient_id is None  # a refusal is not an access to the victim's data


# --- The tests ------------------------------------------------------------------------------------

def test_every_object_route_has_a_case(app, figures):
    routes = set(object_routes(app))
    covered = set(CASES) | set(CAPABILITIES) | ADMINISTRATION
    assert routes - covered == set(), f"object routes without a case: {sorted(routes - covered)}"
    assert covered - routes == set(), f"cases for routes that no longer exist: {sorted(covered - routes)}"
    figures.add("security.object_routes", len(routes & covered))


def test_each_case_signs_in_with_a_role_the_route_serves(app, world):
    """So every 404 below comes from the ownership check, not from the role check (403), and
    the capability routes are really public. The matrix itself is tests/web/test_access.py."""
    for endpoint, build in CASES.items():
        target = build(world)
        assert _allowed(EXPECTED[endpoint], target.intruder.account.role), endpoint
        assert EXPECTED[endpoint] != ANY, f"{endpoint} is public: it cannot have an owner check"
    for endpoint in CAPABILITIES:
        assert EXPECTED[endpoint] == ANY


@pytest.mark.parametrize("endpoint", sorted(CASES))
def test_another_owners_object_is_not_found_unchanged_and_audited(app, world, tally, endpoint):
    target = CASES[endpoint](world)
    rule = object_routes(app)[endpoint]
    client = tally.watch(app.test_client())
    assert sign_in(client, target.intruder).status_code == 303
    jobs.run_ready()  # what the world's commits queued (PDFs rendered at issue) is done before counting
    before, counts = row_values(target.row), table_counts()

    for method in _methods(rule):
        mark = last_audit_id()
        foreign = tally.foreign(_send(client, method, url_for(endpoint, **target.args), target.form))
        assert foreign.status_code == 404, f"{method} {endpoint} on another's object: {foreign.status_code}"
        _expect_one_refusal(mark, target, endpoint, next(iter(target.args.values())) if target.audited_id else None)
        assert row_values(target.row) == before, f"{method} {endpoint} changed another's object"

        for args, missing_id in _missing_variants(rule, target.args):
            mark = last_audit_id()
            missing = tally.foreign(_send(client, method, url_for(endpoint, **args), target.form))
            assert missing.status_code == 404, f"{method} {endpoint} {args}: {missing.status_code}"
            assert text_of(missing) == text_of(foreign), "an unknown id must look like another's"
            _expect_one_refusal(mark, target, endpoint, missing_id)

    assert row_values(target.row) == before
    assert table_counts() == counts, "a refused request left rows behind"
    assert tally.server_errors == 0
    assert tally.unauthorised_2xx == 0


def test_a_document_of_another_claim_is_refused_even_within_scope(app, world, tally):
    """An agent who may see claim A cannot read claim B's document through A's address."""
    claim, event = world.answered_claim()
    mine = world.claim()
    client = tally.watch(app.test_client())
    sign_in(client, world.agent)
    mark = last_audit_id()
    response = tally.foreign(client.get(url_for("cns.claim_document", claim_id=mine.id, event_id=event.id)))
    assert response.status_code == 404
    rows = audit_rows_after(mark)
    assert [(row.event, row.data) for row in rows] == [
        ("access.refused", {"endpoint": "cns.claim_document", "object": "event", "object_id": event.id})
    ]
    assert tally.unauthorised_2xx == 0 and tally.server_errors == 0


def test_sharing_another_patients_invoice_is_refused_and_shares_nothing(app, world, tally):
    """The share form names invoices by id: one that is not the patient's spoils the lot."""
    own, theirs = new_invoice(world.other_patient, world.doctor), world.invoice
    client = tally.watch(app.test_client())
    sign_in(client, world.other_patient)
    jobs.run_ready()  # the PDFs the two invoices queued, rendered before counting
    counts, mark = table_counts(), last_audit_id()
    for method in ("GET", "POST"):
        query = {"invoice": [own.id, theirs.id]}
        response = tally.foreign(client.get(url_for("patient.share", **query)) if method == "GET"
                                 else client.post(url_for("patient.share"), data={**query, "submit": "1"}))
        assert response.status_code == 404, method
    assert table_counts() == counts
    assert [(row.event, row.data["object_id"]) for row in audit_rows_after(mark)] == [
        ("access.refused", theirs.id)] * 2
    assert tally.unauthorised_2xx == 0 and tally.server_errors == 0


def test_a_doctor_cannot_correct_another_doctors_invoice(app, world, tally):
    """`replaces` names the voided invoice a new one corrects; another doctor's is refused."""
    from portal.invoicing import invoices

    invoices.void(world.invoice, "Wrong act.")
    db.session.commit()
    client = tally.watch(app.test_client())
    sign_in(client, world.other_doctor)
    mark = last_audit_id()
    response = tally.foreign(client.get(url_for("doctor.new_invoice", replaces=world.invoice.id)))
    assert response.status_code == 404
    assert world.victim.profile.matricule not in response.get_data(as_text=True)
    assert [row.data for row in audit_rows_after(mark)] == [
        {"endpoint": "doctor.new_invoice", "object": "invoice", "object_id": world.invoice.id}]
    assert tally.unauthorised_2xx == 0 and tally.server_errors == 0


def test_a_fund_agent_sees_no_other_funds_identity_request_in_the_list(app, world, tally):
    filed = world.identity_request
    outsider = tally.watch(app.test_client())
    sign_in(outsider, world.fund_agent)
    listing = page(outsider.get(url_for("cns.identity_requests")))
    assert listing.find("a", href=url_for("cns.identity_request", request_id=filed.id)) is None
    insider = tally.watch(app.test_client())
    sign_in(insider, world.agent)
    listing = page(insider.get(url_for("cns.identity_requests")))
    assert listing.find("a", href=url_for("cns.identity_request", request_id=filed.id)) is not None
    assert tally.server_errors == 0


# --- Capabilities: the URL part is the secret ------------------------------------------------------

def test_a_guessed_or_dead_activation_link_tells_nothing(app, world, tally):
    code, token = world.activation
    revoked_code, revoked_token = codes.issue(
        new_patient(given_name="Rita", surname="Revoked", with_account=False).profile, doctor=world.doctor.profile,
        document_type="passport", document_last4="ZZ99", mobile="+352621123456")
    codes.revoke(revoked_code, "doctor")
    db.session.commit()
    client = tally.watch(app.test_client())
    answers = {
        name: client.get(url_for("activation.link", token=value))
        for name, value in (("guessed", codes.new_token()), ("malformed", "x" * 300), ("revoked", revoked_token))
    }
    assert {(r.status_code, r.headers.get("Location")) for r in answers.values()} == {(303, "/activate/invalid")}
    # The live one does start the activation: the letter is what proves the right to it.
    live = client.get(url_for("activation.link", token=token))
    assert (live.status_code, live.headers["Location"]) == (303, "/activate/continue")
    assert tally.server_errors == 0


def test_a_guessed_identity_request_reference_is_404_and_a_real_one_shows_no_identity(app, world, tally):
    filed = world.identity_request
    client = tally.watch(app.test_client())
    guessed = client.get(url_for("activation.request_status", reference=codes.new_token()[:24]))
    assert guessed.status_code == 404
    # Signed in as another patient changes nothing: the page is the same for anyone holding it,
    # and it names no one.
    sign_in(client, world.other_patient)
    shown = text_of(client.get(url_for("activation.request_status", reference=filed.reference)))
    person = world.victim.profile
    for secret in (person.given_name, person.surname, person.matricule, filed.mobile,
                   person.birth_date.isoformat(), person.birth_date.strftime("%d/%m/%Y")):
        assert secret not in shown
    assert tally.server_errors == 0
