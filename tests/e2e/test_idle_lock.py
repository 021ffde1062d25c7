"""The patient idle lock (14 s in the live server): warning, "stay signed in", lock, unlock.

Both tests use the shared signed-in patient page (conftest `signed_in`): a fresh sign-in
per test would spend the patient's one-time code steps for nothing.
"""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from tests.e2e.audit import Audit
from tests.e2e.signing import path_of, unlock_if_locked, wait_for_path

pytestmark = pytest.mark.e2e


def test_stay_signed_in_removes_the_warning(signed_in, live_server):
    page = signed_in("patient")
    page.goto("/patient/")
    unlock_if_locked(page, live_server.accounts["patient"])
    assert path_of(page) == "/patient/"

    # The notice comes when less than 8 s remain, i.e. after about 6 s without activity.
    warning = page.locator(".session-warning")
    expect(warning).to_be_visible(timeout=15_000)
    # The notice is not a page of its own, so it is audited here, while it shows.
    audit = Audit()
    audit.check(page, "/patient/ with the lock warning")
    audit.assert_clean()
    warning.get_by_role("button").click()
    expect(warning).to_have_count(0)

    # Still usable: the next page opens normally, without any lock.
    page.click('main a[href="/patient/invoices"]')
    wait_for_path(page, "/patient/invoices")
    expect(page.locator("h1")).to_be_visible()


def test_lock_then_unlock_returns_to_the_page(signed_in, live_server):
    patient = live_server.accounts["patient"]
    page = signed_in("patient")
    page.goto("/patient/invoices")
    unlock_if_locked(page, patient)
    assert path_of(page) == "/patient/invoices"

    # Idle: the background poll sends the browser to the unlock page.
    page.wait_for_url(lambda url: urlparse(url).path == "/unlock", timeout=25_000)
    page.fill("#password", patient.password)
    page.click("#submit")
    page.wait_for_url(lambda url: urlparse(url).path != "/unlock")

    assert path_of(page) == "/patient/invoices", page.url
    expect(page.locator("h1")).to_be_visible()
