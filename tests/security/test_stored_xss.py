"""Stored XSS: every text a person types that another role (or they themselves) later reads is
shown as text. No payload may become a live element or attribute — a <script>, an on* handler,
a javascript: link, or an hx-* / data-hx-* attribute htmx would act on — and template syntax
is shown as typed, never evaluated.

Each payload is entered through the real form of the role who types it, then every page where
it is shown is rendered for the roles who read it, in full and, where htmx asks, as a fragment.
Inputs the portal refuses (IBAN, mobile numbers, document numbers…) are checked on the page
that shows them back with the error.
"""

from __future__ import annotations

import io
import re

import pytest
from bs4 import BeautifulSoup

from portal.core.identity import make_iban
from portal.extensions import db
from portal.models import DataRequest, HelpRequest, IdentityRequest, OutboxMessage
from portal.privacy import rights
from tests.fixtures.claims import direct_question, new_claim
from tests.fixtures.clients import fresh_code, sign_in, step_up, text_of
from tests.fixtures.figures import Tally
from tests.fixtures.images import jpeg
from tests.fixtures.invoices import new_invoice

PAYLOADS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "'><svg onload=alert(1)>",
    '<div hx-get="/logout" hx-trigger="load">x</div>',
    '<a hx-post="/patient/my-data/erase" hx-trigger="load">erase</a>',
    '<p data-hx-post="/logout" data-hx-trigger="load" hx-target="body">x</p>',
    '<a href="javascript:alert(1)">open</a>',
    "javascript:alert(1)",
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    "{{7*7}}",
    "{{ config.SECRET_KEY }}",
    "{% raw %}{{ config }}{% endraw %}",
    "${7*7}",
    "#{7*7} <%= 7*7 %>",
]
# Valid e-mail addresses (RFC 5322 allows these characters before the @) that still try.
EMAIL_PAYLOADS = ["{{7*7}}@example.lu", "${7*7}@example.lu", "x'onmouseover='alert'@example.lu"]

LINK_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "poster", "srcdoc"}


def _text(value) -> str:
    return " ".join(value) if isinstance(value, list) else str(value)


def live_parts(document: BeautifulSoup, payload: str) -> list[str]:
    """What of the payload became markup the browser or htmx would act on."""
    planted = [(tag.name, {k: _text(v) for k, v in tag.attrs.items()})
               for tag in BeautifulSoup(payload, "html.parser").find_all(True)]
    planted_values = {value for _name, attrs in planted for value in attrs.values()}
    problems = []
    for element in document.find_all(True):
        for name, raw in element.attrs.items():
            problems += _live_attribute(element.name, name, _text(raw), planted_values)
        if element.name == "script" and (element.get_text(strip=True) or not element.get("src", "").startswith("/static/")):
            problems.append(f"inline or foreign <script>: {str(element)[:80]}")
    for name, attrs in planted:
        if not attrs:
            continue  # a bare <p> or <script> is caught above, or is harmless
        for element in document.find_all(name):
            if all(_text(element.get(key, "")) == value for key, value in attrs.items()):
                problems.append(f"<{name} {attrs}> from the payload is an element")
    return problems


def _live_attribute(tag: str, name: str, value: str, planted_values: set[str]) -> list[str]:
    problems = []
    if name.lower().startswith("on"):
        problems.append(f"<{tag} {name}=…> event handler")
    if name.lower() in LINK_ATTRIBUTES and value.strip().lower().startswith(("javascript:", "data:text/html")):
        problems.append(f"<{tag} {name}={value!r}>")
    if name.lower().startswith(("hx-", "data-hx-")) and value in planted_values:
        problems.append(f"<{tag} {name}={value!r}> htmx attribute from the payload")
    if name.lower() == "srcdoc":
        problems.append(f"<{tag} srcdoc>")
    return problems


def shown_literally(document: BeautifulSoup, payload: str) -> bool:
    if payload in document.get_text():
        return True
    return any(element.get("value") == payload for element in document.find_all(["input", "option"]))


class Renders:
    def __init__(self, secret_key: str):
        self.count = 0
        self.problems: list[str] = []
        self.secret_key = secret_key

    def check(self, response, payload: str, where: str, *, shows: bool = True, status: int = 200) -> None:
        assert response.status_code == status, f"{where}: {response.status_code} {text_of(response)[:300]}"
        self.count += 1
        html = response.get_data(as_text=True)
        document = BeautifulSoup(html, "html.parser")
        self.problems += [f"{where} with {payload!r}: {problem}" for problem in live_parts(document, payload)]
        if shows and not shown_literally(document, payload):
            self.problems.append(f"{where}: {payload!r} is not shown as typed")
        if self.secret_key in html:
            self.problems.append(f"{where}: the secret key is on the page")


