"""axe-core, in every language, on the pages of the help desk, the maintenance window and paper
intake that need a record or a state: the banner of an announced window, the page shown while
one lasts, a staff member's message page with an answer, the help forms showing their errors,
and a paper claim without proof of payment. (Plain pages are in test_accessibility.py.)"""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.e2e.audit import Audit
from tests.e2e.help_data import demo_help_request, maintenance_window, paper_claim_without_receipt
from tests.e2e.signing import visit

pytestmark = pytest.mark.e2e

LANGUAGES = ["fr", "de", "en"]


def show(page, path: str, language: str, status: int = 200, account=None):
    visit(page, path, language, status, account)
    expect(page.locator("html")).to_have_attribute("lang", language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_maintenance_banner_and_closed_page(page, signed_in, live_server, language):
    app = live_server.app
    signed = signed_in("doctor")
    audit = Audit()
    with maintenance_window(app, starts_in=timedelta(hours=3), lasts=timedelta(hours=1),
                            message="Moving the portal to a new server."):
        for where, path in ((page, "/"), (page, "/help"), (signed, "/doctor/")):
            show(where, path, language)
            expect(where.locator(".maintenance-notice")).to_contain_text("Moving the portal to a new server.")
            audit.check(where, f"{path} with the maintenance banner")

    with maintenance_window(app, starts_in=timedelta(minutes=-1), lasts=timedelta(minutes=10)):
        show(page, "/help", language, status=503)
        expect(page.locator("h1")).to_be_visible()
        audit.check(page, "maintenance page")
    show(page, "/help", language)  # open again once the window is cancelled
    audit.assert_clean()


@pytest.mark.parametrize("language", LANGUAGES)
def test_help_pages_with_errors_and_answers(page, signed_in, live_server, language):
    app = live_server.app
    audit = Audit()

    show(page, "/help", language)
    page.locator("main form [type=submit]").click()
    page.locator(".error-summary").wait_for()
    audit.check(page, "/help with errors")

    anne = live_server.accounts["patient"]
    patient = signed_in("patient")
    show(patient, "/patient/help", language, account=anne)
    expect(patient.locator("main .help-message h4")).not_to_have_count(0)  # the demo message and its answer
    audit.check(patient, "/patient/help with an answered message")
    patient.locator("main form [type=submit]").click()
    patient.locator(".error-summary").wait_for()
    audit.check(patient, "/patient/help with errors")

    staff = signed_in("cns")
    message = f"/cns/help/{demo_help_request(app)}"
    show(staff, message, language)
    expect(staff.locator("main h3")).not_to_have_count(0)  # the answer already sent
    audit.check(staff, "staff message page with an answer")
    staff.locator("main form [type=submit]").click()  # an empty answer: the field says so
    staff.locator(".error-summary").wait_for()
    audit.check(staff, "staff message page with an error")
    audit.assert_clean()


@pytest.mark.parametrize("language", LANGUAGES)
def test_paper_claim_without_proof_of_payment(signed_in, live_server, language):
    staff = signed_in("cns")
    audit = Audit()
    show(staff, f"/cns/claims/{paper_claim_without_receipt(live_server.app)}", language)
    expect(staff.locator("#no-proof-of-payment")).to_be_visible()
    audit.check(staff, "paper claim without proof of payment")
    audit.assert_clean()
