"""Hostile input on every form a person fills in, and on the addresses they follow.

Bodies over the size limit or with 10,000 fields, bytes that are not UTF-8, control
characters (NUL, which PostgreSQL refuses outright), absurd dates, amounts and numbers: each
is answered 400 (413 for size) with the error next to the field, never 5xx, and saves nothing
— and the same form without the hostile value goes through, so the refusal was the value's.

Navigation parameters nobody types (?page=, ?after=, ?before=, ids in the path) are not form
fields: nonsense there gives the first page or a 404, never a 5xx.
"""

from __future__ import annotations

import importlib
import io
import pkgutil
from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select
from wtforms import Form as PlainForm

import portal
from portal.activation import codes
from portal.claims import qr
from portal.core import clock
from portal.core.forms import BaseForm
from portal.core.identity import make_iban
from portal.documents import uploads
from portal.extensions import db
from portal.helpdesk import requests as helpdesk
from portal.models import (
    ActivationCode,
    Claim,
    Credential,
    DataRequest,
    IdentityRequest,
    Invoice,
    Patient,
)
from portal.privacy import rights
from tests.fixtures.claims import direct_question, new_claim
from tests.fixtures.clients import fresh_code, in_english, page, sign_in, step_up, text_of
from tests.fixtures.factories import PASSWORD
from tests.fixtures.images import jpeg
from tests.fixtures.invoices import new_invoice

NOT_ALLOWED = "This text contains a character that is not allowed."
NEW_PASSWORD = "violet tractor under the old bridge"

# --- Counting what is sent, and proving nothing was saved ---------------------------------------

# Reading a page writes its access row and a refused sign-in its trace: the audit trail may grow
# on a refused request, no other table may.
NOT_COUNTED = {"audit_event"}


def row_counts() -> Counter:
    db.session.expire_all()
    return Counter({
        table.name: db.session.scalar(select(func.count()).select_from(table))
        for table in db.metadata.sorted_tables if table.name not in NOT_COUNTED
    })


def saved_state() -> tuple:
    """What the forms update in place rather than by adding rows."""
    db.session.expire_all()
    return (
        db.session.execute(select(Patient.id, Patient.iban, Patient.mobile, Patient.email, Patient.is_auto_share,
                                  Patient.objects_to_statistics).order_by(Patient.id)).all(),
        db.session.execute(select(Credential.account_id, Credential.password_hash, Credential.failed_attempts)
                           .order_by(Credential.account_id)).all(),
        db.session.execute(select(Claim.id, Claim.state, Claim.version).order_by(Claim.id)).all(),
        db.session.execute(select(Invoice.id, Invoice.voided_at).order_by(Invoice.id)).all(),
        db.session.execute(select(DataRequest.id, DataRequest.state).order_by(DataRequest.id)).all(),
        db.session.execute(select(IdentityRequest.id, IdentityRequest.status).order_by(IdentityRequest.id)).all(),
    )


class Probe:
    """Sends requests and counts them; a 5xx, or an exception escaping the portal (the test
    app propagates what would be a 500 page), fails at once."""

    def __init__(self):
        self.requests = self.server_errors = self.hostile = self.rows_saved = 0

    def send(self, client, method: str, url: str, *, hostile: bool = True, **kwargs):
        self.requests += 1
        self.hostile += hostile
        try:
            response = client.open(url, method=method, **kwargs)
        except Exception as error:
            self.server_errors += 1
            raise AssertionError(f"{method} {url} failed inside the portal: {error!r}") from error
        if response.status_code >= 500:
            self.server_errors += 1
            raise AssertionError(f"{method} {url} answered {response.status_code}")
        assert b"Traceback (most recent call last)" not in response.get_data()
        return response

    @contextmanager
    def nothing_saved(self, what: str):
        before, was = row_counts(), saved_state()
        yield
        after, now = row_counts(), saved_state()
        grown = {name: after[name] - before[name] for name in after if after[name] > before[name]}
        self.rows_saved += sum(grown.values()) + (was != now)
        assert not grown, f"{what}: rows saved {grown}"
        assert was == now, f"{what}: data changed"

    def report(self, figures) -> None:
        figures.add("security.requests", self.requests)
        figures.add("security.5xx", self.server_errors)
        figures.add("security.hostile_inputs", self.hostile)
        figures.add("security.rows_saved_from_bad_input", self.rows_saved)


