"""Security headers beyond the public pages: signed-in pages, fragments, errors, PDFs, production."""

import pytest

from tests.conftest import TEST_SETTINGS, make_app
from tests.fixtures.clients import page
from tests.fixtures.legal import LEGAL_ENV

# One page of each role's own space.
ROLE_PAGES = {"patient": "/patient/", "doctor": "/doctor/activations", "cns": "/cns/identity-requests"}


def assert_hardened(response):
    csp = dict(
        (directive.split(" ", 1) + [""])[:2] for directive in response.headers["Content-Security-Policy"].split("; ")
    )
    script_sources = csp.get("script-src", csp.get("default-src", ""))
    assert "'unsafe-inline'" not in script_sources and "'unsafe-eval'" not in script_sources
    assert csp["frame-ancestors"] == "'none'"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"


@pytest.mark.parametrize("role", ["patient", "doctor", "cns"])
def test_each_roles_pages_are_hardened_and_never_cached(signed_in, role):
    client, _ = signed_in(role)
    response = client.get(ROLE_PAGES[role])
    assert response.status_code == 200
    assert_hardened(response)
    assert response.headers["Cache-Control"] == "no-store"


def test_an_htmx_fragment_is_hardened_and_never_cached(signed_in, make_patient):
    client, _ = signed_in("doctor")
    patient = make_patient(with_account=False).profile
    response = client.get(f"/doctor/activations?matricule={patient.matricule}", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert page(response).find("html") is None, "expected the fragment alone"
    assert_hardened(response)
    assert response.headers["Cache-Control"] == "no-store"
    assert "HX-Request" in response.headers["Vary"]


def test_an_error_page_for_a_signed_in_person_is_hardened_and_never_cached(signed_in):
    client, _ = signed_in("doctor")
    response = client.get("/cns/")
    assert response.status_code == 403
    assert_hardened(response)
    assert response.headers["Cache-Control"] == "no-store"


def test_an_anonymous_error_page_is_hardened(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert_hardened(response)


def test_an_invoice_pdf_is_hardened_and_never_cached(signed_in, people, make_invoice):
    client, patient = signed_in("patient")
    invoice = make_invoice(patient, people["doctor"])
    response = client.get(f"/patient/invoices/{invoice.id}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF-")
    assert_hardened(response)
    assert response.headers["Cache-Control"] == "no-store"


PRODUCTION_KEYS = {
    "SECRET_KEY": "p" * 64,
    "FIELD_ENCRYPTION_KEY": TEST_SETTINGS["FIELD_ENCRYPTION_KEY"],
    "PUBLIC_BASE_URL": "https://portal.example.lu",
    **LEGAL_ENV,
}


def in_production(monkeypatch):
    """The app as `PORTAL_ENV=production` builds it (tests.conftest would otherwise say "testing")."""
    monkeypatch.setenv("PORTAL_ENV", "production")
    for name, value in PRODUCTION_KEYS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    return make_app(PORTAL_ENV="production", **PRODUCTION_KEYS)


@pytest.fixture
def production(monkeypatch):
    application = in_production(monkeypatch)
    assert application.config["DEMO_MODE"] is False
    return application.test_client()


@pytest.mark.parametrize(("method", "path"), [("get", "/"), ("get", "/no-such-page"), ("post", "/login")])
def test_production_responses_ask_for_https(production, method, path):
    response = getattr(production, method)(path, base_url="https://portal.example.lu")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert int(response.headers["Strict-Transport-Security"].split("=")[1].split(";")[0]) >= 31536000
    assert_hardened(response)


def test_production_session_cookie_is_secure_http_only_and_lax(production):
    response = production.post(
        "/login", data={"login": "0000000000000", "password": "not the password"}, base_url="https://portal.example.lu"
    )
    assert response.status_code == 200
    (cookie,) = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("portal_session=")]
    attributes = {part.strip().split("=")[0].lower(): part.strip() for part in cookie.split(";")[1:]}
    assert "secure" in attributes and "httponly" in attributes
    assert attributes["samesite"].lower() == "samesite=lax"
