"""Extra form fields are never applied.

Every state-changing form is sent twice from the same database state: once as the page sends
it, once with hostile fields added (`role=cns`, another patient's `patient_id`, `amount=999999`,
another fund, `account_id`, `doctor_id`, `status`/`state=accepted`, `is_admin=1`, another
person's `iban`). Each send runs in a savepoint that is rolled back, so both start from the same
rows; the rows each one created, changed and deleted are compared. The hostile send must have
exactly the plain one's effect, or be refused with 400 and change nothing.

A hostile field that is also a real field of the form (the accept form's `amount`) is tried
separately: it is bound by the form's own validation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from portal.accounts import terms
from portal.claims import qr
from portal.core import clock
from portal.core.identity import make_iban
from portal.extensions import db
from portal.models import ActivationCode, Claim, ClaimState, DataRequest, Fund, Invoice, Statement
from portal.web.cns import forms as cns_forms
from portal.web.cns.data_requests import AnswerForm as DataRequestAnswerForm
from portal.web.cns.help import ReplyForm
from portal.web.doctor import forms as doctor_forms
from portal.web.forms import HelpForm
from portal.web.patient import claims as patient_claims
from portal.web.patient import my_data, sharing
from tests.conftest import REFERENCE_TABLES
from tests.fixtures.clients import in_english, sign_in, step_up, text_of, url_for
from tests.fixtures.factories import new_patient
from tests.fixtures.invoices import new_invoice
from tests.security.test_object_access import World

# Columns filled with random values (references, tokens, stored file names): equal in
# neither of two runs, whatever the form said.
RANDOM_COLUMNS = {"reference", "token_hash", "file_name", "document_name", "key", "device_key", "bound_to",
                  "code_hash"}
# A fresh activation token in a message; a stored PDF encrypted under a fresh nonce.
RANDOM_TEXT = {("outbox_message", "body"), ("stored_document", "content")}


@pytest.fixture
def world(app, app_ctx):
    return World(app)


def hostile_fields(world: World) -> dict[str, str]:
    other = world.other_patient
    return {
        "role": "cns",
        "patient_id": str(other.profile.id),
        "amount": "999999",
        "fund": Fund.CMFEP,  # the victim and the other patient are CNS-insured
        "account_id": str(other.account.id),
        "doctor_id": str(world.other_doctor.profile.id),
        "status": "accepted",
        "state": "accepted",
        "is_admin": "1",
        "iban": other.profile.iban,
    }


# --- What a request did to the database ------------------------------------------------------------

def _dump(connection) -> dict[str, dict]:
    tables = {}
    for table in db.metadata.sorted_tables:
        if table.name in REFERENCE_TABLES:
            continue
        keys = [column.name for column in table.primary_key.columns]
        tables[table.name] = {
            tuple(row[key] for key in keys): dict(row) for row in connection.execute(select(table)).mappings()
        }
    return tables


def _table_for(key: str, tables: dict) -> list[str]:
    """The tables an `…_id` key in an audit row's data may point to."""
    name = key.removesuffix("_id")
    special = {"report": ["invoice_report"], "request": ["data_request", "identity_request", "help_request"],
               "code": ["activation_code"], "export": ["data_export"]}
    return special.get(name, [name] if name in tables else [])


# Columns that name a row without a foreign key (the audit trail outlives what it names). A row
# created inside a rolled-back savepoint takes a new id on PostgreSQL, whose sequences never go back.
UNDECLARED_REFERENCES = {("audit_event", "actor_account_id"): "account", ("audit_event", "patient_id"): "patient"}


