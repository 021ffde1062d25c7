"""Fuzzing: hypothesis fills every form endpoint with hostile and random values.

Every rule accepting POST, and every GET rule that reads its query string (filters, sort
orders, pages, searches), is fuzzed signed in as each role and anonymously; each role's
requests also go to the other roles' endpoints, where they must be refused. The field names
come from the portal's own form classes (tests/security/fuzz_forms.py). Every response must
be below 500, show no traceback, echo no generated <, > or " unescaped, and be a whole page,
a fragment htmx asked for, a file the route serves, or a redirect.

FUZZ_EXAMPLES sets the examples per endpoint and role (40: about 5,000 requests, a minute on
SQLite on two cores). Refused endpoints get a fifth, since the guard answers them before any
form is read; buttons without fields a sixth. A ten times longer run, by hand:
FUZZ_EXAMPLES=400 .venv/bin/pytest tests/security/test_fuzz.py --timeout=3000
"""

from __future__ import annotations

import hashlib
import itertools
import os
import secrets
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest
from flask import g
from hypothesis import HealthCheck, given, settings

from portal.accounts import consent, terms
from portal.claims import qr
from portal.core import clock
from portal.extensions import db
from portal.invoicing import invoices
from portal.models import AccountStatus, IdentityRequest, UserSession
from portal.privacy import rights
from tests.fixtures.clients import sign_in
from tests.security.fuzz_forms import FuzzRequest, Target, requests_for, targets
from tests.web.test_access import ANY, EXPECTED, SIGNED_IN

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))
REFUSED_EXAMPLES = max(1, EXAMPLES // 5)
ROLES = (None, "patient", "doctor", "cns")

# These end the very session they are sent in (signing out; withdrawing consent suspends the
# account and ends every session). In the signed-in pass they would leave the remaining
# examples signed out, so they have their own test, which signs in again before each example.
SELF_ENDING = frozenset({"auth.logout", "patient.withdraw_consent"})

TRACEBACK_MARKERS = ("Traceback (most recent call last)", 'File "/', "werkzeug.debug", "__debugger__",
                     "Werkzeug Debugger", "sqlalchemy.exc", "psycopg.errors", "jinja2.exceptions")
FILE_TYPES = {"application/pdf", "text/plain", "application/zip", "image/svg+xml", "application/json"}
# Routes that only ever answer with a fragment: the "stay signed in" button posts here by htmx.
FRAGMENTS = frozenset({"auth.keepalive"})
# Where a redirect goes when the session is gone, locked or waiting for the terms.
SIGNED_OUT = ("/login", "/unlock", "/terms/", "/erased", "/patient/my-data")
NEW_PASSWORD = "violet tractor under the bridge"


def examples_for(target: Target, role: str | None) -> int:
    if not may_use(role, target.endpoint):
        return REFUSED_EXAMPLES
    # A route without fields (a button) varies only by stray fields and bodies: fewer suffice.
    return EXAMPLES if target.fields else max(2, EXAMPLES // 6)


def may_use(role: str | None, endpoint: str) -> bool:
    expected = EXPECTED[endpoint]
    if expected == ANY:
        return True
    if expected == SIGNED_IN:
        return role is not None
    return role in expected


# --- What every response must be ---------------------------------------------------------------

def unescaped_echo(value: str, body: str) -> str | None:
    """The part of `value` around its first <, > or " if it appears verbatim in `body`.

    A window of at least 8 characters keeps the page's own markup (`">`, `<a`) from
    passing for an echo; an escaped echo (&lt;, &#34;) never matches."""
    for candidate in {value, value.strip()}:
        first = min((candidate.find(ch) for ch in '<>"' if ch in candidate), default=-1)
        if first < 0:
            continue
        window = candidate[max(0, first - 24): first + 24]
        if len(window) >= 8 and window in body:
            return window
    return None


def problems_with(response, request: FuzzRequest, *, endpoint: str, allowed: bool) -> dict[str, str]:
    found = {}
    status = response.status_code
    body = response.get_data().decode("utf-8", "replace")  # a PDF or a ZIP is searched for tracebacks too
    if status >= 500:
        found["5xx"] = f"status {status}"
    marker = next((m for m in TRACEBACK_MARKERS if m in body), None)
    if marker:
        found["tracebacks"] = marker
    mimetype = response.mimetype
    if mimetype in ("text/html", "image/svg+xml"):
        echoed = next((w for w in (unescaped_echo(s, body) for s in request.strings) if w), None)
        if echoed:
            found["unescaped_reflections"] = repr(echoed)
    improper = _improper(response, request, endpoint=endpoint, body=body)
    if improper:
        found["improper"] = improper
    # An htmx request is redirected with 200 and HX-Redirect (to sign in, or to the terms).
    if not allowed and 200 <= status < 300 and not response.headers.get("HX-Redirect"):
        found["unauthorised_2xx"] = f"status {status}"
    return found


def _improper(response, request: FuzzRequest, *, endpoint: str, body: str) -> str | None:
    """What is wrong with the answer's form: a redirect, a page, a fragment or a file."""
    status, mimetype = response.status_code, response.mimetype
    if 300 <= status < 400:
        return None if response.headers.get("Location") else "a redirect without a Location"
    if response.headers.get("HX-Redirect") or status == 204:
        return None
    if mimetype == "text/html":
        partial = (request.headers.get("HX-Request") and not request.headers.get("HX-Boosted")) or endpoint in FRAGMENTS
        if not partial and not body.lstrip().lower().startswith("<!doctype html"):
            return "an HTML answer that is not a whole page"
        return None
    if mimetype not in FILE_TYPES:
        return f"an answer of type {mimetype}"
    return None


class Fuzzer:
    """Sends the generated requests and counts what came back."""

    def __init__(self):
        self.counts: Counter[str] = Counter()
        self.statuses: Counter[tuple[str, int]] = Counter()

    def send(self, client, request: FuzzRequest, *, role: str | None, allowed: bool, endpoint: str):
        self.counts["requests"] += 1
        try:
            response = client.open(
                request.path, method=request.method, data=request.body, content_type=request.content_type,
                headers=request.headers, environ_overrides={"QUERY_STRING": request.query_string.decode("latin-1")},
            )
        except Exception:
            # TESTING propagates exceptions: in production this request is a 500.
            self.counts["5xx"] += 1
            raise
        self.statuses[(endpoint, response.status_code)] += 1
        found = problems_with(response, request, endpoint=endpoint, allowed=allowed)
        for name in found:
            self.counts[name] += 1
        assert not found, (f"{endpoint} as {role or 'anonymous'}: {found}\n{request!r}\n"
                           f"{response.get_data()[:1500]!r}")
        return response

    def report(self, figures) -> None:
        figures.add("security.fuzz.requests", self.counts["requests"])
        figures.add("security.requests", self.counts["requests"])
        figures.add("security.fuzz.5xx", self.counts["5xx"])
        figures.add("security.5xx", self.counts["5xx"])
        figures.add("security.fuzz.tracebacks", self.counts["tracebacks"])
        figures.add("security.fuzz.unescaped_reflections", self.counts["unescaped_reflections"])
        figures.add("security.fuzz.unauthorised_2xx", self.counts["unauthorised_2xx"])
        figures.add("security.unauthorised_2xx", self.counts["unauthorised_2xx"])


# --- Who sends them ------------------------------------------------------------------------------

_ADDRESSES = itertools.count(1)


class Session:
    """One browser for one person, kept usable between examples.

    Examples share the session; when a response says it was lost (signed out, locked, new
    terms to accept, the account locked by failed attempts), the account is put back in
    order and the person signs in again before the next example."""

    def __init__(self, app, person):
        self.client = app.test_client()
        self.person = person
        self.lost = person is not None
        self._move()

    def _move(self) -> None:
        # The fuzzed requests spend the per-address limits of signing in (and get 429s, a
        # proper answer); signing in again, and the other tests, start from a fresh address.
        serial = next(_ADDRESSES)
        self.client.environ_base["REMOTE_ADDR"] = f"10.{serial >> 16 & 255}.{serial >> 8 & 255}.{serial & 255}"

    def ready(self) -> None:
        if not self.lost:
            return
        _restore(self.person)
        if not self._alive():
            self._move()
            response = sign_in(self.client, self.person)
            assert response.status_code == 303, response.headers
        self.lost = False

    def _alive(self) -> bool:
        with self.client.session_transaction() as cookie:
            token = cookie.get("sid")
        if not token:
            return False
        row = db.session.get(UserSession, hashlib.sha256(token.encode()).hexdigest())
        return row is not None and row.revoked_at is None and row.locked_at is None

    def after(self, response) -> None:
        location = response.headers.get("Location") or response.headers.get("HX-Redirect") or ""
        path = urlsplit(location).path
        if self.person is not None and (path == "/" or path.startswith(SIGNED_OUT)):
            self.lost = True


def _restore(person) -> None:
    """Undo what a fuzzed request may have done to the account itself."""
    db.session.expire_all()
    account = person.account
    account.credential.failed_attempts = 0
    account.credential.locked_until = None
    if account.status == AccountStatus.SUSPENDED:
        consent.restore(person.profile, account)
    g.pop("terms_version", None)  # terms.* keep the version for the request; this is not one
    version = terms.current_version()
    if version is not None and terms.needs_decision(account):
        terms.decide(account, version, accepted=True)  # a fuzzed staff request published new terms
    g.pop("terms_version", None)
    db.session.commit()


def fuzz(fuzzer: Fuzzer, session: Session, target: Target, world, *, role, examples: int) -> None:
    allowed = may_use(role, target.endpoint)

    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                     HealthCheck.data_too_large, HealthCheck.large_base_example])
    @given(request=requests_for(target, world.good, world.ids))
    def one_request(request):
        session.ready()
        response = fuzzer.send(session.client, request, role=role, allowed=allowed, endpoint=target.endpoint)
        session.after(response)

    one_request()


