"""An error after the first of several writes leaves nothing behind: all or nothing.

Each action below writes several rows in one transaction (a claim, its consent receipt, its
audit row; a decision, its statement, its notice, its audit row; an erasure across every
table). Its last write step is made to fail after the earlier rows were flushed to the
database; the person gets the portal's error page, and every table holds exactly what it held
before, row for row, and every stored file is still there with no new one beside it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import current_app

from portal import audit
from portal.activation import codes
from portal.claims import sharing, states
from portal.core import clock
from portal.extensions import db
from portal.models import ClaimEvent
from portal.privacy import erasure, export
from tests.conftest import make_app
from tests.fixtures import pdfs
from tests.fixtures.activation import sent_code
from tests.fixtures.claims import new_claim
from tests.fixtures.clients import fresh_code, page, sign_in_committed, text_of
from tests.fixtures.factories import PASSWORD, new_patient
from tests.fixtures.invoices import new_invoice
from tests.web.test_pages import translated


class Fault(RuntimeError):
    """The failure injected into the last write step."""


def snapshot() -> dict[str, set[str]]:
    """Every row of every table, all its columns (written out: JSON columns hold dicts)."""
    try:
        return {
            table.name: {repr(tuple(row)) for row in db.session.execute(table.select())}
            for table in db.metadata.sorted_tables
        }
    finally:
        db.session.commit()  # on SQLite an open read would hold the write lock the request needs


def stored_files() -> set[str]:
    """The stored files, placed or still waiting for their transaction (portal.documents.uploads)."""
    found = set()
    for name in ("uploads", "uploads-pending"):
        folder = Path(current_app.instance_path) / name
        found |= {f"{name}/{path.name}" for path in folder.iterdir()} if folder.exists() else set()
    return found


def differences(before: dict[str, set[str]], after: dict[str, set[str]]) -> tuple[int, int]:
    """(rows lost, rows left behind): a changed row counts once as each."""
    lost = sum(len(before[name] - after[name]) for name in before)
    left = sum(len(after[name] - before[name]) for name in after)
    return lost, left


class LastStep:
    """Wraps a write step: the steps before it have run and are flushed; this one fails.

    `written` is the database as the failing transaction saw it at that moment, to prove
    that rows were really there before the rollback."""

    def __init__(self, monkeypatch, owner, name: str, *, when=lambda *args, **kwargs: True):
        self.original = getattr(owner, name)
        self.when = when
        self.written: dict[str, int] | None = None
        monkeypatch.setattr(owner, name, self)

    def __call__(self, *args, **kwargs):
        if not self.when(*args, **kwargs):
            return self.original(*args, **kwargs)
        db.session.flush()
        self.written = {table.name: db.session.scalar(db.select(db.func.count()).select_from(table))
                        for table in db.metadata.sorted_tables}
        raise Fault("injected after the first writes")


def on_event(event):
    return lambda event_type, *args, **kwargs: event_type is event


@pytest.fixture(scope="module")
def faulty_app(app):
    # Errors answer with the portal's 500 page, as in production, instead of reaching the test.
    return make_app(PROPAGATE_EXCEPTIONS=False)


@pytest.fixture(autouse=True)
def _objects_stay_loaded(app_ctx):
    session = db.session()
    session.expire_on_commit = False
    yield
    session.expire_on_commit = True


def all_or_nothing(browser, step: LastStep, path: str, data: dict, figures, lang: str = "en"):
    clock.freeze(clock.now())  # no session activity is written meanwhile: the request alone changes rows
    before, files_before = snapshot(), stored_files()
    response = browser.post(path, data=data)
    after, files_after = snapshot(), stored_files()

    assert step.written is not None, "the injected fault never ran"
    touched = {name: count - len(before[name]) for name, count in step.written.items() if count != len(before[name])}
    assert touched, "nothing had been written when the fault struck: the test proves nothing"
    lost, left = differences(before, after)
    figures.add("faults.partial_write.requests")
    figures.add("faults.partial_write.rows_rolled_back", sum(abs(n) for n in touched.values()))
    figures.add("faults.rows_lost", lost + len(files_before - files_after))
    figures.add("faults.partial_rows", left + len(files_after - files_before))

    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert page(response).html["lang"] == lang
    assert translated("Something went wrong", lang) in text_of(response)
    assert "Traceback" not in html and "injected" not in html and "Fault" not in html
    assert (lost, left) == (0, 0), {name: (before[name] ^ after[name]) for name in before if before[name] != after[name]}
    assert files_after == files_before, "files changed although the transaction failed"
    return touched


@pytest.mark.committing
def test_a_share_that_fails_at_its_audit_row_leaves_no_claim(faulty_app, people, monkeypatch, figures):
    patient, doctor = people["patient"], people["doctor"]
    invoice = new_invoice(patient, doctor)
    browser = sign_in_committed(faulty_app, patient, lang="en")
    step = LastStep(monkeypatch, audit, "record", when=on_event(audit.CLAIM_SHARED))
    touched = all_or_nothing(browser, step, "/patient/invoices/share", {"invoice": str(invoice.id), "submit": "1"},
                           figures)
    assert {"claim", "claim_event", "consent_receipt"} <= set(touched)


@pytest.mark.committing
@pytest.mark.parametrize("lang", ["fr", "de", "en"])
def test_a_decision_that_fails_at_its_audit_row_leaves_no_statement(faulty_app, people, monkeypatch, figures, lang):
    claim = new_claim(people["patient"], people["doctor"], people["cns"], state="in_review")
    browser = sign_in_committed(faulty_app, people["cns"], lang=lang)
    step = LastStep(monkeypatch, audit, "record", when=on_event(audit.CLAIM_DECIDED))
    data = {"version": claim.version, "amount": f"{claim.computed_cents / 100:.2f}"}
    touched = all_or_nothing(browser, step, f"/cns/claims/{claim.id}/accept", data, figures, lang)
    assert {"statement", "statement_line", "notification", "claim_event"} <= set(touched)


@pytest.mark.committing
def test_a_question_that_fails_at_its_audit_row_sends_no_notice(faulty_app, people, monkeypatch, figures):
    claim = new_claim(people["patient"], people["doctor"], people["cns"], state="in_review")
    browser = sign_in_committed(faulty_app, people["cns"], lang="en")
    step = LastStep(monkeypatch, audit, "record", when=on_event(audit.CLAIM_INFO_REQUESTED))
    data = {"version": claim.version, "question": "Please send the prescription."}
    touched = all_or_nothing(browser, step, f"/cns/claims/{claim.id}/request-info", data, figures)
    assert {"notification", "claim_event"} <= set(touched)


@pytest.mark.committing
def test_an_invoice_shared_automatically_that_fails_at_its_notice_is_not_issued(faulty_app, people, monkeypatch,
                                                                                figures):
    patient, doctor = people["patient"], people["doctor"]
    patient.profile.is_auto_share = True
    db.session.commit()
    browser = sign_in_committed(faulty_app, doctor, lang="en")
    step = LastStep(monkeypatch, states, "notify")
    data = {
        "matricule": patient.profile.matricule, "service_date": clock.today().isoformat(),
        "lines-0-code": "C1", "lines-0-quantity": "1", "paid_on_site": "yes", "payer_is_patient": "yes",
        "submit": "Issue the invoice",
    }
    touched = all_or_nothing(browser, step, "/doctor/invoices/new", data, figures)
    assert {"invoice", "invoice_line", "claim", "consent_receipt", "audit_event"} <= set(touched)


def _documents_of(patient, doctor, staff) -> None:
    """An answered question with a document and an older export: files erasure must keep
    until its transaction commits."""
    claim = new_claim(patient, doctor, staff, state="info_requested")
    sharing.answer(claim, "Here it is.", by=patient.account, document=pdfs.scan(text="Prescription"),
                  filename="prescription.pdf")
    export.create(patient.profile, by=patient.account, language="en")
    db.session.commit()


@pytest.mark.committing
def test_an_erasure_that_fails_at_its_last_step_erases_nothing(faulty_app, people, monkeypatch, figures):
    patient = people["patient"]
    _documents_of(patient, people["doctor"], people["cns"])
    assert db.session.scalar(db.select(db.func.count()).select_from(ClaimEvent)
                             .where(ClaimEvent.document_name.is_not(None))) == 1
    browser = sign_in_committed(faulty_app, patient, lang="en")
    code = fresh_code(patient)  # moves the clock on to the next code
    db.session.commit()
    browser.get("/patient/my-data")  # the session's activity is written now, not by the erasure
    step = LastStep(monkeypatch, erasure, "_pseudonymise")
    data = {"password": PASSWORD, "code": code, "confirmation": "ERASE"}
    touched = all_or_nothing(browser, step, "/patient/my-data/erase", data, figures)
    assert {"account", "patient", "credential", "user_session", "erasure_tombstone"} <= set(touched)
    # Nothing was erased: the patient signs in again as before.
    assert sign_in_committed(faulty_app, patient, lang="en").get("/patient/").status_code == 200


@pytest.mark.committing
def test_an_export_that_fails_at_its_audit_row_keeps_the_previous_export(faulty_app, people, monkeypatch,
                                                                         figures):
    patient = people["patient"]
    export.create(patient.profile, by=patient.account, language="en")
    db.session.commit()
    browser = sign_in_committed(faulty_app, patient, lang="en")
    step = LastStep(monkeypatch, audit, "record", when=on_event(audit.EXPORT_CREATED))
    touched = all_or_nothing(browser, step, "/patient/my-data/export", {}, figures)
    assert {"data_request"} <= set(touched)


@pytest.mark.committing
def test_a_redemption_that_fails_at_its_audit_row_leaves_the_code_usable(faulty_app, people, monkeypatch, figures):
    patient = new_patient(with_account=False)
    _code, token = codes.issue(patient.profile, doctor=people["doctor"].profile, document_type="identity_card",
                               document_last4="AB12", mobile="+352621123456")
    db.session.commit()
    birth = patient.profile.birth_date.isoformat()
    browser = faulty_app.test_client()
    browser.get("/?lang=en")
    assert browser.get(f"/activate/{token}").headers["Location"] == "/activate/continue"
    assert browser.post("/activate/continue", data={"birth_date": birth}).status_code == 303
    sent = {"contact_code": sent_code(patient.profile)}
    db.session.commit()
    step = LastStep(monkeypatch, audit, "record", when=on_event(audit.ACTIVATION_REDEEMED))
    touched = all_or_nothing(browser, step, "/activate/continue", sent, figures)
    assert {"audit_event"} <= set(touched)  # the contact code's check was written first
    # Neither code was used up: the redemption works once the fault is gone.
    monkeypatch.setattr(audit, "record", step.original)
    assert browser.post("/activate/continue", data=sent).status_code == 303