def _changes(before: dict, after: dict) -> dict:
    """Created, changed and deleted rows, with new ids named by creation order and random
    values hidden, so two runs from the same state compare equal when they did the same."""
    new = {}
    for name in after:
        created = sorted(set(after[name]) - set(before[name]))
        new[name] = {pk[0] if len(pk) == 1 else pk: f"<new {name} #{i}>" for i, pk in enumerate(created)}
    columns = {table.name: {column.name: column for column in table.columns} for table in db.metadata.sorted_tables}

    def value(table: str, column: str, data):
        if data is not None and (column in RANDOM_COLUMNS or (table, column) in RANDOM_TEXT):
            return "<random>"
        target = columns[table][column]
        if target.primary_key and data in new[table]:
            return new[table][data]
        for key in target.foreign_keys:
            if data in new.get(key.column.table.name, {}):
                return new[key.column.table.name][data]
        referred = UNDECLARED_REFERENCES.get((table, column))
        if referred and data in new.get(referred, {}):
            return new[referred][data]
        if table == "audit_event" and column == "data" and isinstance(data, dict):
            return {k: next((new[t][v] for t in _table_for(k, new) if v in new[t]), v) if k.endswith("_id") else v
                    for k, v in data.items()}
        return data

    def shown(table: str, row: dict) -> dict:
        return {column: value(table, column, data) for column, data in row.items()}

    effect = {}
    for name in after:
        created = [shown(name, after[name][pk]) for pk in sorted(set(after[name]) - set(before[name]))]
        deleted = sorted(set(before[name]) - set(after[name]))
        changed = [
            (pk, {column: value(name, column, data) for column, data in after[name][pk].items()
                  if before[name][pk][column] != data})
            for pk in sorted(set(before[name]) & set(after[name])) if before[name][pk] != after[name][pk]
        ]
        if created or deleted or changed:
            effect[name] = {"created": created, "changed": changed, "deleted": deleted}
    return effect


@dataclass
class Outcome:
    status: int
    location: str
    changes: dict

    @property
    def changed_anything(self) -> bool:
        # The session's own bookkeeping (last activity) moves on every request.
        return any(name != "user_session" for name in self.changes)


def outcome_of(client, path: str, data: dict | MultiDict) -> Outcome:
    """Post the form inside a savepoint that is then rolled back: the database is left as it was."""
    db.session.commit()  # the test's own session holds nothing open while the savepoint lives
    connection = db.session.get_bind()
    savepoint = connection.begin_nested()
    try:
        before = _dump(connection)
        response = client.post(path, data=data)
        after = _dump(connection)
    finally:
        savepoint.rollback()
        terms.forget_current()  # a version the form published is gone with its savepoint
    location = re.sub(r"\d+", "N", response.headers.get("Location", ""))  # ids of new rows differ
    return Outcome(response.status_code, location, _changes(before, after))


# --- The forms ---------------------------------------------------------------------------------------

@dataclass
class Form:
    actor: object  # the Person who sends it
    endpoint: str
    args: dict
    data: dict  # as the page sends it
    form_class: type  # its real fields are never overridden by the hostile ones
    step_up: bool = False  # the form asks for the password and a current code again


def _share(w):
    invoice = new_invoice(w.victim, w.doctor)
    return Form(w.victim, "patient.share", {}, {"invoice": str(invoice.id), "submit": "1"}, sharing.ShareForm)


def _bank_account(w):
    return Form(w.victim, "patient.bank_account", {}, {"iban": make_iban("LU", "0019400644750000")},
                sharing.BankAccountForm, step_up=True)


def _doctor_bank_account(w):
    return Form(w.doctor, "doctor.bank_account", {}, {"iban": make_iban("LU", "0019400644750000")},
                doctor_forms.BankAccountForm, step_up=True)


def _settings(w):
    return Form(w.victim, "patient.settings", {}, {"auto_share": "y"}, sharing.SettingsForm)


def _contact(w):
    return Form(w.victim, "patient.contact_details", {},
                {"mobile": "+352621654321", "email": "anne@example.lu", "language": "en"}, my_data.ContactForm,
                step_up=True)


def _correction(w):
    return Form(w.victim, "patient.correction_request", {}, {"registry_field": "name", "message": "Anne, with an e."},
                my_data.CorrectionForm)


def _report(w):
    return Form(w.victim, "patient.report_invoice", {"invoice_id": w.invoice.id}, {"message": "The date is wrong."},
                sharing.ReportForm)


def _answer(w):
    claim = w.claim("info_requested")
    return Form(w.victim, "patient.answer_claim", {"claim_id": claim.id}, {"message": "Here it is."},
                patient_claims.AnswerForm)


def _new_invoice(w):
    data = {
        "matricule": w.victim.profile.matricule, "service_date": (clock.today() - timedelta(days=2)).isoformat(),
        "lines-0-code": "C1", "lines-0-quantity": "1", "paid_on_site": "yes", "payer_is_patient": "yes",
        "submit": "1",
    }
    return Form(w.doctor, "doctor.new_invoice", {}, data, doctor_forms.InvoiceForm)