# --- The world the requests land in ---------------------------------------------------------------

@dataclass
class World:
    people: dict
    targets: list[Target]
    good: dict[str, list[str]]
    ids: dict[str, list]


@pytest.fixture
def world(app, people, make_patient, make_doctor, make_invoice, make_claim, issue_code):
    """Real objects for every object route, other people's among them, and plausible values
    for the fields, so that many requests get past validation into the domain code."""
    patient, doctor, staff = people["patient"], people["doctor"], people["cns"]
    other_patient = make_patient(given_name="Paul", surname="Hoffmann", birth=date(1975, 3, 2))
    other_doctor = make_doctor(name="Dr Luc Weber")
    no_account = make_patient(given_name="Lena", surname="Muller", birth=date(1990, 7, 1), with_account=False)
    today = clock.today()

    free = make_invoice(patient, doctor)
    paper = make_invoice(patient, doctor, paid_on_site=False)
    voided = make_invoice(patient, doctor)
    invoices.void(voided, "Wrong act")
    other_invoice = make_invoice(other_patient, other_doctor)
    shared = make_claim(patient, doctor)
    asked = make_claim(patient, doctor, staff, state="info_requested")
    in_review = make_claim(patient, doctor, staff, state="in_review")
    other_claim = make_claim(other_patient, other_doctor, staff)
    code, token = issue_code(no_account.profile, doctor.profile)
    other_code, _ = issue_code(other_patient.profile, other_doctor.profile)
    filed = IdentityRequest(
        reference=secrets.token_urlsafe(18), matricule=no_account.profile.matricule, surname="Muller",
        given_name="Lena", birth_date=date(1990, 7, 1), mobile="+352621123456", document_name="0" * 32,
        document_type="image/jpeg", patient_id=no_account.profile.id,
    )
    db.session.add(filed)
    correction = rights.request_correction(patient.profile, "name", "My surname is misspelt.", by=patient.account)
    other_sessions = []
    for person in (patient, doctor, staff):
        row = UserSession(id=secrets.token_hex(32), account_id=person.account.id)
        db.session.add(row)
        other_sessions.append(row.id)
    db.session.commit()

    good = {
        "matricule": [patient.login, other_patient.login, no_account.profile.matricule, "1980051712345"],
        "guardian_matricule": [patient.login],
        "login": [patient.login, doctor.login, staff.login],
        "version": [str(in_review.version), str(asked.version), "0"],
        "amount": ["57.70", "57,7", "0", "10.00"],
        "reason": ["The act was billed twice.", "not_covered", "other", "duplicate"],
        "note": ["Please call the fund."],
        "question": ["Please send the prescription."],
        "answer": ["Corrected in the register."],
        "message": ["The date of service is wrong."],
        "code": ["123456", "C1", "ABCD-EFGH-JKMN"],
        "iban": ["LU280019400644750000", "DE89370400440532013000"],
        "mobile": ["+352621123456", "621 123 456"],
        "email": ["marie@example.lu"],
        "birth_date": [patient.profile.birth_date.isoformat(), "1990-07-01"],
        "service_date": [(today - timedelta(days=3)).isoformat(), today.isoformat()],
        "date_from": [(today - timedelta(days=30)).isoformat()],
        "date_to": [today.isoformat()],
        "payload": [qr.qr_payload(paper), "LUINV:forged"],
        "invoice": [str(free.id), str(other_invoice.id)],
        "space": ["self", str(other_patient.profile.id)],
        "codes": ["ABCD-EFGH-JKMN"],
        "doctor": [doctor.login, str(doctor.profile.id)],
        "document_last4": ["AB12"],
        "new_password": [NEW_PASSWORD],
        "confirm": [NEW_PASSWORD, "y"],
        "confirmation": ["ERASE", "erase"],
        "text_fr": ["Conditions"], "text_de": ["Bedingungen"], "text_en": ["Terms"],
        "lines-N-code": ["C1", "C2", "K1"],
        "lines-N-quantity": ["1", "2"],
        "replaces": [str(voided.id)],
        "token": [token],
        "page": ["1", "2", "0", "10001"],
        "after": ["1:1", "0:1", "-5:3"],
        "before": ["1:1"],
        "next": ["/patient/", "//evil.example", "/\t/evil.example", "https://evil.example/", "/cns/claims?x=<b>"],
        "q": ["C1", "consultation", "%"],
    }
    ids = {
        "invoice_id": [free.id, paper.id, voided.id, shared.invoice_id, other_invoice.id],
        "claim_id": [shared.id, asked.id, in_review.id, other_claim.id],
        "code_id": [code.id, other_code.id],
        "request_id": [filed.id, correction.id],
        "event_id": [event.id for event in asked.events],
        "session_id": other_sessions,
        "token": [token],
        "reference": [filed.reference],
    }
    return World(people, targets(app), good, ids)


