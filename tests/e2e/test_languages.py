"""Switching language with and without JavaScript; signing in without JavaScript."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup
from playwright.sync_api import expect

from portal.config import ROOT
from tests.e2e.signing import home_of, path_of, sign_in, sign_out, wait_for_path

pytestmark = pytest.mark.e2e


def home_sentence(language: str) -> str:
    """The first sentence of the home page's own text in that language (written per language)."""
    html = (ROOT / "templates" / "public" / "content" / f"home_{language}.html").read_text(encoding="utf-8")
    for element in BeautifulSoup(html, "html.parser").find_all(["h2", "p", "li"]):
        text = " ".join(element.get_text(" ").split())
        if text and "{" not in text:
            return text
    raise AssertionError(f"no plain text found in home_{language}.html")


@pytest.fixture(params=[True, False], ids=["javascript", "no-javascript"])
def page_with_or_without_js(request, browser, live_server, console):
    context = browser.new_context(base_url=live_server.url, locale="fr-LU", java_script_enabled=request.param)
    console.watch(context)
    yield context.new_page()
    context.close()


def test_switch_to_german_and_keep_it(page_with_or_without_js):
    page = page_with_or_without_js
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "fr")  # from the browser's fr-LU
    expect(page.locator("main")).not_to_contain_text(home_sentence("de"))

    page.click("nav.languages a[hreflang=de]")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.locator("main")).to_contain_text(home_sentence("de"))
    expect(page.locator("nav.languages a[hreflang=de]")).to_have_attribute("aria-current", "true")

    # The next page, reached by a plain link without ?lang, stays in German.
    page.click('footer a[href="/privacy"]')
    wait_for_path(page, "/privacy")
    expect(page.locator("html")).to_have_attribute("lang", "de")


def test_sign_in_and_out_without_javascript(browser, live_server, console, authenticator):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    console.watch(context)
    page = context.new_page()
    try:
        # CNS staff: the demo doctor and patient sign in more often elsewhere, and each
        # sign-in spends one of the account's 30-second code steps.
        sign_in(page, live_server.accounts["cns"], authenticator)
        assert path_of(page) == home_of("cns")
        expect(page.locator("h1")).to_be_visible()
        sign_out(page)
        assert path_of(page) == "/"
    finally:
        context.close()