def _issue_activation(w):
    newcomer = new_patient(given_name="Nora", surname="Newcomer", with_account=False)
    data = {"matricule": newcomer.profile.matricule, "birth_date": newcomer.profile.birth_date.isoformat(),
            "document_type": "identity_card", "document_last4": "AB12",
            "mobile": "+352621123456", "language": "fr", "identity_checked": "y"}
    return Form(w.doctor, "doctor.issue_activation", {}, data, doctor_forms.IssueActivationForm)


def _take_up(w):
    return Form(w.agent, "cns.take_up_claim", {"claim_id": w.claim().id}, {}, cns_forms.TakeUpForm)


def _accept(w):
    claim = w.claim("in_review")
    return Form(w.agent, "cns.accept_claim", {"claim_id": claim.id},
                {"version": str(claim.version), "amount": f"{claim.computed_cents / 100:.2f}"}, cns_forms.AcceptForm)


def _reject(w):
    claim = w.claim("in_review")
    return Form(w.agent, "cns.reject_claim", {"claim_id": claim.id},
                {"version": str(claim.version), "reason": "duplicate", "confirmed": "y"}, cns_forms.ClaimRejectForm)


def _request_info(w):
    claim = w.claim("in_review")
    return Form(w.agent, "cns.request_info", {"claim_id": claim.id},
                {"version": str(claim.version), "question": "Send the prescription."}, cns_forms.InfoRequestForm)


def _data_request(w):
    return Form(w.agent, "cns.data_request", {"request_id": w.data_request.id},
                {"state": "done", "answer": "Corrected in the register."}, DataRequestAnswerForm)


def _help(w):
    return Form(w.victim, "patient.help", {}, {"category": "claim", "message": "When is my claim paid?"}, HelpForm)


def _doctor_help(w):
    return Form(w.doctor, "doctor.help", {}, {"category": "invoice", "message": "A code is missing."}, HelpForm)


def _help_reply(w):
    return Form(w.agent, "cns.help_request", {"request_id": w.help_request.id}, {"body": "Paid on Monday."},
                ReplyForm)


def _paper_intake(w):
    paper = new_invoice(w.victim, w.doctor, paid_on_site=False)
    return Form(w.agent, "cns.paper_intake", {}, {"payload": qr.qr_payload(paper)}, cns_forms.PaperIntakeForm)


def _approve_identity(w):
    return Form(w.agent, "cns.approve_identity_request", {"request_id": w.identity_request.id}, {},
                cns_forms.ApproveForm)


def _reject_identity(w):
    return Form(w.agent, "cns.reject_identity_request", {"request_id": w.identity_request.id},
                {"reason": "mismatch"}, cns_forms.RejectForm)


FORMS = {
    "patient shares an invoice": _share,
    "patient sets the bank account": _bank_account,
    "patient changes the settings": _settings,
    "patient changes contact details": _contact,
    "patient asks for a correction": _correction,
    "patient reports an invoice": _report,
    "patient answers a claim's question": _answer,
    "doctor issues an invoice": _new_invoice,
    "doctor sets the bank account": _doctor_bank_account,
    "doctor issues an activation code": _issue_activation,
    "agent takes up a claim": _take_up,
    "agent accepts a claim": _accept,
    "agent rejects a claim": _reject,
    "agent asks for information": _request_info,
    "agent answers a data request": _data_request,
    "patient writes to the fund": _help,
    "doctor writes to the fund": _doctor_help,
    "agent answers a message": _help_reply,
    "agent takes in a paper invoice": _paper_intake,
    "agent approves an identity request": _approve_identity,
    "agent rejects an identity request": _reject_identity,
}


def real_fields(app, form_class) -> set[str]:
    with app.test_request_context():
        return {field.name for field in form_class(formdata=None)} | {"invoice"}  # share names its invoices


def signed_in_client(app, tally, person):
    client = tally.watch(app.test_client())
    assert sign_in(client, person).status_code == 303
    clock.freeze(clock.now())  # both sends stamp the same time: only what they did differs
    return client


