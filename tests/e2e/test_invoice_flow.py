"""A doctor issues a digital invoice; the patient finds it, opens it and downloads the PDF."""

from __future__ import annotations

from datetime import date

import pytest
from pypdf import PdfReader

from portal.core.identity import make_matricule
from tests.e2e.signing import sign_in, unlock_if_locked, wait_for_path

pytestmark = pytest.mark.e2e

ANNE = make_matricule(date(1985, 3, 14), 123)  # the demo patient with an account


def test_a_digital_invoice_from_doctor_to_patient(browser, live_server, authenticator, context, console):
    doctor = context.new_page()
    sign_in(doctor, live_server.accounts["doctor"], authenticator)
    doctor.goto("/doctor/invoices/new?lang=en")
    doctor.fill("#matricule", ANNE)
    doctor.fill("#lines-0-code", "C1")
    doctor.fill("#lines-1-code", "K4")
    doctor.fill("#lines-1-quantity", "2")
    doctor.check("#paid_on_site-0")
    doctor.check("#payer_is_patient-0")
    # htmx explains the outcome before anything is saved.
    doctor.locator("#invoice-preview", has_text="digital").wait_for()
    doctor.locator("#invoice-preview", has_text="78.34\xa0€").wait_for()
    doctor.click("#submit")
    doctor.locator("h1", has_text="Invoice").wait_for()
    number = doctor.locator("dl.facts dd").first.inner_text().strip()

    patient_context = browser.new_context(base_url=live_server.url, accept_downloads=True)
    console.watch(patient_context)
    page = patient_context.new_page()
    account = live_server.accounts["patient"]
    sign_in(page, account, authenticator)
    page.goto("/patient/invoices?lang=en")
    unlock_if_locked(page, account)
    page.locator(".invoice-list a").first.click()
    page.locator("dl.facts").wait_for()
    unlock_if_locked(page, account)
    shown = page.locator("main").inner_text()
    assert number in shown and "78.34\xa0€" in shown and "Expected reimbursement" in shown
    with page.expect_download() as download:
        page.click("text=Download the PDF")
    pdf = PdfReader(download.value.path())
    assert number in pdf.pages[0].extract_text()
    patient_context.close()


def test_filters_work_without_javascript(browser, live_server, authenticator, console):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    console.watch(context)
    page = context.new_page()
    account = live_server.accounts["patient"]
    sign_in(page, account, authenticator)
    page.goto("/patient/invoices?lang=en&state=voided")
    unlock_if_locked(page, account)
    wait_for_path(page, "/patient/invoices")
    assert page.locator(".invoice-list li").count() >= 1
    assert all("Voided" in text for text in page.locator(".invoice-list li").all_inner_texts())
    context.close()
