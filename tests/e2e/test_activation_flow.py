"""A doctor issues an activation code; the patient scans it (or types it) and activates."""

from __future__ import annotations

import io
from datetime import date

import pytest
import zxingcpp
from PIL import Image

from portal.core.identity import make_matricule
from tests.e2e.data import last_code_sent
from tests.e2e.signing import path_of, sign_in, sign_out, wait_for_path

pytestmark = pytest.mark.e2e

PASSWORD = "blue heron over the sure river"


def issue_code(page, matricule: str, birth: date) -> tuple[str, str]:
    """On the doctor's page: find the patient, record the check, issue; returns (QR text, typed code)."""
    page.goto("/doctor/activations?lang=en")
    page.fill("#matricule", matricule)
    page.fill("#birth_date", birth.isoformat())
    page.click('form[role="search"] [type="submit"]')
    page.locator("#activation-check form").wait_for()
    page.select_option("#document_type", "identity_card")
    page.fill("#document_last4", "AB12")
    page.fill("#mobile", "+352 621 555 000")
    page.check("#identity_checked")
    page.click("#activation-check #submit")
    page.locator("article.letter").wait_for()
    picture = page.locator(".qr svg").screenshot()
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(picture)).convert("L"))
    assert decoded, "the QR code on the letter does not decode"
    return decoded[0].text, page.locator("code.secret").inner_text().replace(" ", "")


def finish_activation(page, birth: date, authenticator, login: str, app) -> None:
    wait_for_path(page, "/activate/continue")
    page.fill("#birth_date", birth.isoformat())
    page.click("#submit")
    page.locator("#contact_code").wait_for()  # sent to the register's mobile, not the doctor's
    page.fill("#contact_code", last_code_sent(app, login))
    page.click("#submit")
    page.locator("#new_password").wait_for()
    page.fill("#new_password", PASSWORD)
    page.fill("#confirm", PASSWORD)
    page.click("#submit")
    page.locator("code.secret").wait_for()
    secret = page.locator("code.secret").inner_text().replace(" ", "")
    page.fill("#code", authenticator.code(login, secret))
    page.click("#submit")
    page.locator("ul.codes").wait_for()
    assert page.locator("ul.codes code").count() == 10
    page.click("a.button")
    page.locator("#accept").wait_for()
    page.check("#accept")
    page.click("#submit")
    wait_for_path(page, "/patient/")
    return secret


class NewAccount:
    def __init__(self, login, password):
        self.login, self.password = login, password


def test_activation_with_the_scanned_qr_code(browser, live_server, authenticator, context, console):
    doctor_page = context.new_page()
    sign_in(doctor_page, live_server.accounts["doctor"], authenticator)
    matricule = make_matricule(date(1990, 7, 21), 452)  # Sophie Reding, in the registry, no account
    link, _typed = issue_code(doctor_page, matricule, date(1990, 7, 21))
    assert link.startswith(live_server.url + "/activate/")

    patient_context = browser.new_context(base_url=live_server.url)
    console.watch(patient_context)
    page = patient_context.new_page()
    page.goto(link)
    assert path_of(page) == "/activate/continue"  # the token left the address bar
    secret = finish_activation(page, date(1990, 7, 21), authenticator, matricule, live_server.app)
    sign_out(page)
    sign_in(page, NewAccount(matricule, PASSWORD), _AuthenticatorWith(authenticator, secret))
    assert path_of(page) == "/patient/"
    patient_context.close()


def test_activation_with_a_typed_code(browser, live_server, authenticator, context, console):
    doctor_page = context.new_page()
    sign_in(doctor_page, live_server.accounts["doctor"], authenticator)
    matricule = make_matricule(date(1978, 1, 5), 538)  # Luc Thill
    _link, typed = issue_code(doctor_page, matricule, date(1978, 1, 5))

    patient_context = browser.new_context(base_url=live_server.url)
    console.watch(patient_context)
    page = patient_context.new_page()
    page.goto("/activate")
    page.fill("#code", typed.lower())
    page.click("#submit")
    finish_activation(page, date(1978, 1, 5), authenticator, matricule, live_server.app)
    assert page.locator("h1").inner_text()
    patient_context.close()


class _AuthenticatorWith:
    """The shared authenticator, for an account whose secret is not a demo secret."""

    def __init__(self, authenticator, secret):
        self.authenticator, self.secret = authenticator, secret

    def code(self, login, secret=None):
        return self.authenticator.code(login, self.secret)


