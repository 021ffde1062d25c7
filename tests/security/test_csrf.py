"""Cross-site request forgery: every route that accepts POST refuses a request whose token
is missing, belongs to another person's session, has expired, or comes in an htmx header
from another session. Each refusal is the portal's own 400 page, in the visitor's language,
and leaves the database and the upload folder exactly as they were.

The same request with the person's own fresh token then goes through, so every case could
fail: a route that refused everything would not pass.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest
from flask_babel import force_locale
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from portal.accounts import blocking, guardian_register, security_alerts
from portal.activation import codes
from portal.claims import qr
from portal.core.errors import CSRF_MESSAGE, MESSAGES
from portal.core.identity import make_iban
from portal.extensions import db
from portal.helpdesk import requests as helpdesk
from portal.models import IdentityRequest, OutboxMessage
from portal.privacy import rights
from tests.conftest import make_app
from tests.fixtures.activation import awaiting_check, waiting_reactivation
from tests.fixtures.claims import direct_question, new_claim
from tests.fixtures.clients import fresh_code, page, step_up, text_of
from tests.fixtures.figures import Tally
from tests.fixtures.images import jpeg
from tests.fixtures.invoices import new_invoice
from tests.web.test_access import EXPECTED

NEW_PASSWORD = "violet tractor under the bridge"


# --- Tokens and clients ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def csrf_app(app):
    return make_app(WTF_CSRF_ENABLED=True)


def token_in(response) -> str:
    """The CSRF token a page hands out: in a form, or in the htmx headers of the page body."""
    document = page(response)
    field_ = document.select_one("input[name=csrf_token]")
    if field_ is not None:
        return field_["value"]
    return json.loads(document.body["hx-headers"])["X-CSRFToken"]


def anonymous(tally: Tally, app):
    client = tally.client(app)
    client.get("/login?lang=en")  # English, and a CSRF secret in the session
    return client


def signed_in_with_tokens(tally: Tally, app, person):
    """Signs in through the real forms, each POST carrying the token of the page it came from."""
    client = anonymous(tally, app)
    response = client.post("/login", data={
        "login": person.login, "password": person.password, "csrf_token": token_in(client.get("/login")),
    })
    assert response.status_code == 303 and response.headers["Location"] == "/login/code", text_of(response)
    response = client.post("/login/code", data={
        "code": fresh_code(person), "csrf_token": token_in(client.get("/login/code")),
    })
    assert response.status_code == 303, text_of(response)
    return client


def own_token(client) -> str:
    return token_in(client.get("/account/sessions" if _is_signed_in(client) else "/login"))


def _is_signed_in(client) -> bool:
    with client.session_transaction() as session:
        return "sid" in session


def session_row_id(client) -> str:
    """The id of the client's user_session row (the cookie holds the token, the row its digest)."""
    with client.session_transaction() as session:
        return hashlib.sha256(session["sid"].encode()).hexdigest()


def backdated_token(app, client, age_seconds: int) -> str:
    """The client's own CSRF secret, signed `age_seconds` ago, as a page loaded then carried it.

    Flask-WTF dates its tokens with itsdangerous's clock, not portal.core.clock, so the token is
    signed with an older timestamp instead of moving the portal's clock."""
    with client.session_transaction() as session:
        secret = session["csrf_token"]

    class Backdated(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - age_seconds

    serializer = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="wtf-csrf-token", signer=Backdated)
    return serializer.dumps(secret)


def is_csrf_refusal(response, language: str = "en") -> bool:
    if response.status_code != 400:
        return False
    with force_locale(language):
        title, message = str(MESSAGES[400][0]), str(CSRF_MESSAGE)
    document = page(response)
    return document.html is not None and document.html.get("lang") == language and \
        document.find("h1").get_text(strip=True) == title and message in text_of(response)


# --- What the database holds ---------------------------------------------------------------------

# Written by every signed-in request a few seconds apart (portal/accounts/sessions.py): not an effect.
IGNORED_COLUMNS = {("user_session", "last_activity_at")}
REFERENCE_TABLES = {"act"}