@pytest.fixture
def probe(figures):
    sent = Probe()
    yield sent
    sent.report(figures)


# --- A desk with something for every form to act on ----------------------------------------------


@pytest.fixture
def desk(app, people, make_patient):
    patient, doctor, staff = people["patient"], people["doctor"], people["cns"]
    staff.profile.is_administrator = True  # publishes terms of use; no other form depends on it
    newcomer = make_patient(with_account=False, given_name="Paul", surname="Hoffmann")
    in_review = [new_claim(patient, doctor, staff, state="in_review", days_ago=3 + n) for n in range(3)]
    filed = IdentityRequest(
        reference="hostile-input-test-ref", matricule=newcomer.profile.matricule, surname="Hoffmann",
        given_name="Paul", birth_date=newcomer.profile.birth_date, mobile="+352621000111", language="en",
        document_name=uploads.store(jpeg()), document_type="image/jpeg", patient_id=newcomer.profile.id,
    )
    db.session.add(filed)
    correction = rights.request_correction(patient.profile, "name", "My surname has an accent.", by=patient.account)
    question = helpdesk.file("claim", "When is my claim paid?", account=patient.account, patient=patient.profile)
    doctor.profile.iban = make_iban("LU", "0019400644750001")  # the fund can pay this doctor directly
    direct_asked = direct_question(patient, doctor, staff)
    db.session.commit()
    clients = {}
    for role in ("patient", "doctor", "cns"):
        clients[role] = app.test_client()
        sign_in(clients[role], people[role])
        in_english(clients[role])
    return SimpleNamespace(
        app=app, patient=patient, doctor=doctor, staff=staff, newcomer=newcomer, clients=clients,
        asked=new_claim(patient, doctor, staff, state="info_requested", days_ago=8),
        to_report=new_invoice(patient, doctor, days_ago=9), to_void=new_invoice(patient, doctor, days_ago=10),
        paper=new_invoice(patient, doctor, days_ago=11, paid_on_site=False),
        accept=in_review[0], reject=in_review[1], ask=in_review[2], correction=correction, filed=filed,
        question=question, direct_asked=direct_asked,
    )


def client_for(desk, role: str | None):
    if role in desk.clients:
        return desk.clients[role]
    client = in_english(desk.app.test_client())
    if role == "pending":  # past the password, waiting for the code
        assert client.post("/login", data={"login": desk.patient.login, "password": PASSWORD}).status_code == 303
    return client


# --- The forms, their fields and what each field holds --------------------------------------------

@dataclass(frozen=True)
class Form:
    name: str
    role: str | None  # None: anyone, "pending": half signed in
    url: Callable
    data: Callable  # desk -> the clean submission, which the portal accepts
    # field -> text, secret, hidden (carried from an earlier page), date, birth_date, amount, quantity,
    # version, choice, flag
    kinds: dict[str, str]
    accepted: int | None = 303  # the clean submission's answer; None: not tried (it would erase the account)
    shows_errors: bool = True  # False: refused with the plain 400 page (a form of buttons only)
    multipart: bool = False

    def __str__(self):
        return self.name


def _document():
    return (io.BytesIO(jpeg()), "identity-card.jpg", "image/jpeg")


