"""Security headers, error pages, health check and the public pages."""

import pytest
from flask import url_for

from tests.fixtures.clients import page, text_of

PUBLIC_PAGES = ["public.home", "public.terms_of_use", "public.privacy", "public.accessibility", "auth.login"]


@pytest.mark.parametrize("endpoint", PUBLIC_PAGES)
def test_security_headers_on_every_page(app, client, endpoint):
    with app.test_request_context():
        path = url_for(endpoint)
    response = client.get(path)
    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "script-src 'self'" in csp and "style-src 'self'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "HX-Request" in response.headers["Vary"]


def test_no_hsts_outside_production(client):
    assert "Strict-Transport-Security" not in client.get("/").headers


def test_signed_in_pages_are_not_cached(signed_in):
    client, _ = signed_in("patient")
    response = client.get("/patient/")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


def test_session_cookie_is_http_only_and_lax(signed_in):
    client, _ = signed_in("doctor")
    cookie = client.get_cookie("portal_session")
    assert cookie.http_only and cookie.same_site == "Lax"


@pytest.mark.parametrize(
    ("lang", "title"),
    [("fr", "Page introuvable"), ("de", "Seite nicht gefunden"), ("en", "Page not found")],
)
def test_404_page_in_three_languages_without_traceback(client, lang, title):
    response = client.get(f"/no-such-page?lang={lang}")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert title in text_of(response)
    assert "Traceback" not in html
    assert f'lang="{lang}"' in html


def test_405_and_413_have_their_own_pages(app, client):
    response = client.post("/terms")
    assert response.status_code == 405
    assert "Allow" in response.headers
    big = "x" * (app.config["MAX_CONTENT_LENGTH"] + 10)
    response = client.post("/login?lang=en", data={"login": big, "password": "p"})
    assert response.status_code == 413
    assert "too large" in text_of(response)


def test_500_page_hides_the_error(app, client, monkeypatch):
    from portal.public import views

    def explode():
        raise RuntimeError("secret detail")

    monkeypatch.setattr(views.terms, "current_version", explode)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    try:
        response = client.get("/terms?lang=en")
    finally:
        app.config["PROPAGATE_EXCEPTIONS"] = None
    assert response.status_code == 500
    assert "secret detail" not in response.get_data(as_text=True)
    assert "Something went wrong" in text_of(response)


def test_csrf_failure_is_a_clear_400(app):
    from tests.conftest import make_app

    strict = make_app(WTF_CSRF_ENABLED=True)
    response = strict.test_client().post("/login?lang=en", data={"login": "x", "password": "y"})
    assert response.status_code == 400
    assert "form expired" in text_of(response)


def test_healthz_reports_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}


def test_healthz_answers_503_when_the_database_is_down(app, client, monkeypatch):
    from sqlalchemy.exc import OperationalError

    from portal.extensions import db

    def down(*_args, **_kwargs):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    with app.app_context():
        monkeypatch.setattr(db.session, "execute", down)
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json["database"] == "unreachable"


@pytest.mark.parametrize("path", ["/", "/terms", "/privacy", "/accessibility", "/activate", "/login", "/forgot"])
@pytest.mark.parametrize("lang", ["fr", "de", "en"])
def test_public_pages_render_in_each_language(client, path, lang):
    response = client.get(f"{path}?lang={lang}")
    assert response.status_code == 200
    document = page(response)
    assert document.html["lang"] == lang
    assert document.find("main", id="main").find("h1")
    assert document.find("a", class_="skip-link")["href"] == "#main"


def test_footer_links_to_the_legal_pages(client):
    links = {a["href"] for a in page(client.get("/")).select("footer a")}
    assert {"/terms", "/privacy", "/accessibility"} <= links
