"""The erasure sweep: after patient A erases their account through the page, no table
holds anything that points to A, outside a short declared allow-list."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from portal.core import clock
from portal.extensions import db
from portal.models import (
    Account,
    AccountStatus,
    AuditEvent,
    Claim,
    ClaimState,
    ConsentReceipt,
    Credential,
    DataRequest,
    ErasureTombstone,
    Invoice,
    Patient,
    Statement,
)
from portal.privacy import personal_data
from tests.fixtures.clients import fresh_code, page, sign_in, text_of
from tests.privacy.erasure_world import build

ERASE = "/patient/my-data/erase"

# Every table the sweep has been taught about. A table added to the schema (and declared in
# personal_data) fails the sweep until someone decides here what may remain of A in it.
KNOWN_TABLES = frozenset({
    "patient", "account", "credential", "recovery_code", "user_session", "terms_decision", "guardian_link",
    "activation_code", "identity_request", "outbox_message", "invoice", "invoice_line", "invoice_report",
    "claim", "claim_event", "statement", "statement_line", "consent_receipt", "notification", "data_export",
    "data_request", "audit_event", "erasure_tombstone", "act", "terms_version", "doctor", "cns_staff",
    "registry_guardian", "guardian_request", "activation_flow", "pending_reactivation", "contact_code",
    "security_alert", "account_block", "stored_document", "maintenance_window", "help_request", "help_reply",
    "claim_count",  # numbers per fund, state and channel: no personal data (portal/privacy/personal_data.py)
})

# The allow-list: (table, column) → which rows may still carry one of A's identifiers there.
def _not_paid_yet(row) -> bool:
    """Open, or accepted with its payment date still ahead: the IBAN waits for the payment."""
    if row["state"] in ClaimState.OPEN:
        return True
    payment = db.session.scalar(select(Statement.payment_date).where(Statement.claim_id == row["id"]))
    return row["state"] == ClaimState.ACCEPTED and payment is not None and payment >= clock.today()


# Kept claims not yet paid credit A's bank account; kept invoices show the printed matricule.
ALLOWED = {
    ("claim", "iban"): lambda row, kept: row["id"] in kept["claims"] and _not_paid_yet(row),
    ("invoice", "patient_matricule"): lambda row, kept: row["id"] in kept["invoices"],
}


@pytest.fixture
def world(app, make_patient, make_doctor, make_staff, make_invoice, make_claim):
    return build(app, make_patient, make_doctor, make_staff, make_invoice, make_claim)


def _erase(w, **overrides):
    w.eraser.get(ERASE)
    data = {"password": w.a.password, "code": fresh_code(w.a), "confirmation": "erase", **overrides}
    return w.eraser.post(f"{ERASE}?lang=en", data=data)


def _rows(table) -> list[dict]:
    return [dict(row) for row in db.session.execute(select(table)).mappings()]


def _text(value) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return value if isinstance(value, str) else ""


def _ids_in_json(value, suffix: str):
    """Values of keys ending in `suffix`, at any depth of a JSON column."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key.endswith(suffix):
                yield item
            yield from _ids_in_json(item, suffix)
    elif isinstance(value, list):
        for item in value:
            yield from _ids_in_json(item, suffix)


def _touches(row: dict, patients: set, accounts: set) -> bool:
    for column, value in row.items():
        if column.endswith("patient_id") and value in patients or patients & set(_ids_in_json(value, "patient_id")):
            return True
        if column.endswith("account_id") and value in accounts or accounts & set(_ids_in_json(value, "account_id")):
            return True
    return False