@pytest.mark.parametrize("story", sorted(FORMS))
def test_extra_fields_are_ignored_or_refused(app, world, tally, figures, story):
    form = FORMS[story](world)
    extras = {name: value for name, value in hostile_fields(world).items()
              if name not in real_fields(app, form.form_class)}
    client = signed_in_client(app, tally, form.actor)
    path = url_for(form.endpoint, **form.args)
    # Both sends are rolled back, so the one code serves both.
    data = {**form.data, **step_up(form.actor)} if form.step_up else form.data

    plain = outcome_of(client, path, data)
    hostile = outcome_of(client, path, {**data, **extras})

    assert plain.status in (200, 303) and plain.changed_anything, f"the plain form did nothing: {plain}"
    if hostile.status == 400:
        assert not hostile.changed_anything, f"refused, yet it changed: {hostile.changes}"
    else:
        assert (hostile.status, hostile.location) == (plain.status, plain.location)
        assert hostile.changes == plain.changes
    assert tally.server_errors == 0
    figures.add("security.extra_fields.forms", 1)


def test_a_doctor_cannot_issue_an_invoice_to_another_patient_by_id(app, world, tally):
    """The patient is the one whose matricule was typed, whatever `patient_id` says."""
    form = _new_invoice(world)
    client = signed_in_client(app, tally, world.doctor)
    response = client.post(url_for("doctor.new_invoice"), data={
        **form.data, "patient_id": str(world.other_patient.profile.id), "doctor_id": str(world.other_doctor.profile.id),
    })
    assert response.status_code == 303
    invoice = db.session.get(Invoice, int(response.headers["Location"].rsplit("/", 1)[1]))
    assert (invoice.patient_id, invoice.doctor_id) == (world.victim.profile.id, world.doctor.profile.id)
    assert tally.server_errors == 0


def test_the_accepted_amount_is_bound_by_the_amount_field(app, world, tally):
    """`amount` is a real field of the accept form: 999,999 euros is refused with a field
    error; sent twice, only the first value (the page's own field) counts."""
    claim = world.claim("in_review")
    computed = claim.computed_cents
    plain = {"version": str(claim.version), "amount": f"{computed / 100:.2f}"}
    client = in_english(signed_in_client(app, tally, world.agent))
    path = url_for("cns.accept_claim", claim_id=claim.id)

    refused = outcome_of(client, path, {**plain, "amount": "999999"})
    assert refused.status == 400 and not refused.changed_anything
    response = client.post(path, data={**plain, "amount": "999999"})
    assert response.status_code == 400
    assert "The amount must be between 0 and the invoice total." in text_of(response)
    assert db.session.scalar(select(Statement).where(Statement.claim_id == claim.id)) is None

    # Sent after the page's own field, the hostile value is never read.
    twice = outcome_of(client, path, MultiDict([*plain.items(), ("amount", "999999")]))
    once = outcome_of(client, path, plain)
    assert (twice.status, twice.changes) == (once.status, once.changes) and once.status == 303

    client.post(path, data=MultiDict([*plain.items(), ("amount", "999999"), ("reimbursed_cents", "99999900")]))
    db.session.expire_all()
    decided = db.session.get(Claim, claim.id)
    assert decided.state == ClaimState.ACCEPTED
    assert decided.reimbursed_cents == computed
    assert decided.statement.reimbursed_cents == computed
    assert tally.server_errors == 0


def test_the_data_request_answer_takes_only_its_own_states(app, world, tally):
    """`state` is the answer form's field: a claim state such as "accepted" is refused."""
    filed = world.data_request
    client = signed_in_client(app, tally, world.agent)
    path = url_for("cns.data_request", request_id=filed.id)
    refused = outcome_of(client, path, {"state": "accepted", "answer": "Done."})
    assert refused.status == 400 and not refused.changed_anything
    db.session.expire_all()
    assert db.session.get(DataRequest, filed.id).state == "open"
    assert tally.server_errors == 0


def test_an_activation_code_goes_to_the_matricule_typed(app, world, tally):
    form = _issue_activation(world)
    client = signed_in_client(app, tally, world.doctor)
    response = client.post(url_for("doctor.issue_activation"), data={
        **form.data, "patient_id": str(world.victim.profile.id), "doctor_id": str(world.other_doctor.profile.id),
    })
    assert response.status_code == 200
    code = db.session.scalars(select(ActivationCode).order_by(ActivationCode.id.desc())).first()
    assert code.patient.matricule == form.data["matricule"]
    assert code.doctor_id == world.doctor.profile.id
    assert tally.server_errors == 0
