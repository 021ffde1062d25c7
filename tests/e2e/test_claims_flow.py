"""Claims, as the people involved live them: the patient shares an invoice, the fund's agent
reviews it, asks a question or decides, the patient follows it to the statement.

The stories use the shared signed-in pages (conftest `signed_in`: Anne, doctor 90000011,
agent CNS0001) and change only claims of invoices they make themselves, so the demo claims
stay as the other tests expect them.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from tests.e2e.claim_data import ANNE, LEA, LUC, claim_in_review, claim_of_invoice, qr_payload
from tests.e2e.claims_steps import issue_invoice, open_page, switch_space
from tests.e2e.signing import path_of, wait_for_path
from tests.fixtures.images import png

pytestmark = pytest.mark.e2e


def test_a_shared_invoice_is_accepted_and_its_statement_downloaded(signed_in, live_server):
    doctor = signed_in("doctor")
    invoice_id, number = issue_invoice(doctor, ANNE)

    anne = live_server.accounts["patient"]
    page = signed_in("patient")
    open_page(page, "/patient/invoices?lang=en", anne)
    page.check(f"#pick-{invoice_id}")
    page.get_by_role("button", name="Share selected with my health fund").click()
    wait_for_path(page, "/patient/invoices/share")
    expect(page.locator("main table")).to_contain_text(number)  # what is sent, before consent
    page.click("#submit")
    wait_for_path(page, "/patient/claims")
    claim = claim_of_invoice(live_server.app, invoice_id)
    expect(page.locator("main tr", has_text=claim.number)).to_contain_text("Waiting for review")

    agent = signed_in("cns")
    agent.goto("/cns/claims?lang=en&state=shared&sort=newest")
    agent.get_by_role("link", name=claim.number).click()
    wait_for_path(agent, f"/cns/claims/{claim.id}")
    agent.get_by_role("button", name="Take up this claim").click()
    expect(agent.locator(".flash-success")).to_contain_text(claim.number)
    expect(agent.locator("#amount")).not_to_have_value("")  # the computed amount, filled in
    agent.get_by_role("button", name="Accept and issue the statement").click()
    expect(agent.locator("#decision-done")).to_contain_text(f"Claim {claim.number} accepted")

    open_page(page, f"/patient/claims/{claim.id}?lang=en", anne)
    expect(page.locator("h1")).to_contain_text("Accepted")
    expect(page.locator("ol.timeline li.is-done", has_text="Accepted")).to_have_count(1)
    badge = page.locator("#notification-count .badge")
    expect(badge).to_be_visible()
    assert int(badge.inner_text()) >= 1

    page.get_by_role("link", name="Notifications").click()
    wait_for_path(page, "/patient/notifications")
    notice = page.locator("li.notice", has_text=claim.number)
    expect(notice).to_contain_text("New")
    expect(notice).to_contain_text("its reimbursement statement is available")
    notice.get_by_role("link", name="Read the statement").click()
    wait_for_path(page, f"/patient/claims/{claim.id}/statement")
    statement_number = re.search(r"D\d{4}-\d{8}", page.locator("h1").inner_text()).group(0)
    expect(page.locator("main dl.facts")).to_contain_text(claim.number)

    with page.expect_download() as download:
        page.get_by_role("link", name="Download the PDF").click()
    text = "".join(sheet.extract_text() for sheet in PdfReader(download.value.path()).pages)
    assert statement_number in text and claim.number in text


def test_a_childs_invoice_is_sent_automatically(signed_in, live_server):
    anne = live_server.accounts["patient"]
    page = signed_in("patient")
    open_page(page, "/patient/?lang=en", anne)
    switch_space(page, "Léa")
    try:
        open_page(page, "/patient/settings?lang=en", anne)
        expect(page.locator("h1")).to_contain_text("Léa")
        # Whatever the setting was, switch it off and on again through the form.
        page.uncheck("#auto_share")
        page.click("#submit")
        expect(page.locator("main")).to_contain_text("Automatic sending is off")
        page.check("#auto_share")
        page.click("#submit")
        expect(page.locator("main")).to_contain_text("Automatic sending is on.")

        invoice_id, number = issue_invoice(signed_in("doctor"), LEA)

        open_page(page, "/patient/invoices?lang=en", anne)
        expect(page.locator("h1")).to_contain_text("Léa")
        row = page.locator(".invoice-list li", has=page.locator(f'a[href="/patient/invoices/{invoice_id}"]'))
        expect(row.locator(".state")).to_have_text("Sent to the fund")
        expect(row.locator(f"#pick-{invoice_id}")).to_have_count(0)  # nothing left to choose

        claim = claim_of_invoice(live_server.app, invoice_id)
        page.get_by_role("link", name="Notifications").click()
        wait_for_path(page, "/patient/notifications")
        notice = page.locator("li.notice", has_text=claim.number)
        expect(notice).to_contain_text("sent to the health fund automatically")
        notice.get_by_role("link", name="Follow the claim").click()
        wait_for_path(page, f"/patient/claims/{claim.id}")
        expect(page.locator("main")).to_contain_text("Automatically, because automatic sending is switched on")
        expect(page.locator("main")).to_contain_text(number)
    finally:
        open_page(page, "/patient/?lang=en", anne)
        switch_space(page, "Mine")  # the other tests expect Anne in her own space


def test_the_patient_answers_the_funds_question(signed_in, live_server):
    claim = claim_in_review(live_server.app)
    question = "Did this consultation follow an accident at work?"
    agent = signed_in("cns")
    agent.goto(f"/cns/claims/{claim.id}?lang=en")
    agent.fill("#question", question)
    agent.get_by_role("button", name="Ask the patient").click()
    expect(agent.locator(".flash-success")).to_contain_text("Your question was sent to the patient.")

    anne = live_server.accounts["patient"]
    page = signed_in("patient")
    open_page(page, f"/patient/claims/{claim.id}?lang=en", anne)
    expect(page.locator("h1")).to_contain_text("Information requested")
    expect(page.locator("blockquote.question")).to_contain_text(question)
    answer = "No, it was a routine check-up; the prescription is attached."
    page.fill("#message", answer)
    page.set_input_files("#document", files=[{"name": "prescription.png", "mimeType": "image/png", "buffer": png()}])
    page.get_by_role("button", name="Send my answer").click()
    expect(page.locator(".flash-success")).to_contain_text("your answer was sent")
    expect(page.locator("h1")).to_contain_text("Under review")

    agent.goto(f"/cns/claims/{claim.id}?lang=en")
    step = agent.locator("ol.history li", has_text="Patient's answer")
    expect(step).to_contain_text(answer)
    document = step.get_by_role("link", name="Open the attached document")
    response = agent.request.get(document.get_attribute("href"))
    assert response.ok and response.headers["content-type"] == "image/png"
    # Back in review: the agent can decide again.
    expect(agent.get_by_role("button", name="Accept and issue the statement")).to_be_visible()


def test_a_rejection_is_explained_to_the_patient(signed_in, live_server):
    claim = claim_in_review(live_server.app)
    note = "The consultation was billed twice by mistake."
    agent = signed_in("cns")
    agent.goto(f"/cns/claims/{claim.id}?lang=en")
    # By their labels, as a screen reader user finds them (the accept form has a reason too).
    agent.get_by_label("Reason for rejection").select_option("duplicate")
    agent.get_by_label("Explanation for the patient").fill(note)
    agent.get_by_role("button", name="Reject the claim").click()
    expect(agent.locator("h1")).to_contain_text(f"Reject claim {claim.number}?")  # nothing saved yet
    agent.get_by_role("button", name="Confirm: reject the claim").click()
    expect(agent.locator("#decision-done")).to_contain_text(f"Claim {claim.number} rejected")

    anne = live_server.accounts["patient"]
    page = signed_in("patient")
    open_page(page, f"/patient/claims/{claim.id}?lang=en", anne)
    reason = page.locator("section", has=page.locator("#rejection-heading"))
    expect(reason).to_contain_text("This invoice had already been submitted to the health fund.")
    expect(reason).to_contain_text(note)
    expect(page.locator("ol.timeline li.is-done", has_text="Rejected")).to_have_count(1)
    open_page(page, "/patient/claims?lang=en", anne)
    expect(page.locator("main tr", has_text=claim.number)).to_contain_text("Rejected")


def test_a_paper_invoice_is_taken_in_by_its_qr_text(signed_in, live_server):
    invoice_id, number = issue_invoice(signed_in("doctor"), LUC, paid_on_site=False)
    payload = qr_payload(live_server.app, invoice_id)  # what a hand scanner types

    agent = signed_in("cns")
    agent.goto("/cns/paper-intake?lang=en")
    agent.fill("#payload", payload)
    agent.click("#submit")
    agent.wait_for_url(re.compile(r"/cns/claims/\d+$"))
    claim = claim_of_invoice(live_server.app, invoice_id)
    assert path_of(agent) == f"/cns/claims/{claim.id}"
    expect(agent.locator(".flash-success")).to_contain_text(f"Paper claim {claim.number} created.")
    expect(agent.locator("main")).to_contain_text("Paper with QR code")
    expect(agent.locator("main dl.facts").first).to_contain_text(number)

    # The same letter scanned again opens the same claim instead of a second one.
    agent.goto("/cns/paper-intake?lang=en")
    agent.fill("#payload", payload)
    agent.click("#submit")
    wait_for_path(agent, f"/cns/claims/{claim.id}")
    expect(agent.locator(".flash-info")).to_contain_text("already received")