def _about(w) -> dict:
    """B's and the child's rows, everywhere, to compare before and after. Rows that also
    name A (A acting in the child's space) are the sweep's business, not this comparison's."""
    people, accounts = {w.ids["b"], w.ids["child"]}, {w.ids["b_account"], w.ids["child_account"]}
    found = {}
    for table in db.metadata.sorted_tables:
        for row in _rows(table):
            mine = _touches(row, people, accounts) or (table.name == "patient" and row["id"] in people) \
                or (table.name == "account" and row["id"] in accounts)
            if mine and not _touches(row, {w.ids["a"]}, {w.ids["a_account"]}):
                found[(table.name, tuple(row[c.name] for c in table.primary_key))] = row
    return found


def _files(folder: Path) -> set[str]:
    return {path.name for path in folder.iterdir()} if folder.exists() else set()


def test_the_sweep_finds_nothing_of_the_erased_patient(app, world):
    w = world
    pid, aid = w.ids["a"], w.ids["a_account"]
    markers = w.markers
    before = _about(w)
    counts = {name: len(_rows(db.metadata.tables[name])) for name in ("act", "terms_version", "doctor", "cns_staff")}
    uploads = Path(app.instance_path) / "uploads"
    assert set(w.files_a) | set(w.files_b) <= _files(uploads)

    response = _erase(w)
    assert response.status_code == 303 and response.headers["Location"] == "/erased"

    db.session.expire_all()
    tombstone = db.session.scalar(select(ErasureTombstone))
    kept_claims = {claim.id for claim in db.session.scalars(select(Claim).where(Claim.retained_by_id == tombstone.id))}
    kept = {"claims": kept_claims,
            "invoices": set(db.session.scalars(select(Claim.invoice_id).where(Claim.id.in_(kept_claims))))}
    # Every submitted claim is kept; the withdrawn one is gone.
    assert kept_claims == {w.ids[s] for s in ("accepted", "shared", "rejected", "info_requested")}
    assert db.session.get(Claim, w.ids["withdrawn"]) is None

    assert set(personal_data.TABLES) == KNOWN_TABLES, "teach the sweep about the new table"
    problems = []
    for table in db.metadata.sorted_tables:
        assert table.name in KNOWN_TABLES, f"the sweep does not know the table {table.name}"
        for row in _rows(table):
            where = f"{table.name} {row.get('id', '')}"
            for column, value in row.items():
                if column.endswith("patient_id") and value == pid or pid in _ids_in_json(value, "patient_id"):
                    problems.append(f"{where}.{column}: A's patient id")
                if column.endswith("account_id") and value == aid or aid in _ids_in_json(value, "account_id"):
                    problems.append(f"{where}.{column}: A's account id")
                allowed = ALLOWED.get((table.name, column))
                for what, marker in markers.items():
                    if marker in _text(value) and not (allowed and allowed(row, kept)):
                        problems.append(f"{where}.{column}: A's {what}")
    assert problems == []

    assert _files(uploads).isdisjoint(w.files_a), "a file of A's is still on disk"
    assert set(w.files_b) <= _files(uploads)
    assert w.copied.get("/patient/").headers["Location"].startswith("/login?next=")
    assert w.eraser.get("/patient/").headers["Location"].startswith("/login?next=")
    after = _about(w)
    assert {key: after.get(key) for key in before} == before, "B's or the child's data changed"
    assert counts == {name: len(_rows(db.metadata.tables[name])) for name in counts}