FORMS = [
    # the patient
    Form("bank account", "patient", lambda d: "/patient/bank-account",
         lambda d: {"iban": make_iban("LU", "0019400644750000"), **step_up(d.patient)},
         {"iban": "text", "password": "secret", "code": "text"}),
    Form("contact details", "patient", lambda d: "/patient/my-data/contact",
         lambda d: {"mobile": "+352 621 987 654", "email": "marie.kremer@example.lu", "language": "en",
                    **step_up(d.patient)},
         {"mobile": "text", "email": "text", "language": "choice", "password": "secret", "code": "text"}),
    Form("correction request", "patient", lambda d: "/patient/my-data/correction",
         lambda d: {"registry_field": "name", "message": "My surname is Krémer, with an accent."},
         {"registry_field": "choice", "message": "text"}),
    Form("invoice report", "patient", lambda d: f"/patient/invoices/{d.to_report.id}/report",
         lambda d: {"message": "The act code is wrong."}, {"message": "text"}),
    Form("answer to the fund", "patient", lambda d: f"/patient/claims/{d.asked.id}/answer",
         lambda d: {"message": "Here is the prescription you asked for."}, {"message": "text"}),
    Form("doctor's answer to the fund", "doctor", lambda d: f"/doctor/invoices/{d.direct_asked.invoice_id}/answer",
         lambda d: {"message": "A consultation, C1, on the date shown."}, {"message": "text"}, multipart=True),
    Form("message to the fund", "patient", lambda d: "/patient/help",
         lambda d: {"category": "claim", "message": "When will my claim be paid?"},
         {"category": "choice", "message": "text"}, multipart=True),
    Form("automatic sending", "patient", lambda d: "/patient/settings", lambda d: {"auto_share": "y"},
         {"auto_share": "flag"}),
    Form("password change", "patient", lambda d: "/account/password",
         lambda d: {"current_password": PASSWORD, "code": fresh_code(d.patient), "new_password": NEW_PASSWORD,
                    "confirm": NEW_PASSWORD},
         {"current_password": "secret", "code": "text", "new_password": "secret", "confirm": "secret"}),
    Form("erasure", "patient", lambda d: "/patient/my-data/erase",
         # Right but for the field under test: the form checks the password and looks at the code
         # even when the word is wrong (a wrong one would count as a failed attempt).
         lambda d: {"password": PASSWORD, "code": fresh_code(d.patient), "confirmation": "ERASE"},
         {"password": "secret", "code": "text", "confirmation": "text"}, accepted=None),
    # the doctor
    Form("new invoice", "doctor", lambda d: "/doctor/invoices/new",
         lambda d: {"matricule": d.patient.profile.matricule,
                    "service_date": (clock.today() - timedelta(days=2)).isoformat(),
                    "lines-0-code": "C1", "lines-0-quantity": "1", "paid_on_site": "yes", "payer_is_patient": "yes",
                    "settlement": "full", "submit": "1"},
         {"matricule": "text", "service_date": "date", "lines-0-code": "text", "lines-0-quantity": "quantity",
          "paid_on_site": "choice", "payer_is_patient": "choice", "settlement": "choice", "submit": "flag"}),
    Form("doctor's bank account", "doctor", lambda d: "/doctor/bank-account",
         lambda d: {"iban": make_iban("LU", "0019400644750000"), **step_up(d.doctor)},
         {"iban": "text", "password": "secret", "code": "text"}),
    Form("voiding an invoice", "doctor", lambda d: f"/doctor/invoices/{d.to_void.id}/void",
         lambda d: {"reason": "The act code was wrong."}, {"reason": "text"}),
    Form("activation code", "doctor", lambda d: "/doctor/activations",
         lambda d: {"matricule": d.newcomer.profile.matricule, "birth_date": d.newcomer.profile.birth_date.isoformat(),
                    "document_type": "passport", "document_last4": "AB12",
                    "mobile": "+352 621 123 456", "language": "fr", "identity_checked": "y"},
         {"matricule": "hidden", "birth_date": "hidden", "document_type": "choice", "document_last4": "text", "mobile": "text",
          "language": "choice", "identity_checked": "flag"}, accepted=200),
    Form("doctor's message to the fund", "doctor", lambda d: "/doctor/help",
         lambda d: {"category": "invoice", "message": "A code is missing from the list."},
         {"category": "choice", "message": "text"}, multipart=True),
    # CNS staff
    Form("answer to a message", "cns", lambda d: f"/cns/help/{d.question.id}",
         lambda d: {"body": "It was paid on Monday."}, {"body": "text"}),
    Form("accepting a claim", "cns", lambda d: f"/cns/claims/{d.accept.id}/accept",
         lambda d: {"version": str(d.accept.version), "amount": "50.00", "reason": "other",
                    "note": "Only part of the act is covered.", "confirmed": "y"},
         {"version": "version", "amount": "amount", "reason": "choice", "note": "text"}),
    Form("rejecting a claim", "cns", lambda d: f"/cns/claims/{d.reject.id}/reject",
         lambda d: {"version": str(d.reject.version), "reason": "other", "note": "The invoice cannot be read.",
                    "confirmed": "y"},
         {"version": "version", "reason": "choice", "note": "text"}),
    Form("question to the patient", "cns", lambda d: f"/cns/claims/{d.ask.id}/request-info",
         lambda d: {"version": str(d.ask.version), "question": "Please send the prescription."},
         {"version": "version", "question": "text"}),
    Form("paper intake", "cns", lambda d: "/cns/paper-intake",
         lambda d: {"payload": qr.qr_payload(d.paper), "paid_on": clock.today().isoformat(), "is_receipt_seen": "y"},
         {"payload": "text", "paid_on": "date", "is_receipt_seen": "flag"}),
    Form("answer to a correction", "cns", lambda d: f"/cns/data-requests/{d.correction.id}",
         lambda d: {"state": "done", "answer": "Your name is corrected in the register."},
         {"state": "choice", "answer": "text"}),
    Form("identity request rejection", "cns", lambda d: f"/cns/identity-requests/{d.filed.id}/reject",
         lambda d: {"reason": "unreadable", "note": "The photo is blurred."},
         {"reason": "choice", "note": "text"}, shows_errors=False),
    Form("terms of use", "cns", lambda d: "/cns/terms",
         lambda d: {"text_fr": "Conditions d'utilisation.", "text_de": "Nutzungsbedingungen.",
                    "text_en": "Terms of use.", "confirm": "y", "code": fresh_code(d.staff)},
         {"text_fr": "text", "text_de": "text", "text_en": "text", "confirm": "flag", "code": "text"}),
    # anyone
    Form("sign-in", None, lambda d: "/login", lambda d: {"login": d.patient.login, "password": PASSWORD},
         {"login": "text", "password": "secret"}),
    Form("one-time code", "pending", lambda d: "/login/code", lambda d: {"code": fresh_code(d.patient)},
         {"code": "text"}),
    Form("recovery code", "pending", lambda d: "/login/recovery", lambda d: {"code": "ABCD-EFGH-JKLM"},
         {"code": "text"}, accepted=None),
    Form("password reset", None, lambda d: "/forgot",
         lambda d: {"login": d.patient.login, "code": fresh_code(d.patient)},
         {"login": "text", "code": "text"}),
    Form("typed activation code", None, lambda d: "/activate", lambda d: {"code": "ABCD-EFGH-JKMN-PQRS-TVWX"},
         {"code": "text"}),
    # Not tried clean: the sum the page asks is drawn for each page shown.
    Form("message to the fund without signing in", None, lambda d: "/help",
         lambda d: {"name": "Paul Hoffmann", "email": "paul@example.lu", "category": "account",
                    "message": "I lost my phone.", "answer": "7"},
         {"name": "text", "email": "text", "category": "choice", "message": "text", "answer": "text"}, accepted=None),
    Form("identity request", None, lambda d: "/activate/request",
         lambda d: {"matricule": d.newcomer.profile.matricule, "surname": "Hoffmann", "given_name": "Paul",
                    "birth_date": d.newcomer.profile.birth_date.isoformat(), "mobile": "+352 621 000 222",
                    "email": "paul@example.lu", "consent": "y", "document": _document()},
         {"matricule": "text", "surname": "text", "given_name": "text", "birth_date": "birth_date",
          "mobile": "text", "email": "text", "consent": "flag"}, multipart=True),
]

