"""In Chromium, in three languages, axe-core clean: after sharing an invoice, asking for an export
and erasing the account, the next page opens on a confirmation panel that holds the focus, with
the reference and what happens next. On the way, the erasure form reports every mistake at once
and the code sent with a mistake still erases the account once the mistake is corrected. Without
JavaScript the panels are there to read, and the panel still takes the focus (autofocus)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.audit import Audit
from tests.e2e.claim_data import issue_invoice
from tests.e2e.my_data_data import PhoneOf, confirmation_word, fresh_patient, patient_exists
from tests.e2e.signing import new_page, path_of, sign_in, unlock_if_locked, wait_for_path

pytestmark = pytest.mark.e2e

FOCUSED_ID = "() => document.activeElement && document.activeElement.id"
CLAIM_REFERENCE = re.compile(r"\bR-[A-Z0-9]{10}\b")

# What each panel's heading says, per language (the catalogues' words, checked as a person reads them).
SHARED = {"fr": "Votre mémoire d'honoraires a été transmis à votre caisse de maladie",
          "de": "Ihre Honorarnote wurde an Ihre Krankenkasse übermittelt",
          "en": "Your invoice has been sent to your health fund"}
NEXT = {"fr": "La suite", "de": "Wie es weitergeht", "en": "What happens next"}
EXPORT_READY = {"fr": "Votre export est prêt", "de": "Ihr Export ist fertig", "en": "Your export is ready"}
ERASED = {"fr": "Votre compte a été effacé", "de": "Ihr Konto wurde gelöscht", "en": "Your account has been erased"}


def _goto(page, url: str, person) -> None:
    page.goto(url)
    if path_of(page) == "/unlock":  # patients lock after 14 s idle here; axe can take that long
        unlock_if_locked(page, person)
        page.goto(url)


def _share(page, person, invoice_id: int, language: str) -> None:
    _goto(page, f"/patient/invoices/share?invoice={invoice_id}&lang={language}", person)
    page.locator('main form[action$="/invoices/share"] [type=submit]').click()
    wait_for_path(page, "/patient/claims")


def _erase_form(page, password: str, code: str, word: str) -> None:
    page.fill("#password", password)
    page.fill("#code", code)
    page.fill("#confirmation", word)
    page.locator('main form[action$="/my-data/erase"] [type=submit]').click()


@pytest.mark.parametrize("language", ["fr", "de", "en"])
def test_each_confirmation_panel_takes_the_focus(browser, live_server, console, authenticator, language):
    app = live_server.app
    person = fresh_patient(app, f"Panel{language.upper()}")
    invoice = issue_invoice(app, person.login)
    phone = PhoneOf(authenticator, person)
    page = new_page(browser, live_server, console)
    audit = Audit()
    try:
        sign_in(page, person, phone)

        # 1. Sharing: the claims page opens on the panel.
        _share(page, person, invoice.id, language)
        panel = page.locator("#shared-done")
        expect(panel.locator("h2")).to_have_text(SHARED[language])
        expect(panel).to_contain_text(invoice.number)
        expect(panel).to_contain_text(NEXT[language])
        assert CLAIM_REFERENCE.search(panel.inner_text()), panel.inner_text()
        assert page.evaluate(FOCUSED_ID) == "shared-done"
        audit.check(page, f"claims page after sharing ({language})")
        page.reload()
        expect(page.locator("#shared-done")).to_have_count(0)  # shown once

        # 2. Export: whether the job is done when the page loads (autofocus) or finishes while
        # the page polls (htmx swap, focus.js), the "ready" panel ends up with the focus.
        _goto(page, f"/patient/my-data?lang={language}", person)
        page.locator('#export form[action$="/my-data/export"] [type=submit]').click()
        wait_for_path(page, "/patient/my-data")
        ready = page.locator("#export-ready")
        expect(ready.locator("h3")).to_have_text(EXPORT_READY[language])
        expect(ready.locator(".panel-reference strong")).to_have_text(re.compile(r"D-[A-Z0-9]{10}"))
        expect(ready.locator("a.button")).to_be_visible()
        page.wait_for_function("() => document.activeElement && document.activeElement.id === 'export-ready'")
        audit.check(page, f"my data with the export ready ({language})")

        # 3. Erasure: every mistake at once, the error summary focused; nothing erased.
        _goto(page, f"/patient/my-data/erase?lang={language}", person)
        _erase_form(page, "not my password", "", "")
        summary = page.locator("#error-summary")
        expect(summary.locator("a")).to_have_count(3)
        for field in ("password", "code", "confirmation"):
            expect(summary.locator(f'a[href="#{field}"]')).to_be_visible()
            expect(page.locator(f"#{field}")).to_have_attribute("aria-invalid", "true")
        assert page.evaluate(FOCUSED_ID) == "error-summary"
        audit.check(page, f"erase form with three mistakes ({language})")

        # A wrong word with the right password and code: only the word is wrong, and the same
        # code erases the account once the word is corrected (it was not used up).
        code = phone.code(person.login)
        _erase_form(page, person.password, code, "nope")
        expect(page.locator("#error-summary a")).to_have_count(1)
        expect(page.locator("#error-summary a")).to_have_attribute("href", "#confirmation")
        assert patient_exists(app, person.login)
        _erase_form(page, person.password, code, confirmation_word(app, language))
        wait_for_path(page, "/erased")
        erased = page.locator("#erased-done")
        expect(erased.locator("h1")).to_have_text(ERASED[language])
        expect(erased.locator(".panel-reference strong")).to_have_text(re.compile(r"E-[A-Z0-9]{10}"))
        expect(page.locator("main")).to_contain_text(NEXT[language])
        assert page.evaluate(FOCUSED_ID) == "erased-done"
        assert not patient_exists(app, person.login)
        audit.check(page, f"erased page ({language})")
    finally:
        page.context.close()
    audit.assert_clean()


def test_without_javascript_the_panel_is_there_and_focused(browser, live_server, console, authenticator):
    app = live_server.app
    person = fresh_patient(app, "Panelnojs")
    invoice = issue_invoice(app, person.login)
    page = new_page(browser, live_server, console, java_script_enabled=False)
    try:
        sign_in(page, person, PhoneOf(authenticator, person))
        _share(page, person, invoice.id, "en")
        panel = page.locator("#shared-done")
        expect(panel).to_contain_text(SHARED["en"])
        expect(panel).to_contain_text(invoice.number)
        assert page.evaluate(FOCUSED_ID) == "shared-done"  # autofocus: the browser's, not a script's

        _goto(page, "/patient/my-data?lang=en", person)
        page.locator('#export form[action$="/my-data/export"] [type=submit]').click()
        wait_for_path(page, "/patient/my-data")
        # The job may not be done yet: the "requested" panel says what comes next, and "Check again"
        # (a plain link) reaches the ready file.
        first = page.locator("#export-requested, #export-ready").first
        expect(first).to_be_visible()
        assert page.evaluate(FOCUSED_ID) in ("export-requested", "export-ready")
        for _ in range(20):
            if page.locator("#export-ready").count():
                break
            page.get_by_role("link", name="Check again").click()
        expect(page.locator("#export-ready a.button")).to_be_visible()
    finally:
        page.context.close()