def test_what_remains_is_detached_frozen_and_filed_under_the_tombstone(world):
    w = world
    _erase(w)
    db.session.expire_all()
    tombstone = db.session.scalar(select(ErasureTombstone))
    assert tombstone.legal_basis and tombstone.scope["claims_kept"] == 4 and tombstone.scope["account"] == 1
    claim = db.session.get(Claim, w.ids["accepted"])
    assert (claim.patient_id, claim.retained_by_id) == (None, tombstone.id) and claim.frozen_at is not None
    assert claim.statement.number == w.ids["statement"]
    assert db.session.get(Invoice, claim.invoice_id).patient_id is None
    answered = db.session.get(Claim, w.ids["info_requested"])
    patient_steps = [e for e in answered.events if e.actor_role == "patient"]
    assert patient_steps and all(e.message is None and e.document_name is None for e in patient_steps)
    assert any(e.message for e in answered.events if e.actor_role == "cns")  # the fund's question stays
    erased = db.session.scalar(select(AuditEvent).where(AuditEvent.event == "account.erased"))
    assert erased.data["tombstone"] == tombstone.reference
    assert (erased.patient_id, erased.actor_account_id, erased.ip) == (None, None, None)
    subjects = db.session.scalars(select(AuditEvent).where(AuditEvent.event == "claim.viewed")).all()
    assert any(event.data.get("subject") == tombstone.reference for event in subjects)
    register = db.session.scalar(select(DataRequest).where(DataRequest.kind == "erasure"))
    assert (register.reference, register.state, register.patient_id) == (tombstone.reference, "done", None)
    correction = db.session.scalars(select(DataRequest).where(DataRequest.kind == "correction",
                                                             DataRequest.patient_id.is_(None))).one()
    assert correction.message is None


def test_the_final_page_shows_the_reference_once(world):
    w = world
    _erase(w)
    reference = db.session.scalar(select(ErasureTombstone.reference))
    first = w.eraser.get("/erased?lang=en")
    assert first.status_code == 200 and reference in text_of(first)
    assert reference not in text_of(w.eraser.get("/erased?lang=en"))


def test_a_parent_erasing_ends_the_links_and_leaves_the_child_alone(world):
    w = world
    child_account = w.ids["child_account"]
    _erase(w)
    db.session.expire_all()
    child = db.session.get(Patient, w.ids["child"])
    assert child is not None and child.account_id == child_account
    assert db.session.get(Account, child_account).status == AccountStatus.ACTIVE
    consent = db.session.scalar(select(ConsentReceipt).where(ConsentReceipt.patient_id == child.id))
    assert consent is not None and consent.account_id is None


@pytest.mark.parametrize("wrong", ["password", "code", "confirmation"])
def test_wrong_input_erases_nothing(world, wrong):
    w = world
    credential = db.session.get(Credential, w.ids["a_account"])
    db.session.refresh(credential)
    last_step = credential.totp_last_step
    typo = {"password": {"password": "not my password"}, "code": {"code": "000000"},
            "confirmation": {"confirmation": "yes"}}[wrong]
    if wrong == "code" and fresh_code(w.a) == "000000":
        typo = {"code": "111111"}
    response = _erase(w, **typo)
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(Patient, w.ids["a"]) is not None
    assert db.session.get(Account, w.ids["a_account"]).status == AccountStatus.ACTIVE
    assert db.session.scalar(select(ErasureTombstone)) is None
    credential = db.session.get(Credential, w.ids["a_account"])
    if wrong == "confirmation":  # a typo in the word costs nothing and uses no code
        assert credential.failed_attempts == 0 and credential.totp_last_step == last_step
    else:
        assert credential.failed_attempts == 1
    assert w.eraser.get("/patient/").status_code == 200


def test_repeated_failures_lock_the_account(world):
    w = world
    for _ in range(5):
        _erase(w, password="still not my password")
    response = _erase(w)  # right this time, but the account is locked
    assert response.status_code == 400 and "locked" in text_of(response)
    assert db.session.get(Patient, w.a.profile.id) is not None


def test_erasure_is_refused_from_a_childs_space(world):
    w = world
    w.eraser.post("/patient/space", data={"space": str(w.child.profile.id)})
    page = w.eraser.get(f"{ERASE}?lang=en")
    assert "concerns your own account" in text_of(page)
    assert w.eraser.post(ERASE, data={"password": w.a.password, "code": fresh_code(w.a),
                                      "confirmation": "erase"}).status_code == 403
    assert db.session.get(Patient, w.a.profile.id) is not None


