"""The visual identity in Chromium: the wordmark names the portal in each language and loads
nothing from the net; the phone header stays 63 px with it; every element the keyboard reaches
shows a focus indicator; buttons and cards keep one size; forms keep one measure."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from tests.e2e.signing import path_of, unlock_if_locked

pytestmark = pytest.mark.e2e

LANGUAGES = ["fr", "de", "en"]
NAMES = {"fr": "Portail des mémoires d'honoraires", "de": "Portal für ärztliche Honorarnoten",
         "en": "Medical invoices portal"}
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 720}
PHONE_HEADER_PX = 64  # 44 px menu control + 2 x 0.6rem padding = 63.2 px

# What the focused element shows: an outline, a box-shadow ring, or the yellow fill of a link.
FOCUS_SHOWN = """() => {
    const el = document.activeElement;
    if (!el || el === document.body) return null;
    const style = getComputedStyle(el);
    const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2
        && style.outlineColor !== 'rgba(0, 0, 0, 0)' && style.outlineColor !== 'transparent';
    const ring = style.boxShadow && style.boxShadow !== 'none';
    const fill = style.backgroundColor === 'rgb(255, 191, 71)';
    return {what: el.outerHTML.slice(0, 80), shown: outline || ring || fill};
}"""


def show(page, path: str, account) -> None:
    page.goto(path)
    if path_of(page) == "/unlock":  # a patient's page locks after 14 s idle here
        unlock_if_locked(page, account)
        page.goto(path)


def tab_through(page, limit: int = 40) -> list[str]:
    """Tab through the page; the elements that showed no focus indicator."""
    unseen, seen = [], set()
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUS_SHOWN)
        if focused is None or focused["what"] in seen:
            break
        seen.add(focused["what"])
        if not focused["shown"]:
            unseen.append(focused["what"])
    return unseen


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_wordmark_names_the_portal_and_loads_nothing_from_the_net(page, live_server, language):
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    page.set_viewport_size(PHONE)
    page.goto(f"/?lang={language}")
    brand = page.locator(".site-header a.brand")
    expect(brand).to_have_accessible_name(NAMES[language])
    mark = brand.locator("svg.brand-mark")
    expect(mark).to_be_visible()
    assert mark.get_attribute("aria-hidden") == "true"
    # A public page has no menu: the languages take a second row under the wordmark.
    brand, languages = brand.bounding_box(), page.locator(".languages-top").bounding_box()
    assert brand["height"] <= 28 + 1, "the name stays on one line"
    rows = 28 + 8 + languages["height"] + 2 * 0.6 * 16  # the mark's row, the gap, the languages, the padding
    assert page.locator(".site-header").bounding_box()["height"] <= rows + 1
    origin = urlparse(live_server.url).netloc
    assert {urlparse(url).netloc for url in requests} == {origin}, "a request left the portal"


@pytest.mark.parametrize("role", ["patient", "doctor", "cns"])
def test_the_phone_header_with_the_wordmark_stays_63_px(signed_in, live_server, role):
    page = signed_in(role)
    page.set_viewport_size(PHONE)
    try:
        for language in LANGUAGES:
            show(page, f"/{role}/?lang={language}", live_server.accounts[role])
            height = page.locator(".site-header").bounding_box()["height"]
            assert height < PHONE_HEADER_PX, f"{role}, {language}: {height} px"
    finally:
        page.set_viewport_size(DESKTOP)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_element_the_keyboard_reaches_shows_its_focus(page, language):
    for path in ("/", "/login", "/activate"):
        page.goto(f"{path}?lang={language}")
        assert tab_through(page) == [], f"{path}: focus not shown"


def test_staff_pages_show_their_focus_too(signed_in, live_server):
    page = signed_in("doctor")
    page.goto("/doctor/?lang=en")
    assert tab_through(page) == []
    page = signed_in("cns")
    page.goto("/cns/claims?lang=de")
    assert tab_through(page, limit=60) == []


def test_buttons_share_one_height_and_forms_one_measure(page):
    page.set_viewport_size(DESKTOP)
    page.goto("/?lang=en")
    heights = {round(box["height"]) for box in (b.bounding_box() for b in page.locator("main .button").all())}
    assert len(heights) == 1 and heights.pop() >= 44, "primary and secondary buttons differ in height"
    widths = set()
    for path in ("/login", "/forgot", "/activate", "/block"):
        page.goto(f"{path}?lang=en")
        widths.add(round(page.locator("main form.stack").first.bounding_box()["width"]))
    assert widths == {36 * 16}, f"form widths differ: {widths}"


def test_cards_have_one_width_on_each_home_page(signed_in, live_server):
    widths = set()
    for role in ("patient", "cns"):
        page = signed_in(role)
        page.set_viewport_size(DESKTOP)
        show(page, f"/{role}/?lang=en", live_server.accounts[role])
        for card in page.locator("main ul.tasks a, main ul.cards a").all():
            widths.add(round(card.bounding_box()["width"]))
    assert widths == {18 * 16}, f"cards of several widths: {widths}"
