"""The "Open in my authenticator app" link opens an app on the device itself: a phone (touch, 390
px) shows it, a desktop does not; both keep the key and the QR code. Plain CSS, JavaScript off."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import expect

from tests.e2e.claim_data import DIGITAL_DOCTOR
from tests.e2e.data import create_registry_patient, issue_code, last_code_sent
from tests.e2e.signing import new_page

pytestmark = pytest.mark.e2e

PASSWORD = "amber kettle under the quiet bridge"
PHONE = {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
DEVICES = {"phone": (PHONE, 980), "desktop": (DESKTOP, 981)}


def _at_the_authenticator_step(browser, live_server, console, device: dict, serial: int):
    birth = date(1987, 9, serial % 28 + 1)
    login = create_registry_patient(live_server.app, "Device", birth, serial)
    token = issue_code(live_server.app, login, DIGITAL_DOCTOR)
    page = new_page(browser, live_server, console, java_script_enabled=False, **device)
    context = page.context
    page.goto(f"/activate/{token}?lang=en")
    page.fill("#birth_date", birth.isoformat())
    page.click("#submit")
    page.fill("#contact_code", last_code_sent(live_server.app, login))
    page.click("#submit")
    page.fill("#new_password", PASSWORD)
    page.fill("#confirm", PASSWORD)
    page.click("#submit")
    page.locator("code.secret").wait_for()
    return context, page


@pytest.mark.parametrize("device", DEVICES)
def test_the_open_in_app_link_shows_on_a_phone_only(browser, live_server, console, device):
    settings, serial = DEVICES[device]
    context, page = _at_the_authenticator_step(browser, live_server, console, settings, serial)
    link = page.get_by_role("link", name="Open in my authenticator app")
    key, qr = page.locator("code.secret"), page.locator("figure.qr img")
    expect(key).to_be_visible()
    expect(qr).to_be_visible()
    assert page.locator("a[href^='otpauth://totp/']").count() == 1  # in the page either way
    if device == "phone":
        expect(link).to_be_visible()
        assert link.get_attribute("href").startswith("otpauth://totp/")
        # The key comes before the QR code, which a phone cannot scan with itself.
        assert link.bounding_box()["y"] < key.bounding_box()["y"] < qr.bounding_box()["y"]
        steps = page.locator("ol.steps").inner_text()  # what is rendered, not what is hidden
        assert "with the button below" in steps and "scan the QR code" not in steps
    else:
        expect(link).to_be_hidden()
        steps = page.locator("ol.steps").inner_text()
        assert "button" not in steps and "scan the QR code below" in steps
    context.close()