@pytest.fixture
def renders(app, figures):
    checked = Renders(app.config["SECRET_KEY"])
    yield checked
    figures.add("security.xss.payloads_rendered", checked.count)
    figures.add("security.unescaped_reflections", len(checked.problems))


def assert_inert(renders: Renders) -> None:
    assert renders.count > 0
    assert renders.problems == [], "\n".join(renders.problems)


class Cast:
    """One signed-in browser per role, in English."""

    HOMES = {"patient": "/patient/", "doctor": "/doctor/", "cns": "/cns/"}

    def __init__(self, app, people, tally: Tally):
        self.app, self.people, self.tally = app, people, tally
        self._clients = {}

    def __getitem__(self, role: str):
        if role not in self._clients:
            client = self.tally.client(self.app)
            sign_in(client, self.people[role])
            client.get(f"{self.HOMES[role]}?lang=en")
            self._clients[role] = client
        return self._clients[role]

    def visitor(self):
        client = self.tally.client(self.app)
        client.get("/?lang=en")
        return client


@pytest.fixture
def cast(app, people, tally):
    return Cast(app, people, tally)


# --- What patients type ----------------------------------------------------------------------------

def test_a_report_on_an_invoice_reaches_the_doctor_as_text(cast, people, renders):
    invoice = new_invoice(people["patient"], people["doctor"])
    for payload in PAYLOADS:
        response = cast["patient"].post(f"/patient/invoices/{invoice.id}/report", data={"message": payload})
        assert response.status_code == 303
        renders.check(cast["doctor"].get("/doctor/reports"), payload, "doctor's reports")
        renders.check(cast["doctor"].get("/doctor/"), payload, "doctor's home", shows=False)
    assert_inert(renders)


def test_an_answer_to_the_funds_question_reaches_the_agent_as_text(cast, people, renders):
    patient, doctor, staff = people["patient"], people["doctor"], people["cns"]
    for payload in PAYLOADS:
        claim = new_claim(patient, doctor, staff, state="info_requested")
        response = cast["patient"].post(f"/patient/claims/{claim.id}/answer", data={"message": payload},
                                        content_type="multipart/form-data")
        assert response.status_code == 303
        renders.check(cast["cns"].get(f"/cns/claims/{claim.id}"), payload, "agent's claim page")
        renders.check(cast["patient"].get(f"/patient/claims/{claim.id}"), payload, "patient's claim page", shows=False)
    assert_inert(renders)


def test_a_question_about_a_direct_payment_and_the_doctors_answer_stay_text(cast, people, renders):
    patient, doctor, staff = people["patient"], people["doctor"], people["cns"]
    doctor.profile.iban = make_iban("LU", "0019400644750001")  # the fund can pay this doctor directly
    for payload in PAYLOADS:
        claim = direct_question(patient, doctor, staff, payload)
        renders.check(cast["doctor"].get(f"/doctor/invoices/{claim.invoice_id}"), payload, "doctor's invoice page")
        response = cast["doctor"].post(f"/doctor/invoices/{claim.invoice_id}/answer", data={"message": payload},
                                       content_type="multipart/form-data")
        assert response.status_code == 303
        renders.check(cast["cns"].get(f"/cns/claims/{claim.id}"), payload, "agent's claim page")
    assert_inert(renders)


def test_a_correction_request_reaches_the_fund_as_text(cast, renders):
    for payload in PAYLOADS:
        response = cast["patient"].post("/patient/my-data/correction", data={"registry_field": "name", "message": payload})
        assert response.status_code == 303
        filed = db.session.scalar(db.select(DataRequest).order_by(DataRequest.id.desc()).limit(1))
        renders.check(cast["cns"].get(f"/cns/data-requests/{filed.id}"), payload, "agent's request page")
        renders.check(cast["cns"].get("/cns/data-requests"), payload, "agent's register", shows=False)
        renders.check(cast["patient"].get("/patient/my-data"), payload, "patient's data page")
    assert_inert(renders)


