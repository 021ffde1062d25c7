"""Signing in and out through the real forms, for every role, and enrolling an authenticator."""

from __future__ import annotations

import pyotp
import pytest
from playwright.sync_api import expect

from tests.e2e.data import create_unenrolled_doctor, forget_terms
from tests.e2e.signing import (
    LOGIN_REDIRECT,
    accept,
    home_of,
    path_of,
    sign_in,
    sign_out,
    submit_password,
    wait_for_path,
)

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("role", ["patient", "doctor", "cns"])
def test_sign_in_accept_terms_and_sign_out(page, live_server, authenticator, role):
    account = live_server.accounts[role]
    forget_terms(live_server.app, account.login)  # other tests may have accepted them already

    sign_in(page, account, authenticator, accept_terms=False)
    assert path_of(page) == "/terms/accept"
    accept(page)

    assert path_of(page) == home_of(role)
    expect(page.locator("h1")).to_be_visible()

    sign_out(page)
    assert path_of(page) == "/"
    page.goto(home_of(role))
    expect(page).to_have_url(LOGIN_REDIRECT)


def test_wrong_password_shows_an_error(page, live_server):
    account = live_server.accounts["doctor"]
    submit_password(page, account.__class__(account.role, account.login, "not the password", account.name))

    expect(page.locator(".flash-error")).to_be_visible()
    assert path_of(page) == "/login"


def test_enrol_an_authenticator_at_first_sign_in(page, live_server, authenticator):
    login, password = "90999999", "some long passphrase here"
    create_unenrolled_doctor(live_server.app, login, password)

    page.goto("/login")
    page.fill("#login", login)
    page.fill("#password", password)
    page.click("#submit")
    wait_for_path(page, "/login/enrol")

    expect(page.locator('img[src="/login/enrol/qr.svg"]')).to_be_visible()
    # The QR image must really load (it is only served during enrolment).
    assert page.locator('img[src="/login/enrol/qr.svg"]').evaluate("img => img.naturalWidth") > 0
    secret = page.locator("code.secret").inner_text().strip()
    assert pyotp.TOTP(secret).now()  # a valid base32 secret, as an app would read it

    page.fill("#code", authenticator.code(login, secret))
    page.click("#submit")
    expect(page.locator("ul.codes code")).to_have_count(10)

    page.click("a.button")
    wait_for_path(page, "/terms/accept")
    accept(page)
    assert path_of(page) == home_of("doctor")
    expect(page.locator("h1")).to_be_visible()
