"""The cookies the settings page lists are those a real sign-in sets, with the lifetimes it says;
signing out deletes the session cookie."""

from __future__ import annotations

from http.cookies import SimpleCookie

import pytest

from portal.accounts import cookies
from tests.fixtures.clients import fresh_code, text_of, url_for


def _set_cookies(response) -> dict[str, SimpleCookie]:
    found = {}
    for header in response.headers.getlist("Set-Cookie"):
        for name, morsel in SimpleCookie(header).items():
            found[name] = morsel
    return found


def _sign_in_collecting(client, person) -> dict:
    """Every cookie a first visit and a whole sign-in set, by name (the last value wins)."""
    seen = {}
    for response in (
        client.get("/"),
        client.get("/login"),
        client.post("/login", data={"login": person.login, "password": person.password}),
        client.post("/login/code", data={"code": fresh_code(person)}),
    ):
        seen.update(_set_cookies(response))
    return seen


def test_the_table_lists_exactly_the_cookies_a_sign_in_sets_with_their_lifetimes(app, client, people):
    seen = _sign_in_collecting(client, people["patient"])
    with app.test_request_context("/?lang=en"):
        table = {cookie.name: str(cookie.lifetime) for cookie in cookies.essential()}
    assert set(seen) == set(table)
    session_cookie = seen[app.config["SESSION_COOKIE_NAME"]]
    assert not session_cookie["expires"] and not session_cookie["max-age"]  # until the browser closes
    assert "Until you close the browser" in table[app.config["SESSION_COOKIE_NAME"]]
    device = seen["portal_device"]
    assert int(device["max-age"]) == 400 * 24 * 3600 and "400 days" in table["portal_device"]
    for morsel in seen.values():
        assert morsel["httponly"], morsel.key  # no script reads any of them


@pytest.mark.parametrize("who", ["patient", "doctor", "cns"])
def test_the_settings_list_the_cookies_with_why_and_how_long(app, client, people, who):
    _sign_in_collecting(client, people[who])
    shown = text_of(client.get(url_for("auth.account_sessions") + "?lang=en"))
    for name in ("portal_session", "portal_device"):
        assert name in shown
    assert "no advertising, no audience measurement" in shown
    assert "400 days" in shown


def test_the_patient_settings_page_lists_them_too(app, client, people):
    _sign_in_collecting(client, people["patient"])
    shown = text_of(client.get(url_for("patient.settings") + "?lang=en"))
    assert "portal_session" in shown and "portal_device" in shown


def test_signing_out_deletes_the_session_cookie_and_keeps_only_the_browser_key(app, client, people):
    _sign_in_collecting(client, people["patient"])
    assert client.get_cookie("portal_session") is not None
    response = client.post("/logout?lang=de")
    assert response.status_code == 303
    deleted = _set_cookies(response)["portal_session"]
    assert deleted.value == "" and (deleted["max-age"] == "0" or "1970" in deleted["expires"])
    assert client.get_cookie("portal_session") is None
    with app.test_request_context():
        kept = {cookie.name for cookie in cookies.essential() if not cookie.removed_at_signout}
    assert {name for name in ("portal_session", "portal_device") if client.get_cookie(name)} == kept
    home = client.get(response.headers["Location"])
    assert "Sie haben sich abgemeldet." in text_of(home)  # in the language the person was using
    assert client.get("/patient/", follow_redirects=False).status_code in (302, 303)  # signed out for real
