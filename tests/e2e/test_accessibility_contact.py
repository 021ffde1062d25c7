"""axe-core on the page where a patient types back the code sent to a new e-mail address, in every
language: the page as it comes, with a wrong code, and the saved result."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.audit import Audit
from tests.e2e.my_data_data import PhoneOf, code_sent_to, contact_of, fresh_patient
from tests.e2e.signing import new_page, path_of, sign_in, wait_for_path

pytestmark = pytest.mark.e2e

LANGUAGES = ["fr", "de", "en"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_confirming_a_new_email_address(browser, live_server, console, authenticator, language):
    app = live_server.app
    person = fresh_patient(app, f"Contact{language}")
    address = f"contact.{language}@example.lu"
    page = new_page(browser, live_server, console)
    context = page.context
    audit = Audit()
    try:
        sign_in(page, person, PhoneOf(authenticator, person))
        assert path_of(page) == "/patient/", page.url
        page.goto(f"/patient/my-data/contact?lang={language}")
        page.fill("#email", address)
        page.fill("#password", person.password)
        page.fill("#code", authenticator.code(person.login, person.secret))
        page.click("#submit")
        wait_for_path(page, "/patient/my-data/contact/confirm")
        expect(page.locator("html")).to_have_attribute("lang", language)
        audit.check(page, "contact confirmation")

        right = code_sent_to(app, address)
        page.fill("#email", "000000" if right != "000000" else "111111")
        page.click("#submit")
        expect(page.locator(".error-summary")).to_be_visible()
        audit.check(page, "contact confirmation with a wrong code")
        assert contact_of(app, person.login)["email"] != address  # nothing saved on a wrong code

        page.fill("#email", right)
        page.click("#submit")
        wait_for_path(page, "/patient/my-data")
        expect(page.locator(".flash-success")).to_be_visible()
        assert contact_of(app, person.login)["email"] == address
    finally:
        context.close()
