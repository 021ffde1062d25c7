"""Self-service identity requests, reviewed by CNS staff."""

import io
from datetime import date
from pathlib import Path

import pytest

from portal.activation import requests
from portal.core import pdf_render
from portal.extensions import db
from portal.models import ActivationCode, AuditEvent, IdentityRequest, OutboxMessage
from tests.fixtures import pdfs
from tests.fixtures.clients import page, sign_in, text_of
from tests.fixtures.images import jpeg as _jpeg
from tests.fixtures.images import png as _png


def _form(patient, content: bytes, filename: str = "id.jpg", **extra):
    data = {
        "matricule": patient.matricule, "surname": patient.surname, "given_name": patient.given_name,
        "birth_date": patient.birth_date.isoformat(), "mobile": "+352 621 000 111", "email": "",
        "consent": "y", "document": (io.BytesIO(content), filename), **extra,
    }
    return data


def _file(client, patient, content=None, filename="id.jpg", **extra):
    return client.post(
        "/activate/request?lang=en", data=_form(patient, _jpeg() if content is None else content, filename, **extra),
        content_type="multipart/form-data",
    )


def _uploads(app) -> list[Path]:
    folder = Path(app.instance_path) / "uploads"
    return sorted(folder.glob("*")) if folder.exists() else []


def test_filing_stores_the_document_encrypted_and_opens_no_account(app, client, make_patient):
    patient = make_patient(with_account=False).profile
    before = set(_uploads(app))
    response = _file(client, patient)
    assert response.status_code == 303
    status = client.get(response.headers["Location"] + "?lang=en")
    assert "Waiting for a check" in text_of(status)
    filed = db.session.scalar(db.select(IdentityRequest))
    assert filed.patient_id == patient.id and filed.document_type == "image/jpeg"
    new_files = set(_uploads(app)) - before
    assert len(new_files) == 1
    stored = new_files.pop()
    assert stored.name == filed.document_name and b"JFIF" not in stored.read_bytes()
    assert "static" not in str(stored)
    db.session.refresh(patient)
    assert patient.account is None


@pytest.mark.parametrize(
    ("content", "filename", "message"),
    [
        (b"MZ\x90\x00 this is not an image", "photo.jpg", "must be a JPEG"),
        (b"\xff\xd8\xff\xe0 broken jpeg", "id.jpg", "must be a JPEG"),
        (b"GIF89a....", "id.gif", "must be a JPEG"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "id.png", "must be a JPEG"),
        (b"", "empty.pdf", ""),
    ],
)
def test_files_that_are_not_what_they_claim_are_refused(app, client, make_patient, content, filename, message):
    patient = make_patient(with_account=False).profile
    before = _uploads(app)
    response = _file(client, patient, content, filename)
    assert response.status_code == 400
    assert page(response).select_one("#document-error")
    if message:
        assert message in text_of(response)
    assert db.session.scalar(db.select(IdentityRequest)) is None
    assert _uploads(app) == before


def test_an_oversized_file_is_refused(app, client, make_patient):
    patient = make_patient(with_account=False).profile
    big = _jpeg() + b"\0" * (5 * 1024 * 1024)
    response = _file(client, patient, big)
    assert response.status_code == 400 and "larger than 5 MB" in text_of(response)
    huge = _jpeg() + b"\0" * (7 * 1024 * 1024)
    assert _file(client, patient, huge).status_code == 413


@pytest.mark.parametrize("filename", ["../../x.pdf", "..\\..\\x.pdf", "/etc/passwd", ".htaccess"])
def test_a_hostile_file_name_is_refused_and_nothing_is_written(app, client, make_patient, filename):
    patient = make_patient(with_account=False).profile
    before = set(_uploads(app))
    response = _file(client, patient, filename=filename)
    assert response.status_code == 400 and "must not contain a folder path" in text_of(response), filename
    assert db.session.scalar(db.select(IdentityRequest)) is None
    assert set(_uploads(app)) == before and not (Path(app.instance_path).parent / "x.pdf").exists()


def test_an_ordinary_file_name_is_never_used_to_store(app, client, make_patient):
    patient = make_patient(with_account=False).profile
    assert _file(client, patient, filename="carte identité.jpg").status_code == 303
    filed = db.session.scalar(db.select(IdentityRequest))
    assert "carte" not in filed.document_name
    assert all(p.parent.name == "uploads" for p in _uploads(app))


def test_images_are_re_encoded(app, client, make_patient):
    from portal.documents import uploads

    patient = make_patient(with_account=False).profile
    with_trailer = _jpeg() + b"<?php echo 'hidden payload'; ?>"
    _file(client, patient, with_trailer)
    filed = db.session.scalar(db.select(IdentityRequest))
    with app.test_request_context():
        stored = uploads.load(filed.document_name)
    assert b"hidden payload" not in stored and stored.startswith(b"\xff\xd8\xff")


