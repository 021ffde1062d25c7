"""More claims stories: everything with JavaScript switched off, and a patient reporting a
wrong invoice that the doctor corrects.

Without JavaScript the browser needs contexts of its own, so that story signs in other demo
accounts (Paul Muller of the CMFEP, agent CMFEP001) and leaves the shared pages alone.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.claim_data import ANNE, CMFEP_AGENT, PAUL, claim_of_invoice, issue_invoice
from tests.e2e.claims_steps import INVOICE_PAGE, open_page
from tests.e2e.signing import new_page, path_of, sign_in, wait_for_path

pytestmark = pytest.mark.e2e


def _page_without_javascript(browser, live_server, console):
    return new_page(browser, live_server, console, java_script_enabled=False)


def test_sharing_and_deciding_work_without_javascript(browser, live_server, authenticator, console):
    invoice = issue_invoice(live_server.app, PAUL)
    paul = live_server.account(PAUL)
    page = _page_without_javascript(browser, live_server, console)
    staff = _page_without_javascript(browser, live_server, console)
    try:
        sign_in(page, paul, authenticator)
        open_page(page, "/patient/invoices?lang=en", paul)
        page.check(f"#pick-{invoice.id}")
        page.get_by_role("button", name="Share selected with my health fund").click()
        wait_for_path(page, "/patient/invoices/share")
        expect(page.locator("main")).to_contain_text("passes them to your fund")  # Paul is with the CMFEP
        page.click("#submit")
        wait_for_path(page, "/patient/claims")
        claim = claim_of_invoice(live_server.app, invoice.id)
        expect(page.locator("main tr", has_text=claim.number)).to_contain_text("Waiting for review")

        sign_in(staff, live_server.account(CMFEP_AGENT), authenticator)
        staff.goto("/cns/claims?lang=en")
        # The filter form is a plain GET: choose the state, submit, the queue reloads.
        staff.select_option("#state", "shared")
        staff.select_option("#sort", "newest")
        staff.get_by_role("button", name="Filter").click()
        staff.get_by_role("link", name=claim.number).click()
        wait_for_path(staff, f"/cns/claims/{claim.id}")
        staff.get_by_role("button", name="Take up this claim").click()
        expect(staff.locator(".flash-success")).to_contain_text(claim.number)
        expect(staff.locator("main h1 + p .state")).to_have_text("Under review")
        staff.get_by_role("button", name="Accept and issue the statement").click()
        # On to the next waiting claim, or the queue; the panel says what was decided.
        expect(staff.locator("#decision-done")).to_contain_text(f"Claim {claim.number} accepted")

        open_page(page, f"/patient/claims/{claim.id}?lang=en", paul)
        expect(page.locator("h1")).to_contain_text("Accepted")
        page.get_by_role("link", name="Read the reimbursement statement").click()
        wait_for_path(page, f"/patient/claims/{claim.id}/statement")
    finally:
        page.context.close()
        staff.context.close()


def test_a_reported_error_is_corrected_by_the_doctor(signed_in, live_server):
    invoice = issue_invoice(live_server.app, ANNE)
    anne = live_server.accounts["patient"]
    message = "I was seen once, not for a long consultation."
    page = signed_in("patient")
    open_page(page, f"/patient/invoices/{invoice.id}?lang=en", anne)
    page.get_by_role("link", name="Report an error to the doctor").click()
    wait_for_path(page, f"/patient/invoices/{invoice.id}/report")
    page.click("#submit")  # empty: the form says what is missing
    expect(page.locator(".error-summary")).to_be_visible()
    expect(page.locator("#message-error")).to_contain_text("Describe the error.")
    page.fill("#message", message)
    page.click("#submit")
    wait_for_path(page, f"/patient/invoices/{invoice.id}")
    expect(page.locator("main")).to_contain_text("You told your doctor about an error")

    doctor = signed_in("doctor")
    doctor.goto("/doctor/reports?lang=en")
    report = doctor.locator("main tr", has_text=invoice.number)
    expect(report).to_contain_text(message)
    report.get_by_role("link", name=invoice.number).click()
    doctor.fill("#reason", "Wrong act: a short consultation.")
    doctor.get_by_role("button", name="Void the invoice").click()
    doctor.get_by_role("link", name="Issue a corrected invoice").click()
    wait_for_path(doctor, "/doctor/invoices/new")
    expect(doctor.locator("#matricule")).to_have_value(ANNE)  # filled in from the voided invoice
    doctor.locator("#invoice-preview", has_text="will be digital").wait_for()
    doctor.click("#submit")
    doctor.wait_for_url(lambda url: INVOICE_PAGE.search(url) is not None)
    corrected = int(INVOICE_PAGE.search(path_of(doctor)).group(1))
    doctor.goto("/doctor/reports?lang=en")
    expect(doctor.locator("main tr", has_text=invoice.number)).to_have_count(0)  # the report is closed

    open_page(page, f"/patient/invoices/{invoice.id}?lang=en", anne)
    page.get_by_role("link", name="See invoice").click()
    wait_for_path(page, f"/patient/invoices/{corrected}")
    expect(page.locator("main")).to_contain_text("This invoice corrects a voided one.")
