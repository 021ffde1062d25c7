"""axe-core on the claims pages that need a record or a form state, in every language: a
claim in each state, the statement, the share confirmation, forms showing their errors, the
staff queue filtered and on its second page. (Plain pages are in test_accessibility.py.)

Demo claims are found in the database and only looked at: no form here is sent valid.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from portal.claims import review
from portal.models import ClaimState
from tests.e2e.audit import Audit
from tests.e2e.claim_data import demo_claim, invoice_of, report_on_new_invoice, shareable_invoice, voided_invoice
from tests.e2e.signing import path_of, unlock_if_locked

pytestmark = pytest.mark.e2e

LANGUAGES = ["fr", "de", "en"]


# axe 4.12 no longer reports duplicate ids, but a label points at the first element with its id.
LABELS_WITH_TWO_TARGETS = """() => [...document.querySelectorAll('label[for]')].map(label => label.htmlFor)
    .filter(id => document.querySelectorAll('#' + CSS.escape(id)).length > 1)"""


def check(audit: Audit, page, label: str) -> None:
    audit.check(page, label)
    ambiguous = page.evaluate(LABELS_WITH_TWO_TARGETS)
    if ambiguous:
        audit.failures.append(f"{label} ({page.url}): labels for ids used twice: {', '.join(ambiguous)}")


def show(page, path: str, language: str, query: str = "", account=None) -> None:
    url = f"{path}?lang={language}" + (f"&{query}" if query else "")
    response = page.goto(url)
    if account is not None and path_of(page) == "/unlock":
        unlock_if_locked(page, account)  # a slow run may pass the patients' 14-second lock
        response = page.goto(url)
    assert response.status == 200, f"{url}: HTTP {response.status}"
    assert path_of(page) == path, f"{url} led to {page.url}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_patient_claim_pages(signed_in, live_server, language):
    app, anne = live_server.app, live_server.accounts["patient"]
    page = signed_in("patient")
    audit = Audit()
    for state in ClaimState.ALL:
        claim = demo_claim(app, state)
        show(page, f"/patient/claims/{claim.id}", language, account=anne)
        check(audit, page, f"patient's claim, {state}")

    # The open question, answered with nothing: htmx swaps in the form with its errors.
    show(page, f"/patient/claims/{demo_claim(app, ClaimState.INFO_REQUESTED).id}", language, account=anne)
    page.locator("#claim-answer [type=submit]").click()
    page.locator("#claim-answer .error-summary").wait_for()
    check(audit, page, "patient's claim, answer with an error")

    accepted = demo_claim(app, ClaimState.ACCEPTED)
    show(page, f"/patient/claims/{accepted.id}/statement", language, account=anne)
    check(audit, page, "statement")

    # One invoice to share and one already shared: the table and the list of refusals.
    shared = invoice_of(app, demo_claim(app, ClaimState.SHARED).id)
    show(page, "/patient/invoices/share", language, f"invoice={shareable_invoice(app)}&invoice={shared}", account=anne)
    expect(page.locator("main table")).to_be_visible()
    check(audit, page, "share confirmation")

    show(page, f"/patient/invoices/{shareable_invoice(app)}/report", language, account=anne)
    check(audit, page, "report form")
    page.locator("main form.stack [type=submit]").click()
    page.locator(".error-summary").wait_for()
    check(audit, page, "report form with an error")

    show(page, "/patient/bank-account", language, account=anne)
    page.fill("#iban", "LU00 0000")
    page.locator("main form.stack [type=submit]").click()
    page.locator(".error-summary").wait_for()
    check(audit, page, "bank account with an error")
    audit.assert_clean()


@pytest.mark.parametrize("language", LANGUAGES)
def test_doctor_claim_pages(signed_in, live_server, language):
    report_on_new_invoice(live_server.app)  # the list shows a report, not only its empty state
    page = signed_in("doctor")
    audit = Audit()
    show(page, "/doctor/reports", language)
    expect(page.locator("main table")).to_be_visible()
    check(audit, page, "/doctor/reports with a report")
    show(page, "/doctor/invoices/new", language, f"replaces={voided_invoice(live_server.app)}")
    check(audit, page, "corrected invoice form")
    audit.assert_clean()


@pytest.mark.parametrize("language", LANGUAGES)
def test_cns_claim_pages(signed_in, live_server, language, monkeypatch):
    app = live_server.app
    page = signed_in("cns")
    audit = Audit()
    show(page, "/cns/claims", language, "state=&fund=CNS&channel=digital&sort=newest")
    check(audit, page, "/cns/claims with filters")
    show(page, "/cns/claims", language, "state=&amount_min=abc&date_from=2025-05-01&date_to=2025-01-01")
    page.locator(".error-summary").wait_for()
    check(audit, page, "/cns/claims with filter errors")

    # The demo holds fewer claims than a page: shrink the page (same process) to see the second.
    monkeypatch.setattr(review, "PAGE_SIZE", 3)
    show(page, "/cns/claims", language, "state=&sort=newest")
    page.locator("nav.pager a").last.click()  # "Next page", swapped in by htmx
    page.wait_for_url(lambda url: "after=" in url)
    check(audit, page, "/cns/claims, second page")
    monkeypatch.undo()

    for state in ClaimState.ALL:
        claim = demo_claim(app, state)
        show(page, f"/cns/claims/{claim.id}", language)
        check(audit, page, f"staff claim page, {state}")
        if state == ClaimState.IN_REVIEW:
            # No amount: the decision is refused and the page shows the field's error.
            page.fill("#amount", "")
            page.locator('form[action$="/accept"] [type=submit]').click()
            page.locator('form[action$="/accept"] .field-error').wait_for()
            check(audit, page, "staff claim page, in review, accept with an error")

    show(page, "/cns/paper-intake", language)
    page.fill("#payload", "LUINV:not-a-real-code")
    page.locator("main form.stack [type=submit]").click()
    page.locator(".error-summary").wait_for()
    check(audit, page, "/cns/paper-intake with an error")

    show(page, "/cns/statistics", language, "date_from=2025-01-01&date_to=2025-12-31")
    check(audit, page, "/cns/statistics for a period")
    audit.assert_clean()
