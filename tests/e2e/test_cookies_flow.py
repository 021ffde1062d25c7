"""The cookies the settings page lists are the ones the browser really holds after signing in,
and signing out leaves only the one the page says is kept (portal/accounts/cookies.py)."""

from __future__ import annotations

import time
from urllib.parse import urlparse

import pytest
from flask_babel import force_locale
from playwright.sync_api import expect

from portal.accounts import cookies
from tests.e2e.my_data_data import PhoneOf, fresh_patient
from tests.e2e.signing import new_page, sign_in, sign_out, wait_for_path

pytestmark = pytest.mark.e2e

LANGUAGES = ["fr", "de", "en"]
COOKIE_ROWS = "section[aria-labelledby='cookies-heading'] tbody tr"


def listed(page) -> dict[str, str]:
    """The cookies table of the page: name -> what it says of how long the cookie lasts."""
    page.locator(COOKIE_ROWS).first.wait_for()
    return {row.locator("th code").inner_text(): row.locator("td").last.inner_text()
            for row in page.locator(COOKIE_ROWS).all()}


def table_in(app, language: str) -> dict[str, tuple[str, bool]]:
    """What portal.accounts.cookies says, in `language`: name -> (how long, deleted at sign-out)."""
    with app.test_request_context(), force_locale(language):
        return {cookie.name: (str(cookie.lifetime), cookie.removed_at_signout) for cookie in cookies.essential()}


def held(page) -> dict[str, dict]:
    return {cookie["name"]: cookie for cookie in page.context.cookies()}


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_listed_cookies_are_those_the_browser_holds(browser, live_server, console, authenticator, language):
    app = live_server.app
    person = fresh_patient(app, f"Cookie{language}")
    table = table_in(app, language)
    session_cookie = app.config["SESSION_COOKIE_NAME"]
    page = new_page(browser, live_server, console)
    try:
        sign_in(page, person, PhoneOf(authenticator, person))
        page.goto(f"/patient/settings?lang={language}")
        expect(page.locator("html")).to_have_attribute("lang", language)
        shown = listed(page)
        browser_has = held(page)
        assert set(browser_has) == set(shown) == set(table), (sorted(browser_has), sorted(shown))
        assert shown == {name: lifetime for name, (lifetime, _removed) in table.items()}
        assert all(cookie["httpOnly"] for cookie in browser_has.values())  # no script reads them
        # "Until you close the browser": a session cookie, with no expiry date of its own.
        assert browser_has[session_cookie]["expires"] == -1
        kept = {name for name, (_text, removed) in table.items() if not removed}
        for name in kept:  # "400 days"
            assert browser_has[name]["expires"] - time.time() > 399 * 24 * 3600

        signed_in_value = browser_has[session_cookie]["value"]
        with page.expect_response(lambda response: urlparse(response.url).path == "/logout") as logout:
            sign_out(page)
        assert f"{session_cookie}=;" in _set_cookie_headers(logout.value)  # deleted by the sign-out itself
        after = held(page)
        # Only the kept cookies remain of the signed-in ones; the home page the browser lands on
        # may start an anonymous session of its own (for its forms), with a new value.
        assert set(after) - {session_cookie} == kept, sorted(after)
        assert after.get(session_cookie, {}).get("value") != signed_in_value
        page.goto("/patient/")
        wait_for_path(page, "/login")

        # The privacy notice, open to anyone, lists the same cookies and says which stays.
        page.goto(f"/privacy?lang={language}")
        shown = listed(page)
        assert set(shown) == set(table)
        for name in kept:
            assert shown[name] == table[name][0]
        if language == "en":
            assert "It stays when you sign out" in shown["portal_device"]
            assert "Signing out deletes it." in shown[session_cookie]
    finally:
        page.context.close()


def _set_cookie_headers(response) -> str:
    return "\n".join(header["value"] for header in response.headers_array() if header["name"].lower() == "set-cookie")
