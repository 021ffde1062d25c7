"""The portable export: one ZIP with data.json, CSV files, PDFs and a FHIR Bundle, for its
owner only, through a link that lasts an hour."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import date, timedelta

import pytest
from flask import g, render_template, session
from pypdf import PdfReader

from portal import accounts
from portal.accounts import terms
from portal.activation import codes
from portal.claims import sharing
from portal.core import clock, jobs
from portal.extensions import db
from portal.helpdesk import requests as helpdesk
from portal.messaging import notify
from portal.models import (
    AuditEvent,
    DataExport,
    DataRequest,
    IdentityRequest,
    Patient,
    RecoveryCode,
    UserSession,
)
from portal.privacy import export, personal_data
from portal.privacy.export_files import neutralise
from tests.fixtures.clients import in_english, signed_in_as, text_of
from tests.fixtures.factories import PASSWORD
from tests.fixtures.invoices import direct_doctor, new_invoice


@pytest.fixture
def cast(make_patient, make_doctor, make_staff):
    return make_patient(), make_doctor(), make_staff()


def _request_export(client):
    response = client.post("/patient/my-data/export")
    assert response.status_code == 303, text_of(response)
    return response


def _link_of(person) -> str:
    """The token the page shows is only in the session; tests make one through the domain."""
    made, token = export.create(person.profile, by=person.account, language="en")
    db.session.commit()
    jobs.run_ready()  # the job that builds it
    return token


def _zip(response) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(response.data))


def _download(client, app, person):
    _request_export(client)
    with client.session_transaction() as cookie:
        token = cookie["export_token"]
    response = client.get(f"/patient/my-data/export/{token}")
    assert response.status_code == 200, text_of(response)
    return response


# --- The download ----------------------------------------------------------------------------

def test_the_patient_requests_an_export_and_downloads_the_zip(app, cast, make_claim):
    patient, doctor, staff = cast
    make_claim(patient, doctor, staff, state="accepted")
    client = in_english(signed_in_as(app, patient))

    response = _request_export(client)
    assert response.headers["Location"].endswith("/patient/my-data")
    with client.session_transaction() as cookie:
        token = cookie["export_token"]
        requested = cookie["export_requested"]  # the reference the page's confirmation panel shows
    made = db.session.scalar(db.select(DataExport).where(DataExport.patient_id == patient.profile.id))
    assert made.token_hash != token and len(made.token_hash) == 64
    asked = db.session.scalars(db.select(DataRequest.reference).where(
        DataRequest.patient_id == patient.profile.id, DataRequest.kind == "export")).all()
    assert asked == [requested] and requested.startswith("D-")
    # Built by the job that ran after the request (inline without Redis); the hour starts then.
    assert made.state == "ready"
    assert timedelta(minutes=60) <= made.expires_at - made.created_at < timedelta(minutes=61)

    response = client.get(f"/patient/my-data/export/{token}")
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"] == f'attachment; filename="my-data-{clock.today().isoformat()}.zip"'
    assert response.headers["Cache-Control"] == "no-store"
    names = set(_zip(response).namelist())
    assert {"data.json", "fhir-bundle.json", "invoices.csv", "invoice_lines.csv", "claims.csv", "statements.csv",
            "notifications.csv", "access_log.csv", "consents.csv"} <= names

    data = json.loads(_zip(response).read("data.json"))
    assert set(personal_data.GROUPS) <= set(data)
    assert data["schema_version"] == export.SCHEMA_VERSION
    assert data["patient"]["matricule"] == patient.profile.matricule

    db.session.expire_all()
    made = db.session.get(DataExport, made.id)
    assert made.downloaded_at is not None
    events = db.session.scalars(
        db.select(AuditEvent.event).where(AuditEvent.patient_id == patient.profile.id)
    ).all()
    assert {"export.created", "export.downloaded"} <= set(events)
    request = db.session.scalar(db.select(DataRequest).where(DataRequest.patient_id == patient.profile.id))
    assert (request.kind, request.state) == ("export", "done")


def test_a_new_export_replaces_the_older_one(app, cast):
    patient, _doctor, _staff = cast
    client = in_english(signed_in_as(app, patient))
    _request_export(client)
    with client.session_transaction() as cookie:
        first = cookie["export_token"]
    _request_export(client)
    rows = db.session.scalars(db.select(DataExport).where(DataExport.patient_id == patient.profile.id)).all()
    assert len(rows) == 1
    assert client.get(f"/patient/my-data/export/{first}").status_code == 404


def test_another_patients_link_is_not_found(app, cast, make_patient):
    owner, _doctor, _staff = cast
    token = _link_of(owner)
    other = in_english(signed_in_as(app, make_patient(given_name="Paul")))
    assert other.get(f"/patient/my-data/export/{token}").status_code == 404
    assert other.get("/patient/my-data/export/not-a-real-token").status_code == 404


def test_an_expired_link_is_refused_with_a_clear_page(app, cast):
    patient, _doctor, _staff = cast
    token = _link_of(patient)
    client = in_english(signed_in_as(app, patient))
    made = db.session.scalar(db.select(DataExport).where(DataExport.patient_id == patient.profile.id))
    made.expires_at = clock.now() - timedelta(seconds=1)
    db.session.commit()
    response = client.get(f"/patient/my-data/export/{token}")
    assert response.status_code == 410
    assert "This download link has expired" in text_of(response)
    assert response.mimetype == "text/html"


def test_the_request_needs_the_form_token(app, cast, monkeypatch):
    patient, _doctor, _staff = cast
    client = in_english(signed_in_as(app, patient))
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    assert client.post("/patient/my-data/export").status_code == 400
    assert db.session.scalar(db.select(DataExport).where(DataExport.patient_id == patient.profile.id)) is None


def test_the_my_data_page_offers_the_download_after_the_request(app, cast):
    patient, _doctor, _staff = cast
    client = in_english(signed_in_as(app, patient))
    _request_export(client)
    link = page_of(client.get("/patient/my-data").get_data(as_text=True)).select_one("#export a.button")
    assert link is not None and link["href"].startswith("/patient/my-data/export/")
    assert client.get(link["href"]).mimetype == "application/zip"


def test_the_section_offers_the_link_only_to_the_browser_that_asked(app, cast):
    patient, _doctor, _staff = cast
    made, token = export.create(patient.profile, by=patient.account, language="en")
    db.session.commit()
    jobs.run_ready()
    db.session.refresh(made)

    def section(session_token):
        with app.test_request_context("/patient/my-data"):
            g.account = patient.account
            g.acting_patient = patient.profile
            if session_token:
                session["export_token"] = session_token
            return page_of(render_template("patient/_my_data_export.html", person=patient.profile))

    shown = section(token)
    assert shown.select_one("a.button")["href"] == f"/patient/my-data/export/{token}"
    assert shown.select_one("form")["action"] == "/patient/my-data/export"
    assert shown.select_one("input[name=csrf_token]") is not None
    assert section(None).select_one("a.button") is None
    clock.freeze(made.expires_at + timedelta(seconds=1))
    assert "The link works until" not in section(token).get_text()


def page_of(html: str):
    from bs4 import BeautifulSoup

    return BeautifulSoup(html, "html.parser")


def test_a_parent_exports_the_childs_space(app, cast, make_child):
    parent, doctor, _staff = cast
    child = make_child(parent, birth=clock.today().replace(year=clock.today().year - 8), given_name="Léa")
    client = in_english(signed_in_as(app, parent))
    assert client.post("/patient/space", data={"space": str(child.profile.id)}).status_code == 303
    data = json.loads(_zip(_download(client, app, parent)).read("data.json"))
    assert data["identity"]["given_name"] == "Léa"
    # Back in their own space, the child's link is not the parent's.
    child_token = None
    with client.session_transaction() as cookie:
        child_token = cookie["export_token"]
    client.post("/patient/space", data={"space": "self"})
    assert client.get(f"/patient/my-data/export/{child_token}").status_code == 404


# --- Completeness: every table with an export group shows up in data.json ------------------------

def _any(rows, key):
    return any(row[key] for row in rows)


# table → does data.json hold something from it? A table declared with an export group in
# portal/privacy/personal_data.py and missing here fails test_every_exported_table_is_in_data_json.
COVERED = {
    "patient": lambda data, seed: data["identity"]["matricule"] == seed["matricule"],
    "account": lambda data, seed: data["account"]["sign_in"]["login"] == seed["matricule"],
    "credential": lambda data, seed: data["account"]["sign_in"]["authenticator_enrolled_at"] is not None,
    "recovery_code": lambda data, seed: data["account"]["recovery_codes"]["left"] == 10,
    "user_session": lambda data, seed: len(data["account"]["sessions"]) >= 1,
    "terms_decision": lambda data, seed: data["terms"][0]["accepted"] is True,
    "guardian_link": lambda data, seed: data["account"]["children"][0]["name"] == "Léa Kremer",
    "activation_code": lambda data, seed: data["account"]["activation_codes"][0]["document_last4"] == "AB12",
    "identity_request": lambda data, seed: data["identity_requests"][0]["status"] == "pending",
    "outbox_message": lambda data, seed: "Hello from the fund" in [m["body"] for m in data["notifications"]["messages"]],
    "invoice": lambda data, seed: len(data["invoices"]) == 2,
    "invoice_line": lambda data, seed: data["invoices"][0]["lines"][0]["act_code"] == "C1",
    "invoice_report": lambda data, seed: _any(data["invoices"], "reports"),
    "claim": lambda data, seed: data["claims"][0]["state"] == "accepted",
    "claim_event": lambda data, seed: [e["kind"] for e in data["claims"][0]["events"]][-1] == "accepted",
    "statement": lambda data, seed: data["claims"][0]["statement"]["number"].startswith("D"),
    "statement_line": lambda data, seed: len(data["claims"][0]["statement"]["lines"]) == 1,
    "consent_receipt": lambda data, seed: data["consents"][0]["claim_reference"] == data["claims"][0]["reference"],
    "notification": lambda data, seed: data["notifications"]["notices"][0]["kind"] == "statement",
    "data_request": lambda data, seed: data["data_requests"][0]["kind"] == "correction",
    "help_request": lambda data, seed: data["help_requests"][0]["message"] == "Where is my reimbursement?",
    "help_reply": lambda data, seed: data["help_requests"][0]["replies"][0]["body"] == "Paid on Monday.",
    "audit_event": lambda data, seed: {"claim.shared", "claim.decided"} <= {row["event"] for row in data["access_log"]},
}


@pytest.fixture
def everything(app, cast, make_claim, make_invoice, make_child, issue_code):
    """A patient with at least one row in every table the export covers."""
    patient, doctor, staff = cast
    recovery_codes = accounts.set_authenticator(patient.account, patient.secret)
    version = terms.publish({"fr": "Texte", "de": "Text", "en": "Text"})
    terms.decide(patient.account, version, accepted=True)
    child = make_child(patient, birth=clock.today().replace(year=clock.today().year - 8), given_name="Léa")
    issue_code(patient.profile, doctor.profile)
    db.session.add(IdentityRequest(
        reference="secret-status-page-reference", matricule=patient.profile.matricule, surname="Kremer",
        given_name="Marie", birth_date=patient.profile.birth_date, mobile="+352621123456",
        document_name="0" * 32, document_type="image/jpeg", patient_id=patient.profile.id,
    ))
    notify.send_sms(patient.profile.mobile, "Hello from the fund", patient_id=patient.profile.id)
    claim = make_claim(patient, doctor, staff, state="accepted")
    unshared = make_invoice(patient, doctor, acts=(("C1", 1),))
    sharing.report_invoice(unshared, "=HYPERLINK(\"http://evil.example\",\"click\")", by=patient.account)
    db.session.add(DataRequest(reference="DP-TESTCORRECT", patient_id=patient.profile.id, kind="correction",
                               message="My surname is misspelt"))
    asked = helpdesk.file("claim", "Where is my reimbursement?", account=patient.account, patient=patient.profile)
    helpdesk.reply(asked, staff.profile, "Paid on Monday.")
    db.session.commit()
    in_english(signed_in_as(app, patient))  # a session row
    return {"patient": patient, "doctor": doctor, "staff": staff, "claim": claim, "child": child,
            "recovery_codes": recovery_codes, "matricule": patient.profile.matricule}


def test_every_exported_table_is_in_data_json(everything):
    exported = sorted(name for name, decision in personal_data.TABLES.items() if decision.export_group)
    uncovered = [name for name in exported if name not in COVERED]
    assert not uncovered, f"tables with an export group but no check here (add seed and check): {uncovered}"

    data = export.gather(everything["patient"].profile, "en")
    assert [group for group in personal_data.GROUPS if group not in data] == []
    missing = [name for name in exported if not COVERED[name](data, everything)]
    assert not missing, f"data.json holds nothing from: {missing}"


def test_no_secret_leaves_in_the_export(app, everything):
    patient = everything["patient"]
    client = in_english(signed_in_as(app, patient))
    archive = _zip(_download(client, app, patient))
    blob = "\n".join(
        archive.read(name).decode("utf-8", errors="replace") for name in archive.namelist() if not name.endswith(".pdf")
    )
    credential = patient.account.credential
    secrets = [PASSWORD, credential.password_hash, credential.totp_secret, patient.secret, "secret-status-page-reference"]
    secrets += everything["recovery_codes"]
    secrets += db.session.scalars(db.select(RecoveryCode.code_hash)).all()
    secrets += db.session.scalars(db.select(UserSession.id)).all()
    secrets += db.session.scalars(db.select(DataExport.token_hash)).all()
    from portal.models import ActivationCode

    secrets += db.session.scalars(db.select(ActivationCode.token_hash)).all()
    leaked = [value for value in secrets if value and value in blob]
    assert leaked == []
    assert "password_hash" not in blob and "totp_secret" not in blob


@pytest.mark.parametrize("token", [
    codes.new_token(),  # today's codes
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567",  # the longer ones issued before
])
def test_activation_codes_are_blanked_out_of_message_copies(app, cast, token):
    patient, _doctor, _staff = cast
    grouped = codes.grouped(token)
    notify.send_sms("+352621123456", f"Activate: https://portal/activate/{token} (code {grouped}); "
                                     "IBAN AT611904300234573201", patient_id=patient.profile.id)
    body = export.gather(patient.profile, "en")["notifications"]["messages"][0]["body"]
    assert token not in body and body.count("[code removed]") == 2
    assert all(group not in body for group in grouped.split("-"))
    assert "AT611904300234573201" in body  # a 20-character account number is not a code


# --- CSV, PDF, FHIR --------------------------------------------------------------------------------

@pytest.mark.parametrize(("cell", "expected"), [
    ("=1+1", "'=1+1"), ("+33", "'+33"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"), ("\rx", "'\rx"),
    ("Marie", "Marie"), ("a=b", "a=b"), ("", ""), (None, ""), (-120, -120), (True, "true"),
])
def test_a_cell_that_could_run_as_a_formula_is_neutralised(cell, expected):
    assert neutralise(cell) == expected


def _rows(archive, name):
    text = archive.read(name).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


def test_csv_cells_from_people_are_neutralised(app, make_patient, make_doctor, make_staff, make_claim):
    patient = make_patient()
    doctor = make_doctor(name="=HYPERLINK(\"http://evil.example\",\"Dr\")")
    staff = make_staff()
    claim = make_claim(patient, doctor, staff, state="in_review")
    from portal.claims import review

    review.reject(claim, staff.profile, version=claim.version, reason="other", note="=1+1")
    db.session.add(AuditEvent(event="invoice.viewed", actor_account_id=doctor.account.id, actor_role="doctor",
                              patient_id=patient.profile.id, data={"invoice_id": claim.invoice_id}))
    db.session.commit()
    client = in_english(signed_in_as(app, patient))
    archive = _zip(_download(client, app, patient))

    assert _rows(archive, "invoices.csv")[0]["doctor"] == "'=HYPERLINK(\"http://evil.example\",\"Dr\")"
    assert _rows(archive, "claims.csv")[0]["rejection_note"] == "'=1+1"
    doctors = [row["actor_name"] for row in _rows(archive, "access_log.csv") if row["actor_kind"] == "doctor"]
    assert doctors and all(name.startswith("'=") for name in doctors)
    # data.json keeps the words as they were: only spreadsheets run formulas.
    assert json.loads(archive.read("data.json"))["claims"][0]["rejection_note"] == "=1+1"


def test_the_copy_of_each_message_says_whether_and_when_it_was_delivered(app, cast):
    patient, _doctor, _staff = cast
    written = clock.now()
    held = notify.send_sms("+352621123456", "Ein neues Dokument", patient_id=patient.profile.id, kind="statement")
    sent = notify.send_email("anna@example.lu", "Hello", "A question", patient_id=patient.profile.id, kind="question")
    db.session.flush()
    held.state = "held"
    sent.state, sent.attempts, sent.sent_at = "sent", 2, written + timedelta(minutes=3)
    db.session.commit()
    client = in_english(signed_in_as(app, patient))
    rows = {row["channel"]: row for row in _rows(_zip(_download(client, app, patient)), "messages.csv")}

    assert (rows["sms"]["kind"], rows["sms"]["state"], rows["sms"]["sent_at"]) == ("statement", "held", "")
    assert (rows["email"]["kind"], rows["email"]["state"], rows["email"]["attempts"]) == ("question", "sent", "2")
    # Written and delivered are two moments: the copy no longer gives the first as the second.
    assert rows["email"]["sent_at"] == (written + timedelta(minutes=3)).isoformat() != rows["email"]["created_at"]


def test_the_pdfs_of_invoices_and_statements_are_in_the_zip(app, cast, make_claim, make_invoice):
    patient, doctor, staff = cast
    claim = make_claim(patient, doctor, staff, state="accepted")
    expired = make_invoice(patient, doctor)
    # An invoice this old is no longer issued (the retention limit): it was issued back then.
    expired.service_date = clock.today() - timedelta(days=800)
    expired.expires_at = clock.now() - timedelta(days=1)
    db.session.commit()
    client = in_english(signed_in_as(app, patient))
    archive = _zip(_download(client, app, patient))
    documents = sorted(name for name in archive.namelist() if name.startswith("documents/"))
    invoice_name = f"documents/invoice-{claim.invoice.provider_code}-{claim.invoice.number}.pdf"
    assert documents == sorted([invoice_name, f"documents/statement-{claim.statement.number}.pdf"])
    for name in documents:
        reader = PdfReader(io.BytesIO(archive.read(name)))
        assert len(reader.pages) >= 1
    assert claim.invoice.number in PdfReader(io.BytesIO(archive.read(invoice_name))).pages[0].extract_text()


def test_the_fhir_bundle_validates_and_holds_every_resource_type(app, everything, make_claim):
    from fhir.resources import get_fhir_model_class
    from fhir.resources.bundle import Bundle

    patient, doctor, staff = everything["patient"], everything["doctor"], everything["staff"]
    make_claim(patient, doctor, staff, state="rejected")
    client = in_english(signed_in_as(app, patient))
    data = json.loads(_zip(_download(client, app, patient)).read("fhir-bundle.json"))

    bundle = Bundle.model_validate(data)
    assert bundle.type == "collection"
    # Each entry again with its own model: a typo in an element name must fail here.
    for entry in data["entry"]:
        get_fhir_model_class(entry["resource"]["resourceType"]).model_validate(entry["resource"])
    kinds = [entry["resource"]["resourceType"] for entry in data["entry"]]
    assert {"Patient", "Coverage", "Practitioner", "Invoice", "Claim", "ClaimResponse", "Consent",
            "AuditEvent"} <= set(kinds)
    assert kinds.count("ClaimResponse") == 2 and kinds.count("Invoice") == 3
    urls = {entry["fullUrl"] for entry in data["entry"]}
    references = {ref for ref in _references(data) if ref.startswith("urn:uuid:")}
    assert references <= urls, "every reference points into the bundle"


def _references(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                yield value
            else:
                yield from _references(value)
    elif isinstance(node, list):
        for item in node:
            yield from _references(item)


def test_the_access_log_names_doctors_and_staff_by_reference_without_their_addresses(app, cast, make_claim):
    patient, doctor, staff = cast
    claim = make_claim(patient, doctor, staff, state="accepted")
    db.session.add(AuditEvent(event="claim.viewed", actor_account_id=staff.account.id, actor_role="cns",
                              ip="10.1.2.3", patient_id=patient.profile.id, data={"claim_id": claim.id}))
    db.session.add(AuditEvent(event="invoice.viewed", actor_account_id=doctor.account.id, actor_role="doctor",
                              ip="10.9.9.9", patient_id=patient.profile.id, data={"invoice_id": claim.invoice_id}))
    db.session.commit()
    log = export.gather(patient.profile, "en")["access_log"]
    staff_rows = [row for row in log if row["actor"]["kind"] == "staff"]
    doctor_rows = [row for row in log if row["actor"]["kind"] == "doctor"]
    assert staff_rows[-1]["actor"] == {"role": "cns", "kind": "staff", "staff_reference": staff.profile.staff_id}
    assert doctor_rows[-1]["actor"]["name"] == "Dr Jeanne Wagner"
    assert all(row["ip"] is None for row in staff_rows + doctor_rows)
    assert "Agent Test" not in json.dumps(export.gather(patient.profile, "en"))


def test_expired_exports_are_purged_with_their_files(app, cast):
    patient, _doctor, _staff = cast
    made, _token = export.create(patient.profile, by=patient.account, language="fr")
    db.session.commit()
    jobs.run_ready()
    db.session.refresh(made)
    name = made.file_name
    assert export.purge_expired() == 0
    clock.freeze(made.expires_at)
    assert export.purge_expired() == 1
    from portal.documents import uploads

    with pytest.raises(FileNotFoundError):
        uploads.load(name)


def test_requests_are_lightly_limited_per_session(app, cast, make_patient):
    patient, _doctor, _staff = cast
    client = in_english(signed_in_as(app, patient))
    for _ in range(10):
        _request_export(client)
    assert client.post("/patient/my-data/export").status_code == 429
    _request_export(in_english(signed_in_as(app, make_patient(given_name="Paul"))))


def test_only_patients_may_ask(app, signed_in):
    client, _person = signed_in("doctor")
    assert client.post("/patient/my-data/export").status_code == 403


def test_the_zip_holds_data_for_a_patient_without_an_account(app_ctx, make_patient):
    person = make_patient(with_account=False).profile
    data = export.gather(person, "de")
    assert data["account"]["sign_in"] is None and data["terms"] == []
    assert isinstance(db.session.get(Patient, person.id), Patient)
    assert date.fromisoformat(data["identity"]["birth_date"]) == person.birth_date


def test_a_direct_payment_invoice_and_its_claim_are_exported_and_the_bundle_validates(app, cast):
    from fhir.resources import get_fhir_model_class

    patient, _doctor, _staff = cast
    invoice = new_invoice(patient, direct_doctor(), settlement="direct", consent_method="oral")
    client = in_english(signed_in_as(app, patient))
    archive = _zip(_download(client, app, patient))
    data = json.loads(archive.read("data.json"))
    (row,) = [row for row in data["invoices"] if row["number"] == invoice.number]
    assert row["direct_payment"]["consent_method"] == "oral"
    assert row["direct_payment"]["paid_by_patient_cents"] + row["direct_payment"]["paid_by_fund_cents"] == 5770
    (claim,) = data["claims"]
    assert claim["direct_payment"] is True and claim["iban"] is None  # the doctor's account stays out
    bundle = json.loads(archive.read("fhir-bundle.json"))
    (resource,) = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Claim"]
    assert resource["payee"]["type"]["coding"][0]["code"] == "provider"
    get_fhir_model_class("Claim").model_validate(resource)