# --- Hostile values per kind of field -----------------------------------------------------------------

ABSURD_DATES = ["0000-01-01", "99999-01-01", "1800-01-01", "2100-01-01", "2024-02-30", "-1", "2024-13-01",
                "01/02/2024", "today", "1e9"]
ABSURD_AMOUNTS = ["-1", "-0.01", "1e309", "NaN", "sNaN", "Infinity", "-Infinity", "100000000000000000000",
                  "1000000000000000000", "1.001", "0.005", "1,000.00", "1 000,00", "12.5.3", "0x10", "1_000",
                  "€50", "50 EUR"]
ABSURD_QUANTITIES = ["-1", "0", "99999999999999999999", "1e3", "NaN", "1.5", "²", "Infinity", "9" * 5000]
FORGED_VERSIONS = ["-1", "99999999999999999999", "2147483648", "NaN", "1.5", "", "²", "9" * 5000]
LONG_TEXT = "a" * 100_001


def hostile_values(kind: str, clean: str) -> list[tuple[str, str]]:
    cases = [("a NUL byte", f"{clean}\x00"), ("a NUL byte alone", "\x00"),
             ("an escape sequence", f"\x1b[2J{clean}"), ("a backspace", f"{clean}\x08\x08")]
    cases += {
        "text": [("100,001 characters", LONG_TEXT)],
        "hidden": [("100,001 characters", LONG_TEXT)],
        "secret": [("100,001 characters", LONG_TEXT)],
        "date": [(f"the date {value!r}", value) for value in ABSURD_DATES],
        "birth_date": [(f"the date {value!r}", value) for value in ABSURD_DATES],
        "amount": [(f"the amount {value!r}", value) for value in ABSURD_AMOUNTS],
        "quantity": [(f"the number {value!r}", value) for value in ABSURD_QUANTITIES],
        "version": [(f"the version {value!r}", value) for value in FORGED_VERSIONS],
        "choice": [("an unknown choice", "no-such-choice")],
    }.get(kind, [])
    return cases