def test_contact_details_are_refused_or_shown_as_text(cast, people, renders):
    for payload in PAYLOADS:
        response = cast["patient"].post("/patient/my-data/contact",
                                        data={"mobile": payload, "email": payload, "language": "en"})
        renders.check(response, payload, "contact form sent back", status=400)
    for address in EMAIL_PAYLOADS:
        response = cast["patient"].post("/patient/my-data/contact", data={"mobile": "", "email": address, "language": "en",
                                                                          **step_up(people["patient"])})
        assert response.status_code == 303, text_of(response)
        renders.check(cast["patient"].get("/patient/my-data/contact/confirm"), address, "code confirmation page")
        sent = db.session.scalars(db.select(OutboxMessage.body).where(OutboxMessage.recipient == address)
                                  .order_by(OutboxMessage.id.desc())).first()
        confirmed = cast["patient"].post("/patient/my-data/contact/confirm",
                                         data={"email": re.search(r"\b(\d{6})\b", sent)[1]})
        assert confirmed.status_code == 303, text_of(confirmed)
        db.session.refresh(people["patient"].profile)
        assert people["patient"].profile.email == address
        renders.check(cast["patient"].get("/patient/my-data"), address, "patient's data page")
        renders.check(cast["patient"].get("/patient/my-data/contact"), address, "contact form")
    assert_inert(renders)


def test_a_bank_account_that_is_not_an_iban_is_shown_back_as_text(cast, renders):
    for payload in PAYLOADS:
        response = cast["patient"].post("/patient/bank-account", data={"iban": payload})
        renders.check(response, payload, "bank account form sent back", status=400)
    assert_inert(renders)


def _identity_request(client, applicant, **fields) -> IdentityRequest:
    data = {
        "matricule": applicant.matricule, "surname": applicant.surname, "given_name": applicant.given_name,
        "birth_date": applicant.birth_date.isoformat(), "mobile": "+352 621 000 111", "email": "", "consent": "y",
        "document": (io.BytesIO(jpeg()), "id.jpg"), **fields,
    }
    response = client.post("/activate/request", data=data, content_type="multipart/form-data")
    assert response.status_code == 303, text_of(response)
    reference = response.headers["Location"].rsplit("/", 1)[1]
    return db.session.scalar(db.select(IdentityRequest).where(IdentityRequest.reference == reference))


def test_an_identity_request_and_its_rejection_are_shown_as_text(cast, make_patient, renders):
    applicant = make_patient(with_account=False).profile
    for payload in PAYLOADS:
        visitor = cast.visitor()
        filed = _identity_request(visitor, applicant, surname=payload, given_name=payload)
        renders.check(cast["cns"].get("/cns/identity-requests"), payload, "agent's identity queue")
        renders.check(cast["cns"].get(f"/cns/identity-requests/{filed.id}"), payload, "agent's identity request")
        response = cast["cns"].post(f"/cns/identity-requests/{filed.id}/reject", data={"reason": "other", "note": payload})
        assert response.status_code == 303
        renders.check(visitor.get(f"/activate/request/{filed.reference}"), payload, "applicant's status page")
        renders.check(cast["cns"].get(f"/cns/identity-requests/{filed.id}"), payload, "agent's decided request")
        renders.check(cast["cns"].get("/cns/identity-requests"), payload, "agent's decided list")
    assert_inert(renders)


def test_an_applicants_e_mail_address_reaches_the_outbox_as_text(cast, make_patient, renders):
    for address in EMAIL_PAYLOADS:
        applicant = make_patient(with_account=False).profile
        applicant.mobile = applicant.email = None  # the register has no contact: the typed one is used
        db.session.commit()
        filed = _identity_request(cast.visitor(), applicant, email=address)
        renders.check(cast["cns"].get(f"/cns/identity-requests/{filed.id}"), address, "agent's identity request")
        assert cast["cns"].post(f"/cns/identity-requests/{filed.id}/approve").status_code == 303
        assert db.session.scalar(db.select(OutboxMessage).where(OutboxMessage.recipient == address)) is not None
        renders.check(cast.visitor().get("/dev/outbox"), address, "demo outbox")
    assert_inert(renders)


def test_a_device_name_from_the_user_agent_is_shown_as_text(app, cast, people, tally, renders):
    for payload in PAYLOADS:
        elsewhere = tally.client(app)
        elsewhere.environ_base["HTTP_USER_AGENT"] = payload
        sign_in(elsewhere, people["doctor"])
        renders.check(cast["doctor"].get("/account/sessions"), payload, "sessions page")
    assert_inert(renders)


