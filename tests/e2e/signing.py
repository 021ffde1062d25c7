"""Signing in through the real forms, as a person with an authenticator app would."""

from __future__ import annotations

import re
import time
from urllib.parse import urlparse

import pyotp

from portal.demo import demo_secret

STEP = 30
# The longest a step may wait for the state it expects (an element, a URL, a download). Steps
# wait for states, never for time; the bound only decides when a missing state fails the test, and
# a loaded 2-core machine can take many seconds to build an export or a PDF.
STEP_TIMEOUT_MS = 30_000


class Authenticator:
    """The phone: gives codes, never the same 30-second step twice for one login.

    The portal accepts each step only once per account, and one step ahead of its clock.
    So a second sign-in within one step uses the next step's code, and a third one waits
    (as a person would wait for the app to show a new code).
    """

    def __init__(self) -> None:
        self.last_step: dict[str, int] = {}

    def code(self, login: str, secret: str | None = None) -> str:
        secret = secret or demo_secret(login)
        now = time.time()
        step = max(int(now // STEP), self.last_step.get(login, -1) + 1)
        # The server takes `step` once its own clock reaches step - 1; half a second of margin.
        wait = (step - 1) * STEP - now + 0.5
        if wait > 0:
            time.sleep(wait)
        self.last_step[login] = step
        return pyotp.TOTP(secret).at(step * STEP)


def new_page(browser, live_server, console, **options):
    """A page in a browser of its own (a new context: no cookie shared with any other page), its
    console errors watched; `options` are Playwright's context options (viewport, JavaScript…).
    Close it with `page.context.close()`."""
    context = browser.new_context(base_url=live_server.url, **options)
    console.watch(context)
    page = context.new_page()
    page.set_default_timeout(STEP_TIMEOUT_MS)
    return page


def path_of(page) -> str:
    return urlparse(page.url).path


def wait_for_path(page, path: str, timeout: float = STEP_TIMEOUT_MS) -> None:
    """Wait until the page shows `path` (query string ignored)."""
    page.wait_for_url(lambda url: urlparse(url).path == path, timeout=timeout)


def submit_password(page, account) -> None:
    page.goto("/login")
    page.fill("#login", account.login)
    page.fill("#password", account.password)
    page.click("#submit")


def sign_in(page, account, authenticator: Authenticator, *, accept_terms: bool = True) -> None:
    """Password, then code; accepts the terms of use if the portal asks for them."""
    submit_password(page, account)
    wait_for_path(page, "/login/code")
    page.fill("#code", authenticator.code(account.login))
    page.click("#submit")
    page.wait_for_url(lambda url: urlparse(url).path != "/login/code")
    if accept_terms and path_of(page) == "/terms/accept":
        accept(page)


def accept(page) -> None:
    """Tick the box and accept the terms of use; waits to leave the terms page."""
    page.check("#accept")
    page.click("#submit")
    page.wait_for_url(lambda url: urlparse(url).path != "/terms/accept")


def open_account_menu(page) -> None:
    """Open the header's account settings as a person would: the "Menu" disclosure first on a
    narrow screen (on a wide one its content is laid out in the header), then "Account"."""
    for menu in ("#menu", "#account-menu"):
        summary = page.locator(f"{menu} > summary")
        if summary.is_visible() and page.locator(menu).get_attribute("open") is None:
            summary.click()


def sign_out(page) -> None:
    open_account_menu(page)
    page.click('form[action="/logout"] button')
    wait_for_path(page, "/")


def unlock_if_locked(page, account) -> None:
    """Patients lock after 14 s idle here; a slow step may meet the lock legitimately."""
    if path_of(page) == "/unlock":
        page.fill("#password", account.password)
        page.click("#submit")
        page.wait_for_url(lambda url: urlparse(url).path != "/unlock")


def home_of(role: str) -> str:
    return f"/{role}/"


LOGIN_REDIRECT = re.compile(r"/login(\?|$)")


def visit(page, path: str, language: str, status: int = 200, account=None) -> None:
    """Opens `path` in `language`, unlocking first if a slow run locked the session; checks it arrived."""
    response = page.goto(f"{path}?lang={language}")
    if account is not None and path_of(page) == "/unlock":
        unlock_if_locked(page, account)  # a slow run may pass the patients' 14-second lock
        response = page.goto(f"{path}?lang={language}")
    assert response.status == status, f"{path}: HTTP {response.status}"
    assert path_of(page) == path, f"{path} led to {page.url}"
