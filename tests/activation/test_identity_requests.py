"""Self-service identity requests, reviewed by CNS staff."""

import io
from datetime import date
from pathlib import Path

import pytest
from PIL import Image

from portal.extensions import db
from portal.models import ActivationCode, AuditEvent, IdentityRequest, OutboxMessage
from tests.fixtures.clients import page, sign_in, text_of


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 120, 40)).save(buffer, format="JPEG")
    return buffer.getvalue()


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
    assert response.status_code == 200
    assert page(response).select_one("#document-error")
    if message:
        assert message in text_of(response)
    assert db.session.scalar(db.select(IdentityRequest)) is None
    assert _uploads(app) == before


def test_an_oversized_file_is_refused(app, client, make_patient):
    patient = make_patient(with_account=False).profile
    big = _jpeg() + b"\0" * (5 * 1024 * 1024)
    response = _file(client, patient, big)
    assert response.status_code == 200 and "larger than 5 MB" in text_of(response)
    huge = _jpeg() + b"\0" * (7 * 1024 * 1024)
    assert _file(client, patient, huge).status_code == 413


def test_a_hostile_file_name_is_ignored(app, client, make_patient):
    patient = make_patient(with_account=False).profile
    response = _file(client, patient, filename="../../x.pdf")
    assert response.status_code == 303
    filed = db.session.scalar(db.select(IdentityRequest))
    assert "x.pdf" not in filed.document_name and not (Path(app.instance_path).parent / "x.pdf").exists()
    assert all(p.parent.name == "uploads" for p in _uploads(app))


def test_images_are_re_encoded(app, client, make_patient):
    from portal import uploads

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
    assert {m.channel for m in messages} == {"sms", "email"}
    assert "/activate/" in messages[0].body
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
    assert response.status_code == 200
    assert date.today()  # the page answered with a field error, not a crash
    assert page(response).select_one("#birth_date-error")
