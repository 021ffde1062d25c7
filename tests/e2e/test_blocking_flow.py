"""Blocking an account from outside it, in Chromium, in each language, axe-clean: "block my account"
with a code sent to the register's mobile, and the one button behind an alert's "this wasn't me" link."""

from __future__ import annotations

import re
from datetime import date

import pytest

from tests.e2e.audit import Audit
from tests.e2e.data import announce, create_active_patient, last_message_to, status_of
from tests.e2e.signing import wait_for_path

pytestmark = pytest.mark.e2e

LANGUAGES = ["fr", "de", "en"]
REGISTER_MOBILE = "+352621999000"  # what tests/e2e/data.py gives every insured person it creates


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_owner_blocks_their_account_with_a_code_sent_to_their_phone(page, live_server, language):
    index = LANGUAGES.index(language)
    login = create_active_patient(live_server.app, f"Block{language}", date(1971, 2, 3 + index), 610 + index)
    audit = Audit()
    page.goto(f"/block?lang={language}")
    audit.check(page, "/block")
    page.fill("#login", login)
    page.click("#submit")
    wait_for_path(page, "/block/confirm")
    audit.check(page, "/block/confirm")

    page.fill("#code", "000000")
    page.click("#submit")
    page.locator(".error-summary").wait_for()
    audit.check(page, "/block/confirm with an error")
    assert status_of(live_server.app, login) == "active"

    code = re.search(r"\b(\d{6})\b", last_message_to(live_server.app, REGISTER_MOBILE))[1]
    page.fill("#code", code)
    page.click("#submit")
    page.locator(".flash-success").wait_for()
    audit.check(page, "/block/confirm done")
    assert status_of(live_server.app, login) == "blocked"
    audit.assert_clean()


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_link_of_an_alert_blocks_the_account_with_one_button(page, live_server, language):
    index = LANGUAGES.index(language)
    login = create_active_patient(live_server.app, f"NotMe{language}", date(1972, 4, 5 + index), 620 + index)
    announce(live_server.app, login, "bank_account_changed")
    link = re.search(r"https?://\S+(/not-me/\S+)", last_message_to(live_server.app, REGISTER_MOBILE))[1]
    audit = Audit()
    page.goto(f"{link}?lang={language}")
    audit.check(page, "/not-me/<token>")
    assert status_of(live_server.app, login) == "active"  # opening the link (a preview) blocks nothing
    page.click("#submit")
    page.locator(".flash-success").wait_for()
    audit.check(page, "/not-me/<token> done")
    assert status_of(live_server.app, login) == "blocked"

    page.goto(f"{link}?lang={language}")  # used once: the link now says so
    audit.check(page, "/not-me/<token> used")
    audit.assert_clean()