# --- The tests --------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ROLES, ids=["anonymous", "patient", "doctor", "cns"])
def test_every_form_endpoint_survives_hostile_input(app, world, figures, role):
    fuzzer = Fuzzer()
    session = Session(app, world.people[role] if role else None)
    fuzzed = set()
    try:
        for target in world.targets:
            if role is not None and target.endpoint in SELF_ENDING:
                continue
            fuzz(fuzzer, session, target, world, role=role, examples=examples_for(target, role))
            fuzzed.add(target.endpoint)
    finally:
        fuzzer.report(figures)
    every = {target.endpoint for target in world.targets} - (SELF_ENDING if role else set())
    assert fuzzed == every
    # The fuzzed requests reached the views, not only the guard, on each endpoint this role
    # may use (a 400 with field errors counts: the form was read).
    served = {endpoint for (endpoint, status), _n in fuzzer.statuses.items() if status not in (403, 429)}
    unreached = {endpoint for endpoint in every if may_use(role, endpoint)} - served
    assert not unreached, f"no request got an ordinary answer on {sorted(unreached)}"


@pytest.mark.parametrize("role", ROLES[1:])
def test_requests_that_end_the_session_survive_hostile_input(app, world, figures, role):
    fuzzer = Fuzzer()
    session = Session(app, world.people[role])
    try:
        for target in world.targets:
            if target.endpoint not in SELF_ENDING:
                continue
            allowed = may_use(role, target.endpoint)
            examples = max(3, EXAMPLES // 2) if allowed else REFUSED_EXAMPLES
            session.lost = True  # signed in afresh before each example the last one signed out
            fuzz(fuzzer, session, target, world, role=role, examples=examples)
    finally:
        fuzzer.report(figures)
    assert fuzzer.counts["requests"] >= 2



# --- The fuzzer's own checks --------------------------------------------------------------------

def test_the_fuzzer_fills_the_fields_of_the_real_forms(app):
    found = {(target.endpoint, target.method): {f.name for f in target.fields} for target in targets(app)}
    assert {"version", "amount", "reason"} <= found[("cns.accept_claim", "POST")]
    assert {"block-reason"} <= found[("cns.admin_block", "POST")]  # a form read by a decorator
    assert {"matricule", "service_date", "lines-0-code", "lines-0-quantity"} <= found[("doctor.new_invoice", "POST")]
    assert {"birth_date", "new_password", "code"} <= found[("activation.proceed", "POST")]  # each step's form
    assert {"state", "amount_min", "sort", "after"} <= found[("cns.claims", "GET")]
    posting = {rule.endpoint for rule in app.url_map.iter_rules() if "POST" in rule.methods}
    assert posting == {endpoint for endpoint, method in found if method == "POST"}


def test_the_reflection_check_tells_an_echo_from_an_escaped_one():
    value = '"><img src=x onerror=alert(1)>'
    assert unescaped_echo(value, f'<input value="{value}">')
    assert not unescaped_echo(value, '<input value="&#34;&gt;&lt;img src=x onerror=alert(1)&gt;">')
    assert not unescaped_echo('">', '<a href="/">')  # too short to tell from the page's own markup