# --- What doctors type -----------------------------------------------------------------------------

@pytest.mark.parametrize("language", ["en", "fr", "de"])
def test_a_void_reason_reaches_the_patient_as_text(cast, people, renders, language):
    for payload in PAYLOADS:
        invoice = new_invoice(people["patient"], people["doctor"])
        response = cast["doctor"].post(f"/doctor/invoices/{invoice.id}/void", data={"reason": payload})
        assert response.status_code == 303, text_of(response)
        renders.check(cast["patient"].get(f"/patient/invoices/{invoice.id}?lang={language}"), payload, "patient's invoice")
        renders.check(cast["patient"].get(f"/patient/invoices?lang={language}"), payload, "patient's invoices", shows=False)
        renders.check(cast["doctor"].get(f"/doctor/invoices/{invoice.id}?lang={language}"), payload, "doctor's invoice")
    assert_inert(renders)


def test_identity_check_fields_are_refused_and_shown_back_as_text(cast, make_patient, renders):
    newcomer = make_patient(with_account=False).profile
    for payload in PAYLOADS:
        response = cast["doctor"].post("/doctor/activations", data={
            "matricule": newcomer.matricule, "birth_date": newcomer.birth_date.isoformat(), "document_type": "identity_card", "document_last4": payload,
            "mobile": payload, "guardian_matricule": payload, "language": "fr", "identity_checked": "y",
        })
        renders.check(response, payload, "activation check sent back", status=400)
        lookup = cast["doctor"].get("/doctor/activations", query_string={"matricule": payload})
        renders.check(lookup, payload, "patient look-up")
        fragment = cast["doctor"].get("/doctor/activations", query_string={"matricule": payload},
                                      headers={"HX-Request": "true"})
        renders.check(fragment, payload, "patient look-up fragment", shows=False)
    assert_inert(renders)


def test_an_invoice_form_shows_back_what_the_doctor_typed_as_text(cast, renders):
    for payload in PAYLOADS:
        data = {"matricule": payload, "service_date": payload, "lines-0-code": payload, "lines-0-quantity": payload,
                "replaces": payload, "paid_on_site": payload, "payer_is_patient": "yes"}
        response = cast["doctor"].post("/doctor/invoices/new", data={**data, "submit": "1"})
        renders.check(response, payload, "invoice form sent back", status=400)
        preview = cast["doctor"].post("/doctor/invoices/new", data={**data, "preview": "1"},
                                      headers={"HX-Request": "true"})
        renders.check(preview, payload, "invoice preview fragment", shows=False)
    assert_inert(renders)


# --- What fund staff type --------------------------------------------------------------------------

@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_question_and_a_rejection_note_reach_the_patient_as_text(cast, people, renders, language):
    patient, doctor, staff = people["patient"], people["doctor"], people["cns"]
    for payload in PAYLOADS:
        asked = new_claim(patient, doctor, staff, state="in_review")
        response = cast["cns"].post(f"/cns/claims/{asked.id}/request-info",
                                    data={"version": asked.version, "question": payload})
        assert response.status_code == 303
        renders.check(cast["patient"].get(f"/patient/claims/{asked.id}?lang={language}"), payload, "patient's claim")
        fragment = cast["patient"].post(f"/patient/claims/{asked.id}/answer?lang={language}", data={"message": ""},
                                        headers={"HX-Request": "true"})
        renders.check(fragment, payload, "answer form fragment", status=400)
        renders.check(cast["cns"].get(f"/cns/claims/{asked.id}"), payload, "agent's claim")

        rejected = new_claim(patient, doctor, staff, state="in_review")
        response = cast["cns"].post(f"/cns/claims/{rejected.id}/reject",
                                    data={"version": rejected.version, "reason": "other", "note": payload, "confirmed": "y"})
        assert response.status_code == 303
        renders.check(cast["patient"].get(f"/patient/claims/{rejected.id}?lang={language}"), payload, "patient's claim")
        renders.check(cast["patient"].get(f"/patient/notifications?lang={language}"), payload, "notices", shows=False)
        renders.check(cast["cns"].get(f"/cns/claims/{rejected.id}"), payload, "agent's claim")
    assert_inert(renders)