def snapshot(app) -> dict:
    """Every row of every table (reference data aside), and the stored upload files."""
    state = {}
    for table in db.metadata.sorted_tables:
        if table.name in REFERENCE_TABLES:
            continue
        columns = [column for column in table.columns if (table.name, column.name) not in IGNORED_COLUMNS]
        state[table.name] = sorted(repr(tuple(row)) for row in db.session.execute(db.select(*columns)))
    uploads = Path(app.instance_path) / "uploads"
    state["uploads/"] = sorted(path.name for path in uploads.glob("*")) if uploads.exists() else []
    return state


def changed_tables(before: dict, after: dict) -> list[str]:
    return sorted(name for name in before if before[name] != after[name])


# --- A world where every POST route has something real to act on --------------------------------


@dataclass
class World:
    people: dict
    ids: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)


@pytest.fixture
def world(people, make_patient):
    patient, doctor, staff = people["patient"], people["doctor"], people["cns"]
    staff.profile.is_administrator = True  # publishes terms; no other case depends on it
    shareable = new_invoice(patient, doctor)
    reported = new_invoice(patient, doctor)
    voidable = new_invoice(patient, doctor)
    paper = new_invoice(patient, doctor, paid_on_site=False)
    shared = new_claim(patient, doctor)
    frozen = new_claim(patient, doctor)
    rights.freeze(frozen, by=patient.account)
    asked = new_claim(patient, doctor, staff, state="info_requested")
    waiting = new_claim(patient, doctor)
    in_review = new_claim(patient, doctor, staff, state="in_review")
    rejected = new_claim(patient, doctor, staff, state="rejected")  # by this agent, just now: undoable
    doctor.profile.iban = make_iban("LU", "0019400644750001")  # the fund can pay this doctor directly
    direct_asked = direct_question(patient, doctor, staff)
    question = helpdesk.file("claim", "When is my claim paid?", account=patient.account, patient=patient.profile)
    correction = rights.request_correction(patient.profile, "name", "My name has an accent.", by=patient.account)
    newcomer = make_patient(with_account=False, given_name="Luc", surname="Hoffmann")
    code, token = codes.issue(newcomer.profile, doctor=doctor.profile, document_type="identity_card",
                              document_last4="AB12", mobile="+352621123456")
    applicant = make_patient(with_account=False, given_name="Anne", surname="Schmit")
    identity = IdentityRequest(
        reference="csrf-test-request", matricule=applicant.profile.matricule, surname="Schmit", given_name="Anne",
        birth_date=applicant.profile.birth_date, mobile="+352621000111", patient_id=applicant.profile.id,
    )
    db.session.add(identity)
    kin = make_patient(with_account=False, given_name="Mia", surname="Hoffmann", birth=date(2016, 4, 4))
    sibling = make_patient(with_account=False, given_name="Ben", surname="Hoffmann", birth=date(2017, 5, 5))
    guardian_requests = [guardian_register.request_link(child.profile, patient.profile, doctor.profile)
                         for child in (kin, sibling)]
    check = awaiting_check(make_patient(with_account=False, given_name="Noé", surname="Nocontact").profile,
                           doctor.profile)
    returning = waiting_reactivation(make_patient(given_name="Lou", surname="Lostphone").account)
    blocked = make_patient(given_name="Eva", surname="Blocked")
    blocking.block(blocked.account, source="alert", reason="This wasn't me.")
    alerted = make_patient(given_name="Tom", surname="Alerted")
    security_alerts.announce(alerted.account, alerted.profile, "password_changed")
    db.session.commit()
    alert = db.session.scalars(db.select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
    return World(people=people, ids={
        "blocked": blocked.account.id, "doctor_account": doctor.account.id,
        "shareable": shareable.id, "reported": reported.id, "voidable": voidable.id, "shared": shared.id,
        "frozen": frozen.id, "asked": asked.id, "direct_asked": direct_asked.invoice_id, "waiting": waiting.id, "in_review": in_review.id,
        "in_review_version": in_review.version, "rejected": rejected.id, "rejected_version": rejected.version,
        "correction": correction.id, "code": code.id, "help": question.id,
        "identity": identity.id, "guardian_confirm": guardian_requests[0].id,
        "guardian_refuse": guardian_requests[1].id, "activation_check": check.id, "reactivation": returning.id,
    }, extra={"token": token, "paper_payload": qr.qr_payload(paper), "newcomer": newcomer.profile.matricule,
                     "newcomer_birth": newcomer.profile.birth_date.isoformat(),
                     "alert_token": re.search(r"/not-me/(\S+)", alert.body)[1]})


# --- One case per POST route ----------------------------------------------------------------------

@dataclass
class Case:
    role: str | None  # None: a visitor who is not signed in
    data: Callable[[World], dict] = lambda world: {}
    args: Callable[[World], dict] = lambda world: {}
    changes: bool = False  # with a valid token, the request must change the database
    multipart: bool = False


def _sign_in_data(world):
    person = world.people["patient"]
    return {"login": person.login, "password": person.password}


CASES: dict[str, Case] = {
    # Signing in and activating: anyone.
    "auth.login": Case(None, _sign_in_data),
    "auth.code": Case(None, lambda w: {"code": "123456"}),
    "auth.recovery": Case(None, lambda w: {"code": "abcd-efgh"}),
    "auth.enrol": Case(None, lambda w: {"code": "123456"}),
    "auth.new_password": Case(None, lambda w: {"new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD}),
    "auth.unlock": Case(None, lambda w: {"password": "anything at all"}),
    "auth.forgot": Case(None, lambda w: {
        "login": w.people["patient"].login, "code": fresh_code(w.people["patient"]),
    }, changes=True),  # a code goes to the register's contact
    # Without a reset begun in this browser: the forged request is refused before that matters.
    "auth.forgot_confirm": Case(None, lambda w: {"code": "123456", "new_password": NEW_PASSWORD,
                                                 "confirm": NEW_PASSWORD}),
    "auth.recovery_codes_download": Case(None, lambda w: {"codes": ["abcd-efgh"]}),
    "public.block": Case(None, lambda w: {"login": w.people["patient"].login},
                         changes=True),  # a code goes to the register's contact
    # Without a block begun in this browser: the forged request is refused before that matters.
    "public.block_confirm": Case(None, lambda w: {"code": "123456"}),
    "public.not_me": Case(None, args=lambda w: {"token": w.extra["alert_token"]}, changes=True),
    "activation.start": Case(None, lambda w: {"code": codes.grouped(w.extra["token"])}),
    "activation.proceed": Case(None, lambda w: {"birth_date": "1980-05-17"}),
    "activation.resend_code": Case(None),
    "patient.cancel_reactivation": Case("patient"),
    # Without the sum the page asks, nothing is filed: the case shows the token is checked first.
    "public.help": Case(None, lambda w: {"name": "Anne", "email": "anne@example.lu", "category": "account",
                                         "message": "I cannot sign in.", "answer": "7"}),
    "patient.help": Case("patient", lambda w: {"category": "claim", "message": "A question."}, changes=True,
                         multipart=True),
    "doctor.help": Case("doctor", lambda w: {"category": "invoice", "message": "A question."}, changes=True,
                        multipart=True),
    "cns.help_request": Case("cns", lambda w: {"body": "The answer."}, args=lambda w: {"request_id": w.ids["help"]},
                             changes=True),
    "cns.confirm_activation_check": Case("cns", lambda w: {"checked": "y"},
                                         args=lambda w: {"code_id": w.ids["activation_check"]}, changes=True),
    "cns.waive_reactivation": Case("cns", lambda w: {"checked": "y"},
                                   args=lambda w: {"reactivation_id": w.ids["reactivation"]}, changes=True),
    "activation.identity_request": Case(None, lambda w: {
        "matricule": w.extra["newcomer"], "surname": "Hoffmann", "given_name": "Luc", "birth_date": "1980-05-17",
        "mobile": "+352 621 000 111", "email": "", "consent": "y", "document": (io.BytesIO(jpeg()), "id.jpg"),
    }, changes=True, multipart=True),
    # Any signed-in person.
    "auth.logout": Case("patient", changes=True),
    "auth.keepalive": Case("patient"),
    "auth.terms_accept": Case("doctor", lambda w: {"accept": "y", "submit": "1"}),
    "auth.change_password": Case("doctor", lambda w: {
        "current_password": w.people["doctor"].password, "code": fresh_code(w.people["doctor"]),
        "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD,
    }, changes=True),
    "auth.end_session": Case("cns", args=lambda w: {"session_id": w.extra["other_session"]}, changes=True),
    "auth.end_other_sessions": Case("patient", changes=True),
    # The patient.
    "patient.switch_space": Case("patient", lambda w: {"space": "self"}),
    "patient.share": Case("patient", lambda w: {"invoice": str(w.ids["shareable"])}, changes=True),
    "patient.bank_account": Case("patient", lambda w: {"iban": make_iban("LU", "0019400644750000"),
                                                       **step_up(w.people["patient"])}, changes=True),
    "patient.settings": Case("patient", lambda w: {"auto_share": "y"}, changes=True),
    # Nothing waits for a code in this browser: refused, with or without a token.
    "patient.confirm_contact": Case("patient", lambda w: {"mobile": "123456"}),
    "patient.message_settings": Case("patient", lambda w: {"statement-email": "y", "language": "de"}, changes=True),
    "patient.report_invoice": Case("patient", lambda w: {"message": "The act C1 was billed twice."},
                                   args=lambda w: {"invoice_id": w.ids["reported"]}, changes=True),
    "patient.withdraw_claim": Case("patient", args=lambda w: {"claim_id": w.ids["shared"]}, changes=True),
    "patient.freeze_claim": Case("patient", args=lambda w: {"claim_id": w.ids["shared"]}, changes=True),
    "patient.unfreeze_claim": Case("patient", args=lambda w: {"claim_id": w.ids["frozen"]}, changes=True),
    "patient.answer_claim": Case("patient", lambda w: {"message": "Here is the prescription."},
                                 args=lambda w: {"claim_id": w.ids["asked"]}, changes=True, multipart=True),
    "patient.contact_details": Case("patient", lambda w: {
        "mobile": "+352 621 999 888", "email": "marie@example.lu", "language": "en", **step_up(w.people["patient"]),
    }, changes=True),
    "patient.correction_request": Case("patient", lambda w: {"registry_field": "name", "message": "Krémer"},
                                       changes=True),
    "patient.objection": Case("patient", lambda w: {"objects": "y"}, changes=True),
    "patient.export_request": Case("patient", changes=True),
    "patient.withdraw_consent": Case("patient", lambda w: {"understood": "y"}, changes=True),
    "patient.restore_consent": Case("patient"),
    "patient.erase": Case("patient", lambda w: {
        "password": w.people["patient"].password, "code": fresh_code(w.people["patient"]), "confirmation": "ERASE",
    }, changes=True),
    # The doctor.
    "doctor.new_invoice": Case("doctor", lambda w: {
        "matricule": w.people["patient"].profile.matricule, "service_date": date.today().isoformat(),
        "lines-0-code": "C1", "lines-0-quantity": "1", "paid_on_site": "yes", "payer_is_patient": "yes",
        "submit": "1",
    }, changes=True),
    "doctor.bank_account": Case("doctor", lambda w: {"iban": make_iban("LU", "0019400644750000"),
                                                     **step_up(w.people["doctor"])}, changes=True),
    "doctor.void_invoice": Case("doctor", lambda w: {"reason": "Wrong act billed."},
                                args=lambda w: {"invoice_id": w.ids["voidable"]}, changes=True),
    "doctor.answer_question": Case("doctor", lambda w: {"message": "A consultation, C1."},
                                   args=lambda w: {"invoice_id": w.ids["direct_asked"]}, changes=True, multipart=True),
    "doctor.issue_activation": Case("doctor", lambda w: {
        "matricule": w.extra["newcomer"], "birth_date": w.extra["newcomer_birth"], "document_type": "identity_card", "document_last4": "ZX98",
        "mobile": "+352621123456", "language": "fr", "identity_checked": "y",
    }, changes=True),
    "doctor.activation_letter_pdf": Case("doctor", lambda w: {"token": w.extra["token"]},
                                         args=lambda w: {"code_id": w.ids["code"]}),
    "doctor.revoke_activation": Case("doctor", args=lambda w: {"code_id": w.ids["code"]}, changes=True),
    # CNS staff.
    "cns.take_up_claim": Case("cns", args=lambda w: {"claim_id": w.ids["waiting"]}, changes=True),
    "cns.accept_claim": Case("cns", lambda w: {"version": str(w.ids["in_review_version"]), "amount": "50.00", "confirmed": "y",
                                               "reason": "tariff"},
                             args=lambda w: {"claim_id": w.ids["in_review"]}, changes=True),
    "cns.reject_claim": Case("cns", lambda w: {"version": str(w.ids["in_review_version"]), "reason": "duplicate",
                                               "confirmed": "y"},
                             args=lambda w: {"claim_id": w.ids["in_review"]}, changes=True),
    "cns.undo_decision": Case("cns", lambda w: {"version": str(w.ids["rejected_version"])},
                              args=lambda w: {"claim_id": w.ids["rejected"]}, changes=True),
    "cns.request_info": Case("cns", lambda w: {"version": str(w.ids["in_review_version"]),
                                               "question": "Please send the prescription."},
                             args=lambda w: {"claim_id": w.ids["in_review"]}, changes=True),
    "cns.data_request": Case("cns", lambda w: {"state": "done", "answer": "Corrected."},
                             args=lambda w: {"request_id": w.ids["correction"]}, changes=True),
    "cns.approve_identity_request": Case("cns", args=lambda w: {"request_id": w.ids["identity"]}, changes=True),
    "cns.reject_identity_request": Case("cns", lambda w: {"reason": "unreadable", "note": ""},
                                        args=lambda w: {"request_id": w.ids["identity"]}, changes=True),
    "cns.confirm_guardian_request": Case("cns", lambda w: {"document_checked": "y"},
                                         args=lambda w: {"request_id": w.ids["guardian_confirm"]}, changes=True),
    "cns.refuse_guardian_request": Case("cns", args=lambda w: {"request_id": w.ids["guardian_refuse"]},
                                        changes=True),
    "cns.paper_intake": Case("cns", lambda w: {"payload": w.extra["paper_payload"]}, changes=True),
    "cns.admin_block": Case("cns", lambda w: {"block-reason": "Phone lost."},
                            args=lambda w: {"account_id": w.ids["doctor_account"]}, changes=True),
    "cns.admin_unblock": Case("cns", lambda w: {"unblock-reason": "Owner checked."},
                              args=lambda w: {"account_id": w.ids["blocked"]}, changes=True),
    "cns.admin_deactivate": Case("cns", lambda w: {"deactivate-reason": "Left.", "deactivate-confirm": "y"},
                                 args=lambda w: {"account_id": w.ids["doctor_account"]}, changes=True),
    "cns.terms_versions": Case("cns", lambda w: {  # world's agent is an administrator
        "text_fr": "Conditions.", "text_de": "Bedingungen.", "text_en": "Terms.", "confirm": "y",
        "code": fresh_code(w.people["cns"]),
    }, changes=True),
}


def post_rules(app) -> dict[str, object]:
    return {rule.endpoint: rule for rule in app.url_map.iter_rules() if "POST" in rule.methods}


def test_every_route_that_accepts_post_has_a_csrf_case(csrf_app):
    endpoints = set(post_rules(csrf_app))
    assert endpoints == set(CASES), f"add or remove CSRF cases: {sorted(endpoints ^ set(CASES))}"
    for endpoint, case in CASES.items():
        rule = EXPECTED[endpoint]
        allowed = case.role is None or rule in ("any", "signed_in") or case.role in rule
        assert allowed, f"{endpoint}: {case.role} may not use it"


def test_the_token_lifetime_is_the_configured_hour(csrf_app):
    # None would mean "never expires"; the README promises a token that ages out.
    assert csrf_app.config["WTF_CSRF_TIME_LIMIT"] == 3600


@pytest.mark.parametrize("endpoint", sorted(CASES))
def test_a_forged_post_is_refused_and_changes_nothing(csrf_app, world, make_patient, make_doctor, make_staff,
                                                      tally, figures, endpoint):
    case = CASES[endpoint]
    others = {"patient": make_patient, "doctor": make_doctor, "cns": make_staff}
    if case.role is None:
        client = anonymous(tally, csrf_app)
        # Another person's session: someone signed in elsewhere, whose page the attacker saw.
        stranger = signed_in_with_tokens(tally, csrf_app, make_patient())
    else:
        client = signed_in_with_tokens(tally, csrf_app, world.people[case.role])
        stranger = signed_in_with_tokens(tally, csrf_app, others[case.role]())
    if endpoint in ("auth.end_session", "auth.end_other_sessions"):
        # A second session of the same person: the one a valid request ends.
        second = signed_in_with_tokens(tally, csrf_app, world.people[case.role])
        world.extra["other_session"] = session_row_id(second)
    path = csrf_app.url_map.bind("localhost").build(endpoint, case.args(world))
    foreign = own_token(stranger)
    own_token(client)  # the client's own session holds a CSRF secret: a foreign token is a mismatch
    expired = backdated_token(csrf_app, client, csrf_app.config["WTF_CSRF_TIME_LIMIT"] + 60)

    forgeries = {
        "missing": ({}, {}),
        "foreign": ({"csrf_token": foreign}, {}),
        "expired": ({"csrf_token": expired}, {}),
        "foreign htmx header": ({}, {"HX-Request": "true", "X-CSRFToken": foreign}),
    }
    before = snapshot(csrf_app)
    for name, (token, headers) in forgeries.items():
        kwargs = {"content_type": "multipart/form-data"} if case.multipart else {}
        response = client.post(path, data={**case.data(world), **token}, headers=headers, **kwargs)
        assert is_csrf_refusal(response), f"{endpoint} with a {name} token: {response.status_code} {text_of(response)[:200]}"
        figures.add("security.csrf.refused")
        assert changed_tables(before, snapshot(csrf_app)) == [], f"{endpoint} with a {name} token changed data"

    # The same request with the person's own fresh token is not refused, and does its work.
    kwargs = {"content_type": "multipart/form-data"} if case.multipart else {}
    response = client.post(path, data={**case.data(world), "csrf_token": own_token(client)}, **kwargs)
    assert not is_csrf_refusal(response), f"{endpoint} refused a valid token"
    assert response.status_code < 500
    if case.changes:
        assert changed_tables(before, snapshot(csrf_app)), f"{endpoint} with a valid token changed nothing: " \
            f"{response.status_code} {text_of(response)[:300]}"


def test_a_token_a_little_under_an_hour_old_still_works(csrf_app, people, tally):
    client = signed_in_with_tokens(tally, csrf_app, people["patient"])
    own_token(client)
    nearly = backdated_token(csrf_app, client, csrf_app.config["WTF_CSRF_TIME_LIMIT"] - 60)
    assert client.post("/session/keepalive", data={"csrf_token": nearly}).status_code == 200
    late = backdated_token(csrf_app, client, csrf_app.config["WTF_CSRF_TIME_LIMIT"] + 1)
    assert is_csrf_refusal(client.post("/session/keepalive", data={"csrf_token": late}))


def test_a_refused_sign_out_leaves_the_session_working(csrf_app, people, tally):
    client = signed_in_with_tokens(tally, csrf_app, people["patient"])
    assert is_csrf_refusal(client.post("/logout"))
    assert client.get("/patient/").status_code == 200
    assert client.post("/logout", data={"csrf_token": own_token(client)}).status_code == 303
    assert client.get("/patient/").headers["Location"].startswith("/login")


def test_an_htmx_request_with_its_own_header_token_goes_through(csrf_app, people, tally):
    # The page's <body hx-headers> carries the token; htmx posts send it as X-CSRFToken.
    client = signed_in_with_tokens(tally, csrf_app, people["patient"])
    header = json.loads(page(client.get("/patient/")).body["hx-headers"])["X-CSRFToken"]
    response = client.post("/session/keepalive", headers={"HX-Request": "true", "X-CSRFToken": header})
    assert response.status_code == 200 and not is_csrf_refusal(response)


@pytest.mark.parametrize("language", ["fr", "de", "en"])
def test_the_refusal_is_in_the_visitors_language(csrf_app, tally, language):
    client = tally.client(csrf_app)
    client.get(f"/login?lang={language}")
    response = client.post("/login", data={"login": "someone", "password": "something"})
    assert is_csrf_refusal(response, language)
    if language != "en":
        with force_locale("en"):
            english = str(CSRF_MESSAGE)
        assert english not in text_of(response), "the CSRF message is not translated"