def _submit(probe, client, desk, form: Form, data: dict, *, hostile: bool = True):
    return probe.send(client, "POST", form.url(desk), data=data, hostile=hostile,
                      content_type="multipart/form-data" if form.multipart else None)


def _field_error_shown(response, name: str) -> bool:
    """The field's own error, next to it (or in the summary for a hidden field)."""
    soup = page(response)
    ids = {name} | {element.get("id") for element in soup.select(f"[name='{name}']") if element.get("id")}
    if any(soup.select_one(f"[id='{identifier}-error']") for identifier in ids):
        return True
    summary = soup.select_one(".error-summary")
    return summary is not None and summary.get_text(" ", strip=True) != ""


@pytest.mark.parametrize("form", FORMS, ids=str)
def test_hostile_values_in_every_field_are_refused_next_to_the_field_and_save_nothing(desk, probe, form):
    client = client_for(desk, form.role)
    refused = []
    with probe.nothing_saved(form.name):
        for name, kind in form.kinds.items():
            for label, value in hostile_values(kind, form.data(desk)[name]):
                response = _submit(probe, client, desk, form, {**form.data(desk), name: value})
                if kind == "version":
                    # A forged or stale hidden version is told apart from typing: the claim page
                    # comes back with "someone changed this claim", and nothing is decided.
                    ok = response.status_code == 303 and response.headers["Location"].startswith("/cns/claims/")
                elif kind == "hidden":  # not typed: the page says what is wrong, not next to an input
                    ok = response.status_code == 400 and bool(page(response).select(".flash-error, .error"))
                elif form.shows_errors:
                    ok = response.status_code == 400 and _field_error_shown(response, name)
                    if ok and kind in ("text", "secret") and label.startswith(("a NUL", "an escape", "a backspace")):
                        ok = NOT_ALLOWED in text_of(response)  # a number field may say "enter a number" instead
                else:
                    ok = response.status_code == 400
                if not ok:
                    refused.append(f"{name} with {label}: {response.status_code} {text_of(response)[:160]}")
    assert not refused, "\n".join(refused)
    if form.accepted is not None:
        response = _submit(probe, client, desk, form, form.data(desk), hostile=False)
        assert response.status_code == form.accepted, text_of(response)[:300]


# Plain WTForms forms, and why the central check still covers them.
PLAIN_FORMS = {
    "InvoiceLineForm": "a line inside the invoice form, whose check walks into its lines",
    "InvoiceFilterForm": "a GET filter of choices and dates: nothing it reads reaches the database as text",
    "DoctorInvoiceFilterForm": "the same filter with one more choice",
    "PatientFilterForm": "the same filter; its doctor id is read as ASCII digits only",
}


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_every_form_of_the_portal_refuses_control_characters_centrally(app):
    # The check lives in BaseForm.validate: a form that does not extend it would let NUL reach
    # PostgreSQL. Import every module, then look at every form class the portal defines.
    for module in pkgutil.walk_packages(portal.__path__, "portal."):
        importlib.import_module(module.name)
    forms = [cls for cls in _subclasses(PlainForm) if cls.__module__.startswith("portal.")]
    assert len(forms) > 30
    loose = {cls.__name__ for cls in forms if not issubclass(cls, BaseForm)}
    assert loose == set(PLAIN_FORMS), loose - set(PLAIN_FORMS)