def test_a_note_on_a_different_amount_reaches_the_statement_as_text(cast, people, renders):
    patient, doctor, staff = people["patient"], people["doctor"], people["cns"]
    for payload in PAYLOADS:
        claim = new_claim(patient, doctor, staff, state="in_review")
        lower = f"{(claim.computed_cents - 100) / 100:.2f}"
        typed = {"version": claim.version, "amount": lower, "reason": "other", "note": payload}
        renders.check(cast["cns"].post(f"/cns/claims/{claim.id}/accept", data=typed), payload, "decision to confirm")
        response = cast["cns"].post(f"/cns/claims/{claim.id}/accept", data={**typed, "confirmed": "y"})
        assert response.status_code == 303, text_of(response)
        renders.check(cast["patient"].get(f"/patient/claims/{claim.id}/statement"), payload, "patient's statement")
        renders.check(cast["patient"].get(f"/patient/claims/{claim.id}"), payload, "patient's claim")
        renders.check(cast["cns"].get(f"/cns/claims/{claim.id}"), payload, "agent's claim")
    assert_inert(renders)


def test_an_answer_to_a_data_request_reaches_the_patient_as_text(cast, people, renders):
    patient = people["patient"]
    for payload in PAYLOADS:
        filed = rights.request_correction(patient.profile, "name", "My name has an accent.", by=patient.account)
        db.session.commit()
        response = cast["cns"].post(f"/cns/data-requests/{filed.id}", data={"state": "refused", "answer": payload})
        assert response.status_code == 303
        renders.check(cast["patient"].get("/patient/my-data"), payload, "patient's data page")
        renders.check(cast["cns"].get(f"/cns/data-requests/{filed.id}"), payload, "agent's request page")
    assert_inert(renders)


def test_a_message_to_the_fund_and_its_answer_are_shown_as_text(cast, people, renders):
    for payload in PAYLOADS:
        sent = cast["patient"].post("/patient/help", data={"category": "claim", "message": payload},
                                    content_type="multipart/form-data")
        assert sent.status_code == 303, text_of(sent)
        filed = db.session.scalars(db.select(HelpRequest).order_by(HelpRequest.id.desc())).first()
        renders.check(cast["cns"].get(f"/cns/help/{filed.id}"), payload, "agent's message page")
        answered = cast["cns"].post(f"/cns/help/{filed.id}", data={"body": payload})
        assert answered.status_code == 303
        renders.check(cast["patient"].get("/patient/help"), payload, "patient's messages")
    assert_inert(renders)


def test_a_paper_intake_text_is_shown_back_as_text(cast, renders):
    for payload in PAYLOADS:
        response = cast["cns"].post("/cns/paper-intake", data={"payload": payload})
        renders.check(response, payload, "paper intake sent back", status=400)
    assert_inert(renders)


def test_terms_of_use_written_by_staff_are_shown_as_text_to_everyone(cast, people, renders):
    people["cns"].profile.is_administrator = True  # only administrators publish
    db.session.commit()
    for payload in PAYLOADS:
        text = f"{payload}\n\n## {payload}\n\n- {payload}\n- second item"
        response = cast["cns"].post("/cns/terms", data={"text_fr": text, "text_de": text, "text_en": text,
                                                        "confirm": "y", "code": fresh_code(people["cns"])})
        assert response.headers["Location"] == "/cns/terms", text_of(response)
        renders.check(cast.visitor().get("/terms"), payload, "public terms")
        renders.check(cast["doctor"].get("/terms/accept"), payload, "doctor's terms to accept")
        renders.check(cast["patient"].get("/terms/accept?lang=de"), payload, "patient's terms to accept")
        renders.check(cast["cns"].get("/terms/accept"), payload, "agent's terms to accept")
        # The agent accepts the version, or the next publication would wait behind it.
        assert cast["cns"].post("/terms/accept", data={"accept": "y", "submit": "1"}).status_code == 303
    assert_inert(renders)


def test_the_checks_catch_a_live_payload():
    # The detector itself: a page that let the payloads through must fail.
    for payload in [p for p in PAYLOADS if "<" in p and "<%" not in p]:
        document = BeautifulSoup(f"<html><body><p>{payload}</p></body></html>", "html.parser")
        assert live_parts(document, payload), payload
    escaped = BeautifulSoup("<p>&lt;script&gt;alert(1)&lt;/script&gt; {{7*7}}</p>", "html.parser")
    assert live_parts(escaped, "<script>alert(1)</script>") == []
    assert shown_literally(escaped, "<script>alert(1)</script>") and shown_literally(escaped, "{{7*7}}")
    assert not shown_literally(BeautifulSoup("<p>49</p>", "html.parser"), "{{7*7}}")
