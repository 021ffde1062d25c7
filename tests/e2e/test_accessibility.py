"""axe-core on every page, in every language: public, signing in, and each role's pages.

Role pages use the shared `signed_in` pages (conftest): one sign-in per role for the
whole run, since the portal accepts each one-time code step only once per account.
"""

from __future__ import annotations

import pytest

from tests.e2e.audit import Audit
from tests.e2e.data import create_unenrolled_doctor, forget_terms, fresh_recovery_code, lock_sessions
from tests.e2e.signing import accept, path_of, submit_password, unlock_if_locked, visit, wait_for_path

pytestmark = pytest.mark.e2e

LANGUAGES = ["fr", "de", "en"]

# path -> expected status
PUBLIC_PAGES = {
    "/": 200,
    "/terms": 200,
    "/privacy": 200,
    "/legal": 200,
    "/accessibility": 200,
    "/activate": 200,
    "/login": 200,
    "/forgot": 200,
    "/block": 200,
    "/terms/refused": 200,
    "/help": 200,
    "/erased": 200,  # without an erasure behind it: no reference (test_my_data_flow.py erases for real)
    "/no-such-page": 404,
}
ACCOUNT_PAGES = ["/account/sessions", "/account/password"]
ROLE_PAGES = {
    "patient": ["/patient/", "/patient/invoices", "/patient/my-data", "/patient/my-data/contact",
                "/patient/my-data/correction", "/patient/my-data/access-log", "/patient/my-data/erase",
                "/patient/claims", "/patient/notifications", "/patient/settings", "/patient/settings/messages",
                "/patient/bank-account", "/patient/help",
                *ACCOUNT_PAGES],
    "doctor": ["/doctor/", "/doctor/invoices", "/doctor/activations", "/doctor/reports", "/doctor/help",
               "/doctor/payments", "/doctor/bank-account", *ACCOUNT_PAGES],
    "cns": ["/cns/", "/cns/claims", "/cns/identity-requests", "/cns/guardian-requests", "/cns/activation-checks",
            "/cns/terms",
            "/cns/paper-intake", "/cns/statistics", "/cns/data-requests", "/cns/help",
            "/cns/admin/accounts",  # the first demo agent, CNS0001, is an administrator
            *ACCOUNT_PAGES],
}
# Pages of one claim, statement, forms showing errors: test_accessibility_claims.py.
# "Manage my personal data" with records and form states: test_my_data_flow.py.


@pytest.mark.parametrize("language", LANGUAGES)
def test_public_pages(page, live_server, language):
    audit = Audit()
    for path, status in PUBLIC_PAGES.items():
        visit(page, path, language, status)
        audit.check(page, path)

    # The sign-in form showing its (generic) error; an unknown login locks no account.
    page.goto("/login")
    page.fill("#login", "00000000")
    page.fill("#password", "not a password")
    page.click("#submit")
    page.locator(".flash-error").wait_for()
    audit.check(page, "/login with an error")

    # After the password step: the code page and its recovery-code alternative.
    submit_password(page, live_server.accounts["patient"])
    wait_for_path(page, "/login/code")
    audit.check(page, "/login/code")
    page.goto("/login/recovery")
    audit.check(page, "/login/recovery")
    audit.assert_clean()


@pytest.mark.parametrize("language", LANGUAGES)
def test_password_reset_pages(page, live_server, language):
    patient = live_server.accounts["patient"]
    audit = Audit()
    page.goto(f"/forgot?lang={language}")
    page.fill("#login", patient.login)
    page.fill("#code", fresh_recovery_code(live_server.app, patient.login))
    page.click("#submit")
    wait_for_path(page, "/forgot/confirm")
    audit.check(page, "/forgot/confirm")
    page.fill("#code", "000000")
    page.click("#submit")
    page.locator(".error-summary").wait_for()
    audit.check(page, "/forgot/confirm with an error")
    audit.assert_clean()


@pytest.mark.parametrize("language", LANGUAGES)
def test_enrolment_pages(page, live_server, authenticator, language):
    login, password = f"9099980{LANGUAGES.index(language)}", "a long enrolment passphrase"
    create_unenrolled_doctor(live_server.app, login, password)
    audit = Audit()

    page.goto(f"/login?lang={language}")
    page.fill("#login", login)
    page.fill("#password", password)
    page.click("#submit")
    wait_for_path(page, "/login/enrol")
    audit.check(page, "/login/enrol")

    secret = page.locator("code.secret").inner_text().replace(" ", "")
    page.fill("#code", authenticator.code(login, secret))
    page.click("#submit")
    page.locator("ul.codes").wait_for()
    audit.check(page, "recovery codes")

    page.click("a.button")
    wait_for_path(page, "/terms/accept")
    audit.check(page, "/terms/accept")
    audit.assert_clean()


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("role", ["patient", "doctor", "cns"])
def test_role_pages(signed_in, live_server, role, language):
    page = signed_in(role)
    account = live_server.accounts[role]
    audit = Audit()
    for path in ROLE_PAGES[role]:
        visit(page, path, language, account=account)
        audit.check(page, path)
    audit.assert_clean()


@pytest.mark.parametrize("language", LANGUAGES)
def test_terms_and_unlock_pages(signed_in, live_server, language):
    patient = live_server.accounts["patient"]
    page = signed_in("patient")
    visit(page, "/patient/", language, account=patient)  # sets the language for what follows
    audit = Audit()

    forget_terms(live_server.app, patient.login)
    page.goto("/patient/")
    wait_for_path(page, "/terms/accept")
    audit.check(page, "/terms/accept")
    page.click("#submit")  # without ticking the box: the page shows its error
    page.locator(".error-summary").wait_for()
    audit.check(page, "/terms/accept with an error")
    accept(page)

    lock_sessions(live_server.app, patient.login)
    page.goto("/patient/")
    wait_for_path(page, "/unlock")
    audit.check(page, "/unlock")
    page.fill("#password", "not the password")
    page.click("#submit")
    page.locator(".flash-error").wait_for()
    audit.check(page, "/unlock with an error")
    unlock_if_locked(page, patient)
    assert path_of(page) == "/patient/"
    audit.assert_clean()