def test_a_field_sent_twice_with_a_nul_byte_in_the_second_copy_is_refused(desk, probe):
    # WTForms reads the first copy only; the second is checked all the same.
    client = desk.clients["patient"]
    with probe.nothing_saved("report sent twice"):
        response = probe.send(client, "POST", f"/patient/invoices/{desk.to_report.id}/report",
                              data={"message": ["The act code is wrong.", "and\x00more"]})
    assert response.status_code == 400 and NOT_ALLOWED in text_of(response)


# --- Bodies: too large, too many fields, not UTF-8 -------------------------------------------------------

BODY_FORMS = [form for form in FORMS if form.accepted is not None]
TOO_LARGE = {"fr": "Fichier ou formulaire trop volumineux", "de": "Datei oder Formular zu groß",
             "en": "File or form too large"}


def test_a_body_over_the_size_limit_gets_the_413_page_in_the_visitors_language(desk, probe):
    limit = desk.app.config["MAX_CONTENT_LENGTH"]
    padding = "x" * (limit + 1)
    languages = list(TOO_LARGE)
    with probe.nothing_saved("oversized bodies"):
        for number, form in enumerate(BODY_FORMS):
            client = client_for(desk, form.role)
            language = languages[number % len(languages)]
            url = f"{form.url(desk)}?lang={language}"
            data = {**form.data(desk), "padding": padding}
            response = probe.send(client, "POST", url, data=data,
                                  content_type="multipart/form-data" if form.multipart else None)
            assert response.status_code == 413, (form.name, response.status_code)
            assert page(response).select_one("h1").get_text(strip=True) == TOO_LARGE[language], form.name


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_ten_thousand_fields_are_refused_with_413_before_any_view_runs(desk, probe, encoding):
    crowd = {f"field{n}": "x" for n in range(10_000)}
    with probe.nothing_saved("crowded bodies"):
        for form in BODY_FORMS:
            client = client_for(desk, form.role)
            data = {**form.data(desk), **crowd}
            response = probe.send(client, "POST", form.url(desk), data=data,
                                  content_type="multipart/form-data" if encoding == "multipart" else None)
            assert response.status_code == 413, (form.name, response.status_code)


def test_one_field_repeated_ten_thousand_times_is_refused_too(desk, probe):
    client = desk.clients["patient"]
    with probe.nothing_saved("one field, 10,000 times"):
        response = probe.send(client, "POST", f"/patient/invoices/{desk.to_report.id}/report",
                              data={"message": ["The act code is wrong."] * 10_000})
    assert response.status_code == 413


def test_a_form_at_the_field_limit_still_goes_through(desk, probe):
    # The limit refuses crowds, not forms: a real form with a thousand fields in all is fine.
    client = desk.clients["patient"]
    limit = desk.app.config["MAX_FORM_PARTS"]
    data = {"message": "The act code is wrong.", **{f"extra{n}": "" for n in range(limit - 1)}}
    response = probe.send(client, "POST", f"/patient/invoices/{desk.to_report.id}/report", data=data, hostile=False)
    assert response.status_code == 303


INVALID_UTF8 = [b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\xc0\xaf"]


def _urlencoded(fields: dict[str, str], name: str, raw: bytes, *, percent: bool) -> bytes:
    from urllib.parse import quote_from_bytes, urlencode

    body = urlencode({key: value for key, value in fields.items() if key != name}).encode()
    value = quote_from_bytes(raw).encode() if percent else raw
    return body + b"&" + name.encode() + b"=" + value


@pytest.mark.parametrize("percent", [False, True], ids=["raw bytes", "percent-encoded"])
def test_a_urlencoded_body_that_is_not_utf8_is_refused_with_400(desk, probe, percent):
    with probe.nothing_saved("bodies that are not UTF-8"):
        for form in BODY_FORMS:
            if form.multipart:
                continue
            client = client_for(desk, form.role)
            for name in form.kinds:
                for raw in INVALID_UTF8:
                    body = _urlencoded(form.data(desk), name, form.data(desk)[name].encode() + raw, percent=percent)
                    response = probe.send(client, "POST", form.url(desk), data=body,
                                          content_type="application/x-www-form-urlencoded")
                    assert response.status_code == 400, (form.name, name, raw, response.status_code)


def test_a_multipart_text_part_that_is_not_utf8_never_fails_the_portal(desk, probe):
    # Multipart parts are decoded with replacement characters: harmless text, never a 5xx.
    form = next(form for form in FORMS if form.name == "identity request")
    client = client_for(desk, None)
    with probe.nothing_saved("multipart parts that are not UTF-8"):
        for name in ("surname", "given_name", "matricule"):
            boundary = "hostile-boundary"
            parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
                     + b"Hoff\xff\xfemann\x00\r\n"]
            for key, value in form.data(desk).items():
                if key not in (name, "document"):
                    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'
                                 .encode())
            body = b"".join(parts) + f"--{boundary}--\r\n".encode()
            response = probe.send(client, "POST", form.url(desk), data=body,
                                  content_type=f"multipart/form-data; boundary={boundary}")
            assert response.status_code == 400