def test_the_page_lists_what_goes_and_what_the_fund_keeps(world):
    w = world
    text = text_of(w.eraser.get(f"{ERASE}?lang=en"))
    assert "recovery codes" in text and "17(3)(b)" in text
    for state in ("accepted", "shared", "rejected", "info_requested"):
        assert w.claims[state].reference in text
    assert w.claims["withdrawn"].reference not in text
    assert w.claims["accepted"].statement.number in text


def test_staff_see_a_kept_claim_as_restricted(app, world):
    w = world
    claim_id = w.ids["accepted"]
    _erase(w)
    staff = app.test_client()
    sign_in(staff, w.staff)
    page = staff.get(f"/cns/claims/{claim_id}?lang=en")
    assert page.status_code == 200 and "Patient erased; kept by legal obligation" in text_of(page)
    assert staff.get("/cns/claims?lang=en").status_code == 200


def test_a_claim_in_review_is_decided_and_paid_after_the_erasure_then_its_iban_goes(world, app, make_claim):
    """The fund must pay what a patient submitted before erasing: the claim stays decidable,
    is paid to the IBAN kept for it, and that IBAN goes once the payment date is past."""
    w = world
    in_review = make_claim(w.a, w.doctor, w.staff, state="in_review")
    db.session.commit()
    claim_id, iban = in_review.id, w.a.profile.iban
    # Before erasing, the patient sees which claims will still be processed and paid, and where.
    before = w.eraser.get(f"{ERASE}?lang=en")
    notice = page(before).select_one("#erase-still-paid").get_text(" ", strip=True)
    assert in_review.reference in notice and iban[-4:] in notice and "only until the claim is paid" in notice
    erased = _erase(w)
    assert erased.status_code == 303, text_of(erased)
    db.session.expire_all()
    claim = db.session.get(Claim, claim_id)
    assert (claim.patient_id, claim.frozen_at, claim.iban) == (None, None, iban)
    # A question nobody can answer any more: back to review. Decided claims are paid: no IBAN.
    assert db.session.get(Claim, w.ids["info_requested"]).state == ClaimState.IN_REVIEW
    assert db.session.get(Claim, w.ids["rejected"]).iban is None
    # Accepted before the erasure, its payment date still ahead: the IBAN waits for the payment.
    accepted_earlier = db.session.get(Claim, w.ids["accepted"])
    assert accepted_earlier.statement.payment_date >= clock.today() and accepted_earlier.iban == iban

    agent = app.test_client()
    sign_in(agent, w.staff)
    detail = page(agent.get(f"/cns/claims/{claim_id}?lang=en"))
    assert detail.select_one("form[action$='/accept']") is not None
    assert detail.select_one("form[action$='/request-info']") is None  # nobody could answer
    amount = f"{claim.computed_cents // 100}.{claim.computed_cents % 100:02d}"
    response = agent.post(f"/cns/claims/{claim_id}/accept", data={"version": claim.version, "amount": amount})
    assert response.status_code == 303, text_of(response)
    db.session.expire_all()
    claim = db.session.get(Claim, claim_id)
    assert claim.state == ClaimState.ACCEPTED and claim.reimbursed_cents == claim.computed_cents
    assert claim.iban == iban  # kept until the payment is made
    assert app.test_cli_runner().invoke(args=["purge"]).exit_code == 0
    assert db.session.get(Claim, claim_id).iban == iban  # not paid yet
    clock.freeze(datetime.combine(claim.statement.payment_date + timedelta(days=1), time(9), tzinfo=UTC))
    output = app.test_cli_runner().invoke(args=["purge"]).output
    assert "paid_ibans: 2" in output  # this claim and the one accepted before the erasure
    db.session.expire_all()
    assert db.session.get(Claim, claim_id).iban is None
    removed = db.session.scalars(select(AuditEvent).where(AuditEvent.event == "claim.iban_removed")).all()
    assert {event.data["claim_id"] for event in removed} == {claim_id, w.ids["rejected"], w.ids["accepted"]}
    assert all(iban not in json.dumps(event.data) for event in removed)
