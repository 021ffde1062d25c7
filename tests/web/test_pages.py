"""Security headers, error pages, health check and the public pages."""

from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask import abort, url_for

from tests.fixtures.clients import page, sign_in, text_of

TRANSLATIONS = Path(__file__).resolve().parents[2] / "translations"

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


# What an English visitor reads on each error page (the catalogues' message ids).
ERRORS = {
    400: ("The request could not be understood", "Please go back, check what you entered and try again."),
    403: ("Access denied", "Your account does not give access to this page."),
    404: ("Page not found", "This page does not exist or is not available to you."),
    405: ("Action not allowed", "This page cannot be used that way."),
    413: ("File or form too large", "What you sent is larger than the portal accepts. Please send something smaller."),
    429: ("Too many attempts", "Please wait a moment before trying again."),
    500: (
        "Something went wrong",
        "An unexpected error occurred. Nothing you entered was saved. Please try again later.",
    ),
}


def translated(english: str, lang: str) -> str:
    """The sentence as the catalogue of `lang` has it (English: the sentence itself)."""
    with (TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        message = read_po(handle, locale=lang).get(english)
    if lang == "en":
        return (message and message.string) or english
    assert message is not None and message.string, f"{english!r} has no {lang} translation"
    return message.string


@pytest.fixture
def error_app():
    """A fresh app with a tiny sign-in limit and two test-only routes: a refused request and a crash."""
    from portal.web.access import PUBLIC, allow
    from tests.conftest import make_app

    application = make_app(PROPAGATE_EXCEPTIONS=False, SIGNIN_RATE_LIMIT="1/minute")

    @allow(PUBLIC)
    def refused():
        abort(400)

    @allow(PUBLIC)
    def crash():
        raise RuntimeError("secret detail from the database")

    application.add_url_rule("/test-only/refused", view_func=refused)
    application.add_url_rule("/test-only/crash", view_func=crash)
    return application


def _error_response(code: int, lang: str, application, people):
    client = application.test_client()
    if code == 400:
        return client.get(f"/test-only/refused?lang={lang}")
    if code == 403:
        sign_in(client, people["doctor"])
        return client.get(f"/cns/?lang={lang}")
    if code == 404:
        return client.get(f"/no-such-page?lang={lang}")
    if code == 405:
        return client.post(f"/terms?lang={lang}")
    if code == 413:
        big = "x" * (application.config["MAX_CONTENT_LENGTH"] + 10)
        return client.post(f"/login?lang={lang}", data={"login": big, "password": "p"})
    if code == 429:
        client.post(f"/login?lang={lang}", data={"login": "nobody", "password": "first try"})
        return client.post(f"/login?lang={lang}", data={"login": "nobody", "password": "second try"})
    return client.get(f"/test-only/crash?lang={lang}")


@pytest.mark.parametrize("lang", ["fr", "de", "en"])
@pytest.mark.parametrize("code", [400, 403, 404, 405, 413, 429, 500])
def test_error_pages_speak_the_visitors_language(error_app, people, code, lang):
    response = _error_response(code, lang, error_app, people)
    assert response.status_code == code
    html = response.get_data(as_text=True)
    document = page(response)
    assert document.html["lang"] == lang
    title, message = ERRORS[code]
    assert document.find("main", id="main").find("h1").get_text(strip=True) == translated(title, lang)
    shown = text_of(response)
    assert translated(message, lang) in shown
    if lang != "en":
        assert title not in shown and message not in shown
    assert "Traceback" not in html and "secret detail" not in html and "RuntimeError" not in html


def test_405_and_413_have_their_own_pages(app, client):
    response = client.post("/terms")
    assert response.status_code == 405
    assert "Allow" in response.headers
    big = "x" * (app.config["MAX_CONTENT_LENGTH"] + 10)
    response = client.post("/login?lang=en", data={"login": big, "password": "p"})
    assert response.status_code == 413
    assert "too large" in text_of(response)


def test_500_page_hides_the_error(app, client, monkeypatch):
    from portal.web.public import views

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