QUERY_PAGES = {
    None: ["/", "/login", "/activate", "/activate/request"],
    "patient": ["/patient/", "/patient/invoices", "/patient/claims", "/patient/my-data"],
    "doctor": ["/doctor/", "/doctor/invoices", "/doctor/acts", "/doctor/activations"],
    "cns": ["/cns/", "/cns/claims", "/cns/data-requests", "/cns/statistics"],
}


@pytest.mark.parametrize("percent", [False, True], ids=["raw bytes", "percent-encoded"])
def test_a_query_string_that_is_not_utf8_is_refused_with_400(desk, probe, percent):
    from urllib.parse import quote_from_bytes

    for role, urls in QUERY_PAGES.items():
        client = client_for(desk, role)
        for url in urls:
            for raw in INVALID_UTF8:
                value = quote_from_bytes(raw) if percent else raw.decode("latin-1")  # WSGI carries bytes as latin-1
                for name in ("lang", "page", "q", "state"):
                    response = probe.send(client, "GET", url, environ_overrides={"QUERY_STRING": f"{name}={value}"})
                    assert response.status_code == 400, (url, name, raw, response.status_code)
                    assert page(response).select_one("h1") is not None  # the error page, not a bare answer


# --- Dates, codes and numbers where the story needs them --------------------------------------------

@pytest.fixture
def activation(app, make_patient, make_doctor, issue_code):
    patient = make_patient(with_account=False)
    code, token = issue_code(patient.profile, make_doctor().profile)
    client = in_english(app.test_client())
    assert client.get(f"/activate/{token}").status_code == 303
    return SimpleNamespace(client=client, code=code, patient=patient)


def test_absurd_birth_dates_do_not_use_up_the_three_attempts_of_an_activation_code(activation, probe):
    with probe.nothing_saved("activation birth dates"):
        for value in [*ABSURD_DATES, "\x00", "1980-05-17\x00", "", LONG_TEXT]:
            response = probe.send(activation.client, "POST", "/activate/continue", data={"birth_date": value})
            assert response.status_code == 400, (value[:20], response.status_code)
            assert page(response).select_one("#birth_date-error"), value[:20]
    db.session.expire_all()
    assert codes.state(db.session.get(ActivationCode, activation.code.id)) == "pending"
    right = activation.patient.profile.birth_date.isoformat()
    response = probe.send(activation.client, "POST", "/activate/continue", data={"birth_date": right}, hostile=False)
    assert response.status_code == 303 and response.headers["Location"] == "/activate/continue"


