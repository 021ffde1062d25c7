"""Static files and compression: what a first visit to the sign-in page costs a person's connection."""

from __future__ import annotations

import gzip
import os
import re
from pathlib import Path

import brotli
import pytest
from bs4 import BeautifulSoup
from flask import Flask, url_for

from portal.config import ROOT
from portal.core import assets
from tests.conftest import make_app

BUDGET = 60 * 1024  # issue 8: first visit to the sign-in page, compressed
FINGERPRINTED = re.compile(r"^/static/.+\.[0-9a-f]{12}\.[^./]+$")
GZIP = {"Accept-Encoding": "gzip"}


def login_url(app) -> str:
    with app.test_request_context():
        return url_for("auth.login")


def subresources(html) -> list[str]:
    """What a browser fetches to show the page: stylesheets, icons, scripts, images."""
    urls = [
        link["href"]
        for link in html.select("link[href]")
        if {"stylesheet", "icon", "preload", "modulepreload", "manifest"} & set(link.get("rel", []))
    ]
    urls += [element["src"] for element in html.select("script[src], img[src], source[src], iframe[src]")]
    if not html.select("link[rel~=icon]"):
        urls.append("/favicon.ico")  # browsers ask for it when the page names no icon
    return urls


def css_references(css: str) -> list[str]:
    return re.findall(r"""url\(\s*['"]?([^'")]+)""", css) + re.findall(r"""@import\s+['"]([^'"]+)""", css)


def body(response) -> bytes:
    decode = {"gzip": gzip.decompress, "br": brotli.decompress}.get(response.headers.get("Content-Encoding"), bytes)
    return decode(response.data)


def test_the_first_visit_to_the_sign_in_page_fits_the_budget_and_stays_on_this_host(app, client):
    response = client.get(login_url(app), headers=GZIP)
    assert response.status_code == 200 and response.headers["Content-Encoding"] == "gzip"
    html = BeautifulSoup(body(response).decode(), "html.parser")
    transferred = {login_url(app): len(response.data)}

    pending = subresources(html)
    assert [url for url in pending if not url.startswith("/") or url.startswith("//")] == []
    while pending:
        url = pending.pop()
        if url in transferred:
            continue
        fetched = client.get(url, headers=GZIP)
        transferred[url] = len(fetched.data)
        if fetched.mimetype == "text/css":
            pending += [ref for ref in css_references(body(fetched).decode()) if not ref.startswith("data:")]
    assert all(url.startswith("/") and not url.startswith("//") for url in transferred)

    links = [element.get("href") or element.get("src") for element in html.select("[href], [src]")]
    assert [link for link in links if re.match(r"^(https?:)?//", link)] == [], "no link to another host"
    assert sum(transferred.values()) <= BUDGET, transferred


