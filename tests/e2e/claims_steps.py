"""Steps the claims stories share: a doctor issuing an invoice, a patient page that may have
met the idle lock."""

from __future__ import annotations

import re

from tests.e2e.signing import path_of, unlock_if_locked

INVOICE_PAGE = re.compile(r"/doctor/invoices/(\d+)$")


def open_page(page, url: str, account=None) -> None:
    """Go to `url`; a patient page that locked while another person acted is unlocked first
    (the unlock page returns to the address asked for)."""
    page.goto(url)
    if account is not None:
        unlock_if_locked(page, account)


def issue_invoice(doctor, matricule: str, *, paid_on_site: bool = True) -> tuple[int, str]:
    """On the doctor's form: one consultation (C1) for the patient; returns (invoice id, number)."""
    doctor.goto("/doctor/invoices/new?lang=en")
    doctor.fill("#matricule", matricule)
    doctor.fill("#lines-0-code", "C1")
    doctor.check("#paid_on_site-0" if paid_on_site else "#paid_on_site-1")
    doctor.check("#payer_is_patient-0")
    # htmx explains the outcome before anything is saved; wait for it, so no preview races the submit.
    expected = "will be digital" if paid_on_site else "on paper with a QR code"
    doctor.locator("#invoice-preview", has_text=expected).wait_for()
    doctor.locator("#invoice-preview .patient-confirm").wait_for()
    doctor.click("#submit")
    doctor.wait_for_url(lambda url: INVOICE_PAGE.search(url) is not None)
    number = doctor.locator("dl.facts dd").first.inner_text().strip()
    return int(INVOICE_PAGE.search(path_of(doctor)).group(1)), number


def switch_space(page, name: str) -> None:
    """The account menu's space switcher: a child's given name, or "Mine" (an option may add
    how many notices are new there, "Léa (2 new)")."""
    option = page.locator("#space-select option").filter(has_text=re.compile(rf"^{re.escape(name)}( \(|$)"))
    page.select_option("#space-select", value=option.get_attribute("value"))
    page.click("form.space-switch button")
    page.wait_for_load_state()