def test_digits_of_other_scripts_are_a_wrong_code_not_a_failure(desk, probe):
    # "²²²²²²".isdigit() is true; the comparison of codes refuses anything but ASCII.
    for value in ["²²²²²²", "١٢٣٤٥٦", "１２３４５６"]:
        pending = client_for(desk, "pending")
        response = probe.send(pending, "POST", "/login/code", data={"code": value})
        assert response.status_code in (200, 400)
        assert response.status_code == 400 or "not correct" in text_of(response)
        response = probe.send(client_for(desk, None), "POST", "/forgot", data={
            "login": desk.patient.login, "code": value, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
        assert response.status_code in (200, 400) and "not correct" in text_of(response) or response.status_code == 400


def test_a_mobile_number_in_other_scripts_digits_is_refused(desk, probe):
    form = next(form for form in FORMS if form.name == "identity request")
    client = client_for(desk, None)
    with probe.nothing_saved("mobile numbers in other digits"):
        for value in ["²²²²²²²²²", "٠٦٢١١٢٣٤٥٦", "+３５２６２１１２３４５６"]:
            response = probe.send(client, "POST", form.url(desk), data={**form.data(desk), "mobile": value},
                                  content_type="multipart/form-data")
            assert response.status_code == 400 and page(response).select_one("#mobile-error"), value


# --- Navigation parameters: the first page or a 404, never a 5xx -------------------------------------------

NONSENSE = ["-1", "0", "99999999999999999999", "1e9", "NaN", "²", "١", "\x00", "garbage", "1:2:3",
            "-9223372036854775809:1", "9999999999999999999999:1", "1:99999999999999999999", "", "' OR '1'='1",
            "9" * 5000]  # int() refuses more than 4300 digits
LISTS = {
    "patient": {"/patient/invoices": ["page", "state", "date_from", "date_to", "doctor"],
                "/patient/claims": ["page"], "/patient/notifications": ["page"],
                "/patient/my-data/access-log": ["before"], "/patient/invoices/share": ["invoice"]},
    "doctor": {"/doctor/invoices": ["page", "state", "date_from", "date_to", "channel"], "/doctor/acts": ["q"],
               "/doctor/activations": ["matricule"], "/doctor/invoices/new": ["replaces"]},
    "cns": {"/cns/claims": ["after", "sort", "state", "fund", "doctor", "amount_min", "amount_max", "date_from",
                            "date_to", "channel"],
            "/cns/data-requests": ["page", "kind", "state"], "/cns/statistics": ["date_from", "date_to"]},
    None: {"/": ["lang"], "/login": ["next", "expired"]},
}


def test_nonsense_in_list_parameters_gives_a_page_never_a_failure(desk, probe):
    with probe.nothing_saved("list parameters"):
        for role, pages in LISTS.items():
            client = client_for(desk, role)
            for url, names in pages.items():
                for name in names:
                    for value in NONSENSE + (ABSURD_DATES if name.startswith("date") else []):
                        response = probe.send(client, "GET", url, query_string={name: value})
                        assert response.status_code in (200, 303, 400, 404), (url, name, value, response.status_code)


IDS = ["99999999999999999999", "2147483648", "9223372036854775808", "%00", "%FF", "garbage", "-1", "0"]
OBJECT_PAGES = {
    "patient": ["/patient/claims/{}", "/patient/invoices/{}", "/patient/invoices/{}.pdf", "/patient/claims/{}/statement",
                "/patient/my-data/export/{}"],
    "doctor": ["/doctor/invoices/{}", "/doctor/invoices/{}.pdf"],
    "cns": ["/cns/claims/{}", "/cns/identity-requests/{}", "/cns/data-requests/{}", "/cns/identity-requests/{}/document"],
    None: ["/activate/{}", "/activate/request/{}"],
}


def test_absurd_ids_in_the_address_give_404_never_a_failure(desk, probe):
    with probe.nothing_saved("ids in the address"):
        for role, patterns in OBJECT_PAGES.items():
            client = client_for(desk, role)
            for pattern in patterns:
                for value in IDS:
                    response = probe.send(client, "GET", pattern.format(value))
                    assert response.status_code in (303, 404), (pattern, value, response.status_code)
        client = desk.clients["cns"]
        for value in IDS:
            response = probe.send(client, "GET", f"/cns/claims/{desk.accept.id}/documents/{value}")
            assert response.status_code == 404, (value, response.status_code)


def test_absurd_ids_in_posted_choices_change_nothing(desk, probe):
    client = desk.clients["patient"]
    with probe.nothing_saved("posted ids"):
        for value in ["99999999999999999999", "²", "١", "\x00", "-1", "1e3"]:
            assert probe.send(client, "POST", "/patient/space", data={"space": value}).status_code == 404
            assert probe.send(client, "POST", f"/account/sessions/{value}/end").status_code == 404
            response = probe.send(client, "POST", "/patient/invoices/share", data={"invoice": value})
            assert response.status_code in (303, 404)
