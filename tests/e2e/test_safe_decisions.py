"""In Chromium, in three languages, axe-core clean: a rejection needs a chosen reason and a
confirmation, then can be undone; the error summary takes the focus, also after an htmx swap;
an activation left after the recovery codes is finished by signing in, or by the same link with
JavaScript switched off."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.models import Claim, ClaimState
from tests.e2e.audit import Audit
from tests.e2e.claim_data import DIGITAL_DOCTOR, claim_in_review, demo_claim
from tests.e2e.data import create_registry_patient, issue_code, last_code_sent
from tests.e2e.signing import STEP_TIMEOUT_MS, new_page, path_of, unlock_if_locked, wait_for_path

pytestmark = pytest.mark.e2e

LANGUAGES = ["fr", "de", "en"]
PASSWORD = "blue heron over the sure river"
FOCUSED_ID = "() => document.activeElement && document.activeElement.id"


def _goto(page, url: str, account=None) -> None:
    page.goto(url)
    if account is not None and path_of(page) == "/unlock":
        unlock_if_locked(page, account)
        page.goto(url)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_rejection_is_chosen_confirmed_and_can_be_undone(signed_in, live_server, language):
    claim = claim_in_review(live_server.app)
    agent = signed_in("cns")
    audit = Audit()
    _goto(agent, f"/cns/claims/{claim.id}?lang={language}")
    expect(agent.locator("#reason")).to_have_value("")  # no reason chosen in advance
    agent.locator('form[action$="/reject"] [type=submit]').click()
    summary = agent.locator("#error-summary")
    expect(summary).to_be_visible()
    assert agent.evaluate(FOCUSED_ID) == "error-summary"
    summary.locator('a[href="#reason"]').click()
    assert agent.evaluate(FOCUSED_ID) == "reason"  # the link leads to the field
    audit.check(agent, f"claim page, rejection without a reason ({language})")

    agent.select_option("#reason", "duplicate")
    agent.locator('form[action$="/reject"] [type=submit]').click()
    expect(agent.locator("h1")).to_contain_text(claim.number)
    expect(agent.locator("main")).to_contain_text("Anne")  # the patient, as the claim page names her
    assert agent.evaluate(FOCUSED_ID) == "confirm-title"
    audit.check(agent, f"decision to confirm ({language})")
    with live_server.app.app_context():
        assert db.session.get(Claim, claim.id).state == ClaimState.IN_REVIEW  # nothing saved yet
    agent.locator("input[name=confirm]").click()

    panel = agent.locator("#decision-done")
    expect(panel).to_contain_text(claim.number)
    assert agent.evaluate(FOCUSED_ID) == "decision-done"
    audit.check(agent, f"next claim after a rejection ({language})")
    panel.locator("[type=submit]").click()
    wait_for_path(agent, f"/cns/claims/{claim.id}")
    expect(agent.locator('form[action$="/reject"]')).to_be_visible()  # back in review
    audit.assert_clean()


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_error_summary_takes_the_focus_after_an_htmx_swap(signed_in, live_server, language):
    anne = live_server.accounts["patient"]
    page = signed_in("patient")
    claim = demo_claim(live_server.app, ClaimState.INFO_REQUESTED)
    _goto(page, f"/patient/claims/{claim.id}?lang={language}", anne)
    page.locator("#claim-answer [type=submit]").click()  # nothing written: htmx swaps in the errors
    summary = page.locator("#claim-answer .error-summary")
    expect(summary).to_be_visible()
    page.wait_for_function("() => document.activeElement && document.activeElement.matches('.error-summary')")
    href = summary.locator("a").first.get_attribute("href")
    assert href.startswith("#") and page.locator(href).count() == 1
    audit = Audit()
    audit.check(page, f"answer with an error, swapped in ({language})")
    audit.assert_clean()


def _left_after_the_recovery_codes(browser, live_server, console, authenticator, serial: int):
    """A new patient who chose a password, set up the app, saw the recovery codes and left."""
    birth = date(1985, 3, 9)
    login = create_registry_patient(live_server.app, "Resume", birth, serial)
    token = issue_code(live_server.app, login, DIGITAL_DOCTOR)
    page = new_page(browser, live_server, console)
    context = page.context
    page.goto(f"/activate/{token}?lang=en")
    page.fill("#birth_date", birth.isoformat())
    page.click("#submit")
    page.locator("#contact_code").wait_for()
    page.fill("#contact_code", last_code_sent(live_server.app, login))
    page.click("#submit")
    page.locator("#new_password").wait_for()
    page.fill("#new_password", PASSWORD)
    page.fill("#confirm", PASSWORD)
    page.click("#submit")
    page.locator("code.secret").wait_for()
    secret = page.locator("code.secret").inner_text().replace(" ", "")
    assert page.locator("a[href^='otpauth://']").get_attribute("href").startswith("otpauth://totp/")
    page.fill("#code", authenticator.code(login, secret))
    page.click("#submit")
    page.locator("ul.codes").wait_for()
    context.close()  # gone, before the terms of use
    return login, token, secret, birth


@pytest.mark.parametrize("language", LANGUAGES)
def test_signing_in_finishes_an_activation_left_after_the_recovery_codes(
        browser, live_server, console, authenticator, language):
    serial = 700 + LANGUAGES.index(language)
    login, _token, secret, _birth = _left_after_the_recovery_codes(browser, live_server, console, authenticator, serial)
    page = new_page(browser, live_server, console)
    context = page.context
    audit = Audit()
    try:
        page.goto(f"/login?lang={language}")
        page.fill("#login", login)
        page.fill("#password", "not the password of this person")
        page.click("#submit")
        expect(page.locator(".flash-error")).to_be_visible()
        assert path_of(page) == "/login"  # the generic answer: nothing about the account
        page.fill("#login", login)
        page.fill("#password", PASSWORD)
        page.click("#submit")
        wait_for_path(page, "/login/code")
        expect(page.locator(".flash-info")).to_be_visible()  # "your activation is not finished"
        audit.check(page, f"code page of an unfinished activation ({language})")
        page.fill("#code", authenticator.code(login, secret))
        page.click("#submit")
        page.locator("#accept").wait_for()
        audit.check(page, f"terms step of a resumed activation ({language})")
        page.check("#accept")
        page.click("#submit")
        wait_for_path(page, "/patient/")
    finally:
        context.close()
    audit.assert_clean()


def test_the_same_link_finishes_an_activation_without_javascript(browser, live_server, console, authenticator):
    login, token, _secret, birth = _left_after_the_recovery_codes(browser, live_server, console, authenticator, 710)
    page = new_page(browser, live_server, console, java_script_enabled=False)
    context = page.context
    try:
        page.goto(f"/activate/{token}?lang=en")
        wait_for_path(page, "/activate/continue")
        page.fill("#birth_date", "1901-01-01")
        page.click("#submit")
        expect(page.locator(".error-summary a[href='#birth_date']")).to_be_visible()  # shown without JavaScript
        page.fill("#birth_date", birth.isoformat())
        page.click("#submit")
        page.locator("#contact_code").wait_for()
        page.fill("#contact_code", last_code_sent(live_server.app, login))
        page.click("#submit")
        page.locator("#accept").wait_for()  # where it stopped: the terms
        expect(page.locator("main")).to_contain_text("Your activation is not finished")
        page.check("#accept")
        page.click("#submit")
        wait_for_path(page, "/patient/")
    finally:
        context.close()


def test_deciding_with_confirmation_works_without_javascript(browser, live_server, console, authenticator):
    from tests.e2e.claim_data import CMFEP_AGENT, PAUL
    from tests.e2e.signing import sign_in

    claim = claim_in_review(live_server.app, PAUL, CMFEP_AGENT)
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    console.watch(context)
    staff = context.new_page()
    staff.set_default_timeout(STEP_TIMEOUT_MS)
    try:
        sign_in(staff, live_server.account(CMFEP_AGENT), authenticator)
        staff.goto(f"/cns/claims/{claim.id}?lang=en")
        staff.get_by_role("button", name="Reject the claim").click()
        expect(staff.locator(".error-summary a[href='#reason']")).to_be_visible()
        staff.select_option("#reason", "not_covered")
        staff.get_by_role("button", name="Reject the claim").click()
        expect(staff.locator("h1")).to_contain_text(f"Reject claim {claim.number}?")
        staff.get_by_role("button", name="Confirm: reject the claim").click()
        expect(staff.locator("#decision-done")).to_contain_text(f"Claim {claim.number} rejected")
        staff.get_by_role("button", name="Undo the rejection").click()
        wait_for_path(staff, f"/cns/claims/{claim.id}")
        expect(staff.locator("main")).to_contain_text("back in review with you")
    finally:
        context.close()
