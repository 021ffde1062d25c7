"""The htmx helpers: which requests get a fragment, and how a redirect reaches htmx."""

from __future__ import annotations

import pytest
from flask import Response

from portal.core import htmx


@pytest.mark.parametrize(("headers", "partial"), [
    ({}, False),
    ({"HX-Request": "true"}, True),
    ({"HX-Request": "true", "HX-Boosted": "true"}, False),  # boosted navigation wants the page
    ({"HX-Request": "false"}, False),
])
def test_only_a_plain_htmx_request_gets_a_fragment(app, headers, partial):
    with app.test_request_context("/", headers=headers):
        assert htmx.is_partial() is partial


def test_htmx_is_told_to_load_the_page_with_an_empty_200(app):
    with app.test_request_context("/", headers={"HX-Request": "true", "HX-Boosted": "true"}):
        response = htmx.redirect("/patient/claims?page=2")
    assert response.status_code == 200 and response.get_data() == b""
    assert response.headers["HX-Redirect"] == "/patient/claims?page=2" and "Location" not in response.headers
    assert response.headers["Content-Type"] == Response().headers["Content-Type"]


def test_a_page_without_htmx_gets_a_303(app):
    with app.test_request_context("/"):
        response = htmx.redirect("/patient/claims")
    assert response.status_code == 303 and response.headers["Location"] == "/patient/claims"
    assert "HX-Redirect" not in response.headers


def test_responses_vary_on_hx_request(app):
    response = htmx.add_vary(Response())
    assert "HX-Request" in response.vary
