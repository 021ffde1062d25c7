"""Links that leave the portal carry its configured address, never the request's Host header.

Before PUBLIC_BASE_URL, `Host: evil.example` on the doctor's form gave a QR code pointing to
http://evil.example/activate/<token>: the patient would hand the code to whoever runs that host.
"""

import io

import pytest
import zxingcpp
from pypdf import PdfReader

from portal import config
from portal.extensions import db
from portal.models import IdentityRequest, OutboxMessage
from tests.activation.test_identity_requests import _file
from tests.conftest import make_app
from tests.fixtures.clients import page, sign_in
from tests.fixtures.legal import LEGAL_ENV

PUBLIC = "https://portal.example.lu"


@pytest.fixture
def public_address(app, monkeypatch):
    """The session's app as production runs it: one public address, its host and one internal name
    (here the test client's `localhost`, as a load balancer's health check might use) answered."""
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", PUBLIC)
    monkeypatch.setitem(app.config, "TRUSTED_HOSTS", ["portal.example.lu", "localhost"])
    return app


def _letter_link(client, patient) -> str:
    data = {
        "matricule": patient.profile.matricule, "birth_date": patient.profile.birth_date.isoformat(),
        "document_type": "identity_card", "document_last4": "ab12",
        "mobile": "+352 621 123 456", "language": "fr", "identity_checked": "y",
    }
    letter = client.post("/doctor/activations?lang=en", data=data)
    assert letter.status_code == 200
    token = page(letter).select_one('input[name="token"]')["value"]
    code_id = page(letter).select_one("form[action$='letter.pdf']")["action"].split("/")[-2]
    pdf = client.post(f"/doctor/activations/{code_id}/letter.pdf", data={"token": token})
    image = next(iter(PdfReader(io.BytesIO(pdf.data)).pages[0].images)).image
    return zxingcpp.read_barcodes(image.convert("L"))[0].text


def test_a_request_for_another_host_is_refused(public_address, make_patient):
    client = public_address.test_client()
    for headers in ({"Host": "evil.example"}, {"Host": "evil.example:443"}, {"Host": "portal.example.lu.evil.example"}):
        response = client.get("/login", headers=headers)
        assert response.status_code == 400, headers
    assert client.get("/login", base_url=PUBLIC).status_code == 200


def test_a_host_forwarded_by_the_trusted_proxy_is_checked_too():
    behind_proxy = make_app(PUBLIC_BASE_URL=PUBLIC, TRUSTED_PROXIES=1).test_client()
    forged = behind_proxy.get("/login", base_url=PUBLIC, headers={"X-Forwarded-Host": "evil.example"})
    assert forged.status_code == 400
    honest = behind_proxy.get("/login", base_url="http://10.0.0.5", headers={"X-Forwarded-Host": "portal.example.lu"})
    assert honest.status_code == 200


def test_the_letter_qr_code_points_to_the_public_address(public_address, make_doctor, make_patient):
    doctor, patient = make_doctor(), make_patient(with_account=False)
    client = public_address.test_client()
    sign_in(client, doctor)
    link = _letter_link(client, patient)
    assert link.startswith(f"{PUBLIC}/activate/"), link


def test_the_approval_sms_points_to_the_public_address(public_address, people, make_patient):
    patient = make_patient(with_account=False).profile
    _file(public_address.test_client(), patient)
    filed = db.session.scalar(db.select(IdentityRequest))
    staff = public_address.test_client()
    sign_in(staff, people["cns"])
    assert staff.post(f"/cns/identity-requests/{filed.id}/approve").status_code == 303
    # The alert that a code was issued, then the code itself: both point to the public address.
    alert, message = db.session.scalars(db.select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert f"{PUBLIC}/not-me/" in alert.body and "localhost" not in alert.body
    assert f"{PUBLIC}/activate/" in message.body and "localhost" not in message.body


def test_production_needs_a_public_address(monkeypatch):
    monkeypatch.setenv("PORTAL_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 64)
    monkeypatch.setenv("FIELD_ENCRYPTION_KEY", "0n3Xn1mWcH3Pj0qLqX8gk0m3j7S9gVsz9hA0KZUo9yE=")
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    for name, value in LEGAL_ENV.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(config.ConfigError, match="PUBLIC_BASE_URL"):
        config.load()
    for wrong in ("portal.example.lu", "ftp://portal.example.lu", "https://portal.example.lu/?next=x"):
        monkeypatch.setenv("PUBLIC_BASE_URL", wrong)
        with pytest.raises(config.ConfigError, match="PUBLIC_BASE_URL"):
            config.load()
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://portal.example.lu/")
    monkeypatch.setenv("TRUSTED_HOSTS", "10.0.0.5, portal-internal")
    settings = config.load()
    assert settings["PUBLIC_BASE_URL"] == "https://portal.example.lu"
    assert settings["TRUSTED_HOSTS"] == ["portal.example.lu", "10.0.0.5", "portal-internal"]