@pytest.mark.parametrize(
    ("path", "mimetype"), [("css/portal.css", "text/css"), ("vendor/htmx-2.0.11.min.js", "text/javascript")]
)
def test_a_fingerprinted_file_is_cached_for_a_year_and_compressed_from_the_original(app, client, path, mimetype):
    with app.test_request_context():
        url = assets.asset_url(path)
    assert FINGERPRINTED.match(url), url
    original = (ROOT / "static" / path).read_bytes()

    for encoding in ("br", "gzip"):
        response = client.get(url, headers={"Accept-Encoding": encoding})
        assert response.status_code == 200
        assert response.mimetype == mimetype
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert response.headers["Content-Encoding"] == encoding
        assert "Accept-Encoding" in response.headers["Vary"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert len(response.data) < len(original)
        assert body(response) == original

    plain = client.get(url, headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers and plain.data == original
    again = client.get(url, headers={**GZIP, "If-None-Match": client.get(url, headers=GZIP).headers["ETag"]})
    assert again.status_code == 304


def test_a_fingerprinted_file_does_not_vary_with_the_session_cookie(app, client):
    client.get(login_url(app))  # the sign-in page starts a session
    assert client.get_cookie(app.config["SESSION_COOKIE_NAME"]) is not None
    with app.test_request_context():
        url = assets.asset_url("css/portal.css")
    response = client.get(url, headers=GZIP)
    assert "Cookie" not in response.headers["Vary"]
    assert "Set-Cookie" not in response.headers


def test_a_plain_static_url_is_cached_briefly(client):
    response = client.get("/static/css/portal.css")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=300"


def fingerprinted_app(folder: Path, debug: bool = False) -> Flask:
    app = Flask(__name__, static_folder=str(folder), static_url_path="/static")
    app.debug = debug
    assets.init_app(app)
    return app


def url_of(app: Flask, path: str) -> str:
    with app.test_request_context():
        return assets.asset_url(path)


def test_a_changed_file_gets_a_new_url(tmp_path):
    (tmp_path / "css").mkdir()
    stylesheet = tmp_path / "css" / "site.css"
    stylesheet.write_text("body { color: black }")
    before = url_of(fingerprinted_app(tmp_path), "css/site.css")

    stylesheet.write_text("body { color: navy }")
    release = fingerprinted_app(tmp_path)
    after = url_of(release, "css/site.css")

    assert before != after
    assert FINGERPRINTED.match(before) and FINGERPRINTED.match(after)
    assert before.startswith("/static/css/site.") and before.endswith(".css")
    client = release.test_client()
    assert client.get(after).data == b"body { color: navy }"
    # A page from the other release, during a rolling deploy: today's file, kept by no cache.
    stale = client.get(before)
    assert stale.status_code == 200 and stale.headers["Cache-Control"] == "no-cache"


def test_in_development_an_edited_file_gets_a_new_url_without_a_restart(tmp_path):
    script = tmp_path / "app.js"
    script.write_text("one()")
    app = fingerprinted_app(tmp_path, debug=True)
    before = url_of(app, "app.js")
    modified = script.stat().st_mtime_ns
    script.write_text("two()")
    os.utime(script, ns=(modified + 10**9, modified + 10**9))
    assert url_of(app, "app.js") != before


def test_an_unknown_static_file_fails_loudly_in_a_template(app):
    with app.test_request_context(), pytest.raises(LookupError):
        assets.asset_url("css/no-such-file.css")


def test_a_page_is_compressed_and_decompresses_to_the_same_page(app, client):
    compressed = client.get(login_url(app), headers={"Accept-Encoding": "br, gzip"})
    plain = client.get(login_url(app), headers={"Accept-Encoding": "identity"})
    assert compressed.headers["Content-Encoding"] == "br" and "Content-Encoding" not in plain.headers
    assert {"Accept-Encoding", "Sec-Fetch-Site"} <= set(compressed.headers["Vary"].split(", "))

    def without_tokens(html: bytes) -> str:
        # The CSRF token is signed with the time: two requests may differ there alone.
        return re.sub(r'(X-CSRFToken": "|name="csrf_token" type="hidden" value=")[^"]*', r"\1", html.decode())

    assert without_tokens(body(compressed)) == without_tokens(plain.data)


@pytest.mark.parametrize("site", ["cross-site", "same-site"])
def test_a_page_another_site_asked_for_is_not_compressed(app, client, site):
    # BREACH: compression would let that site measure guesses against secrets on the page.
    response = client.get(login_url(app), headers={**GZIP, "Sec-Fetch-Site": site})
    assert response.status_code == 200
    assert "Content-Encoding" not in response.headers
    assert "Sec-Fetch-Site" in response.headers["Vary"]


def test_a_pdf_is_sent_as_it_is(signed_in, people, make_invoice):
    client, patient = signed_in("patient")
    invoice = make_invoice(patient, people["doctor"])
    response = client.get(f"/patient/invoices/{invoice.id}.pdf", headers={"Accept-Encoding": "br, gzip"})
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "Content-Encoding" not in response.headers
    assert response.data.startswith(b"%PDF-")


def test_already_compressed_formats_are_never_recompressed(app):
    assert not {"application/pdf", "application/zip", "image/png", "image/jpeg"} & set(app.config["COMPRESS_MIMETYPES"])


def test_behind_a_compressing_proxy_pages_go_out_as_they_are(app):
    # COMPRESS_RESPONSES=0: the proxy compresses; the worker spends no time on it.
    plain_app = make_app(COMPRESS_RESPONSES=False)
    response = plain_app.test_client().get(login_url(plain_app), headers={"Accept-Encoding": "br, gzip"})
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert "Content-Encoding" not in response.headers
    assert "compress" not in plain_app.extensions
    # Static files keep the bodies compressed once at start-up: serving them costs nothing.
    with plain_app.test_request_context():
        script = url_for("static", filename=plain_app.extensions["assets"].get("css/portal.css").url_path)
    static = plain_app.test_client().get(script, headers={"Accept-Encoding": "br"})
    assert static.headers["Content-Encoding"] == "br"


def test_compression_is_on_unless_switched_off(app):
    assert app.config["COMPRESS_RESPONSES"] is True
    assert "compress" in app.extensions