def test_missing_consent_and_bad_fields_are_refused(client, make_patient):
    patient = make_patient(with_account=False).profile
    response = _file(client, patient, consent="", matricule="123", birth_date="2030-13-01")
    document = page(response)
    for field in ("consent", "matricule", "birth_date"):
        assert document.select_one(f"#{field}-error"), field


def test_only_staff_can_see_the_document(app, people, make_patient):
    patient = make_patient(with_account=False).profile
    _file(app.test_client(), patient)
    filed = db.session.scalar(db.select(IdentityRequest))
    url = f"/cns/identity-requests/{filed.id}/document"
    assert app.test_client().get(url).headers["Location"].startswith("/login")
    for role in ("patient", "doctor"):
        client = app.test_client()
        sign_in(client, people[role])
        assert client.get(url).status_code == 403
    staff = app.test_client()
    sign_in(staff, people["cns"])
    response = staff.get(url)
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    assert response.headers["Cache-Control"] == "no-store"
    assert db.session.scalar(db.select(AuditEvent).where(AuditEvent.event == "identity_request.viewed"))


def test_approval_sends_a_code_and_deletes_the_document(app, people, make_patient):
    patient = make_patient(with_account=False).profile
    _file(app.test_client(), patient, email="marie@example.lu")
    filed = db.session.scalar(db.select(IdentityRequest))
    document = Path(app.instance_path) / "uploads" / filed.document_name
    staff = app.test_client()
    sign_in(staff, people["cns"])
    assert patient.full_name in text_of(staff.get(f"/cns/identity-requests/{filed.id}"))
    assert staff.post(f"/cns/identity-requests/{filed.id}/approve").status_code == 303
    db.session.refresh(filed)
    assert filed.status == "approved" and filed.document_name is None and not document.exists()
    code = db.session.scalar(db.select(ActivationCode).where(ActivationCode.patient_id == patient.id))
    assert code.identity_request_id == filed.id
    messages = db.session.scalars(db.select(OutboxMessage)).all()
    # The register has a mobile number for her: the code goes there, not to what was typed,
    # and so does the alert that a code was issued.
    assert [(m.channel, m.recipient) for m in messages] == [("sms", patient.mobile)] * 2
    assert "/not-me/" in messages[0].body and "/activate/" in messages[1].body
    # A second decision is refused.
    staff.post(f"/cns/identity-requests/{filed.id}/reject", data={"reason": "other"})
    db.session.refresh(filed)
    assert filed.status == "approved"


def test_rejection_gives_the_applicant_a_reason(app, people, make_patient):
    patient = make_patient(with_account=False).profile
    status_url = _file(app.test_client(), patient).headers["Location"]
    filed = db.session.scalar(db.select(IdentityRequest))
    staff = app.test_client()
    sign_in(staff, people["cns"])
    staff.post(f"/cns/identity-requests/{filed.id}/reject", data={"reason": "unreadable", "note": "Too dark."})
    db.session.refresh(filed)
    assert filed.status == "rejected" and filed.document_name is None
    shown = text_of(app.test_client().get(status_url + "?lang=en"))
    assert "Rejected" in shown and "Too dark." in shown


def test_an_unknown_reference_is_404(client):
    assert client.get("/activate/request/nope").status_code == 404


def test_the_outbox_page_exists_only_in_demo_mode(app, client):
    assert client.get("/dev/outbox").status_code == 200
    app.config["DEMO_MODE"] = False
    try:
        assert client.get("/dev/outbox").status_code == 404
    finally:
        app.config["DEMO_MODE"] = True


def test_birth_date_field_rejects_absurd_dates(client, make_patient):
    patient = make_patient(with_account=False).profile
    response = _file(client, patient, birth_date="99999-01-01")
    assert response.status_code == 400
    assert date.today()  # the page answered with a field error, not a crash
    assert page(response).select_one("#birth_date-error")


@pytest.mark.parametrize(("make", "filename"), [(_png, "scan.png"), (pdfs.scan, "scan.pdf")])
def test_png_and_pdf_documents_are_accepted_and_shown_to_staff_as_a_png(app, people, make_patient, make, filename):
    patient = make_patient(with_account=False).profile
    content = make()
    assert _file(app.test_client(), patient, content, filename).status_code == 303
    filed = db.session.scalar(db.select(IdentityRequest))
    # A PDF is kept only as a picture of its pages: no PDF is stored, none goes back to staff.
    assert filed.document_type == "image/png"
    staff = app.test_client()
    sign_in(staff, people["cns"])
    detail = page(staff.get(f"/cns/identity-requests/{filed.id}"))
    assert detail.select_one(f'img.id-document[src="/cns/identity-requests/{filed.id}/document"]')
    response = staff.get(f"/cns/identity-requests/{filed.id}/document")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Disposition"] == f'attachment; filename="identity-request-{filed.id}.png"'
    assert response.data.startswith(b"\x89PNG") and b"%PDF" not in response.data
    # Shown in the page as a picture; opened on its own, nothing in it may run, load or submit.
    csp = [directive.strip() for directive in response.headers["Content-Security-Policy"].split(";")]
    assert "default-src 'none'" in csp and "sandbox" in csp
    assert not any(d.startswith(("script-src", "connect-src", "form-action")) for d in csp)


def test_a_pdf_with_too_many_pages_is_refused_with_a_message(client, make_patient):
    patient = make_patient(with_account=False).profile
    response = _file(client, patient, pdfs.scan(pages=pdf_render.MAX_PAGES + 1), "scan.pdf")
    assert response.status_code == 400
    assert f"The PDF has more than {pdf_render.MAX_PAGES} pages." in page(response).select_one("#document-error").text
    assert db.session.scalar(db.select(IdentityRequest)) is None


def test_an_encrypted_pdf_is_refused_with_a_message(client, make_patient):
    patient = make_patient(with_account=False).profile
    response = _file(client, patient, pdfs.encrypted(), "scan.pdf")
    assert response.status_code == 400
    assert "protected by a password" in page(response).select_one("#document-error").text
    assert db.session.scalar(db.select(IdentityRequest)) is None


@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_a_decision_that_fails_to_commit_keeps_the_document(app, people, make_patient, monkeypatch, decision):
    from sqlalchemy.exc import OperationalError

    patient = make_patient(with_account=False).profile
    _file(app.test_client(), patient)
    filed = db.session.scalar(db.select(IdentityRequest))
    document = Path(app.instance_path) / "uploads" / filed.document_name
    staff = app.test_client()
    sign_in(staff, people["cns"])

    def database_lost(*_args, **_kwargs):
        raise OperationalError("COMMIT", {}, Exception("server closed the connection"))

    decide = getattr(requests, decision)

    def decide_then_lose_the_database(*args, **kwargs):
        decided = decide(*args, **kwargs)
        assert decided
        monkeypatch.setattr(db.session, "commit", database_lost)
        return decided

    monkeypatch.setattr(requests, decision, decide_then_lose_the_database)
    response = staff.post(f"/cns/identity-requests/{filed.id}/{decision}", data={"reason": "unreadable"})
    monkeypatch.undo()
    assert response.status_code == 503
    db.session.refresh(filed)
    assert filed.status == "pending" and filed.document_name
    assert document.exists()
    assert staff.get(f"/cns/identity-requests/{filed.id}/document").status_code == 200
    # The agent can decide again; this time the document goes.
    assert staff.post(f"/cns/identity-requests/{filed.id}/{decision}", data={"reason": "unreadable"}).status_code == 303
    db.session.refresh(filed)
    assert filed.status != "pending" and not document.exists()


@pytest.mark.parametrize("registry_mobile", ["+352621999888", None])
def test_the_code_goes_to_the_registers_mobile_before_the_typed_one(app, people, make_patient, registry_mobile):
    patient = make_patient(with_account=False).profile
    patient.mobile = registry_mobile
    db.session.commit()
    # Someone files a request with this person's identity, and their own phone and mailbox.
    _file(app.test_client(), patient, mobile="+352 691 555 444", email="applicant@example.lu")
    filed = db.session.scalar(db.select(IdentityRequest))
    staff = app.test_client()
    sign_in(staff, people["cns"])
    assert staff.post(f"/cns/identity-requests/{filed.id}/approve").status_code == 303
    sent = {(m.channel, m.recipient) for m in db.session.scalars(db.select(OutboxMessage))}
    if registry_mobile:
        assert sent == {("sms", "+352621999888")}
    else:
        # Nobody in the register to send it to: only then what the applicant typed.
        assert sent == {("sms", "+352691555444"), ("email", "applicant@example.lu")}


@pytest.mark.parametrize("typed_birth", ["own", "adult"])
def test_a_child_cannot_ask_for_an_account_of_her_own(app, client, make_patient, typed_birth):
    """An 11-year-old was approved this way; the terms are for adults and a parent opens a child's space.
    Typing an adult's birth date does not help: the matricule begins with the real one."""
    today = date.today()
    child = make_patient(with_account=False, birth=date(today.year - 11, 3, 1)).profile
    typed = child.birth_date if typed_birth == "own" else date(1980, 5, 17)
    before = set(_uploads(app))
    response = _file(client, child, birth_date=typed.isoformat())
    assert response.status_code == 400
    document = page(response)
    assert "Only adults can ask for an account of their own" in document.select_one("#birth_date-error").get_text()
    assert db.session.scalar(db.select(db.func.count()).select_from(IdentityRequest)) == 0
    assert set(_uploads(app)) == before


def test_the_reviewer_sees_the_applicants_age_from_the_register(app, people, make_patient):
    today = date.today()
    patient = make_patient(with_account=False, birth=date(today.year - 40, 1, 1)).profile
    _file(app.test_client(), patient)
    filed = db.session.scalar(db.select(IdentityRequest))
    staff = app.test_client()
    sign_in(staff, people["cns"])
    facts = page(staff.get(f"/cns/identity-requests/{filed.id}?lang=en")).select_one("#registry-facts")
    assert "Age" in facts.get_text() and "40" in facts.get_text()
