"""Home pages, the header menu and the staff work layouts in Chromium: each home page in three
languages axe-clean (wide, and on a phone with the menu open), a one-line header on a phone
whose menu opens with the keyboard and without JavaScript, the queue's filters that fit at
1280 px and fold on a phone, the claim page in three columns on a wide screen."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.audit import Audit
from tests.e2e.claim_data import demo_claim
from tests.e2e.signing import open_account_menu, path_of, sign_in, unlock_if_locked, wait_for_path

pytestmark = pytest.mark.e2e

LANGUAGES = ["fr", "de", "en"]
ROLES = ["patient", "doctor", "cns"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 720}  # Playwright's default, which the shared pages have
# One line of text and the menu control, with the header's padding.
HEADER_MAX_PX = 80


def show(page, path: str, account=None) -> None:
    response = page.goto(path)
    if account is not None and path_of(page) == "/unlock":
        unlock_if_locked(page, account)  # a slow run may pass the patients' 14-second lock
        response = page.goto(path)
    assert response.status == 200, f"{path}: HTTP {response.status}"


@pytest.fixture
def wide(signed_in):
    """signed_in(role), put back at the desktop width after the test."""
    touched = []

    def at(role: str, viewport: dict = DESKTOP):
        page = signed_in(role)
        page.set_viewport_size(viewport)
        touched.append(page)
        return page

    yield at
    for page in touched:
        page.set_viewport_size(DESKTOP)


@pytest.mark.parametrize("role", ROLES)
def test_each_home_page_is_axe_clean_in_three_languages_wide_and_on_a_phone(wide, live_server, role):
    account = live_server.accounts[role]
    audit = Audit()
    page = wide(role)
    for language in LANGUAGES:
        show(page, f"/{role}/?lang={language}", account)
        expect(page.locator("ul.tasks li").first).to_be_visible()
        audit.check(page, f"{role} home, {language}")
        open_account_menu(page)
        expect(page.locator('form[action="/logout"] button')).to_be_visible()
        audit.check(page, f"{role} home with the account menu open, {language}")
    page.set_viewport_size(PHONE)
    for language in LANGUAGES:
        show(page, f"/{role}/?lang={language}", account)
        page.locator("#menu > summary").click()
        expect(page.locator("nav.main-nav")).to_be_visible()
        audit.check(page, f"{role} home on a phone, menu open, {language}")
    audit.assert_clean()


@pytest.mark.parametrize("role", ROLES)
def test_the_phone_header_is_one_line_and_its_menu_opens_with_the_keyboard(wide, live_server, role):
    page = wide(role, PHONE)
    for language in LANGUAGES:
        show(page, f"/{role}/?lang={language}", live_server.accounts[role])
        header = page.locator(".site-header").bounding_box()
        assert header["height"] <= HEADER_MAX_PX, f"{role}, {language}: header {header['height']} px high"
        brand, summary = page.locator(".brand").bounding_box(), page.locator("#menu > summary").bounding_box()
        assert summary["y"] < brand["y"] + brand["height"], "the menu control sits beside the name"
        expect(page.locator("nav.main-nav")).to_be_hidden()

    # Keyboard only: Tab from the skip link reaches the name, then the menu; Enter opens it.
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(page.locator("#menu > summary")).to_be_focused()
    page.keyboard.press("Enter")
    main_links = page.locator("nav.main-nav a")
    expect(main_links.first).to_be_visible()
    page.keyboard.press("Tab")
    expect(main_links.first).to_be_focused()
    # The account settings are one more disclosure inside the menu; Space opens it.
    page.locator("#account-menu > summary").focus()
    page.keyboard.press("Space")
    expect(page.locator('form[action="/logout"] button')).to_be_visible()
    # The opened menu lies over the page: the header keeps its height.
    assert page.locator(".site-header").bounding_box()["height"] <= HEADER_MAX_PX
    page.keyboard.press("Enter")  # on the summary: closes the account settings again
    expect(page.locator('form[action="/logout"] button')).to_be_hidden()


def test_each_role_has_its_main_pages_in_the_header(wide):
    expected = {
        "patient": ["/patient/", "/patient/invoices", "/patient/claims", "/patient/notifications"],
        "doctor": ["/doctor/", "/doctor/invoices", "/doctor/reports", "/doctor/payments",
                   "/doctor/activations", "/doctor/help"],
        "cns": ["/cns/", "/cns/claims", "/cns/paper-intake", "/cns/statistics", "/cns/help"],
    }
    for role, paths in expected.items():
        page = wide(role)
        show(page, f"/{role}/invoices?lang=en" if role != "cns" else "/cns/claims?lang=en")
        links = page.locator("nav.main-nav a")
        expect(links.first).to_be_visible()  # on a wide screen the menu's content is in the header
        assert [a.get_attribute("href") for a in links.all()] == paths
        current = page.locator('nav.main-nav a[aria-current="page"]')
        assert current.get_attribute("href") == paths[1]
        expect(page.locator('form[action="/logout"] button')).to_be_hidden()  # until "Account" opens


def test_the_menu_works_without_javascript(browser, live_server, console, authenticator):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False, viewport=PHONE)
    console.watch(context)
    try:
        page = context.new_page()
        doctor = live_server.account("90000029")  # a second doctor: the shared page keeps its own sign-in
        sign_in(page, doctor, authenticator)
        assert path_of(page) == "/doctor/"
        assert page.locator(".site-header").bounding_box()["height"] <= HEADER_MAX_PX
        page.locator("#menu > summary").click()
        page.locator('nav.main-nav a[href="/doctor/reports"]').click()
        wait_for_path(page, "/doctor/reports")
        page.locator("#menu > summary").click()
        page.locator("#account-menu > summary").click()
        page.locator('form[action="/logout"] button').click()
        wait_for_path(page, "/")
    finally:
        context.close()


# --- The staff's work layouts ------------------------------------------------------------------


OVERLAPS = """() => {
    const boxes = [...document.querySelectorAll('#claim-queue form.filters .field')].map(field => {
        const control = field.querySelector('input, select').getBoundingClientRect();
        const own = field.getBoundingClientRect();
        return {id: field.querySelector('input, select').id, control, own};
    });
    const problems = [];
    for (const a of boxes) {
        if (a.control.right > a.own.right + 0.5) problems.push(a.id + ' overflows its field');
        for (const b of boxes) {
            if (a === b) continue;
            const apart = a.control.right <= b.own.left + 0.5 || b.own.right <= a.control.left + 0.5
                || a.control.bottom <= b.own.top + 0.5 || b.own.bottom <= a.control.top + 0.5;
            if (!apart) problems.push(a.id + ' runs into ' + b.id);
        }
    }
    return problems;
}"""


TEXT_HEIGHT = """cell => { const range = document.createRange(); range.selectNodeContents(cell);
    return range.getBoundingClientRect().height; }"""


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_queue_filters_fit_at_1280_px_and_fold_on_a_phone(wide, language):
    page = wide("cns")
    show(page, f"/cns/claims?lang={language}")
    expect(page.locator("#date_from")).to_be_visible()  # wide: no fold, the filters are shown
    expect(page.locator(".filters-fold > summary")).to_be_hidden()
    assert page.evaluate(OVERLAPS) == []
    # A date stays on one line: its text's own height, not its cell's (another cell of the row,
    # a long name, may take two lines and make the whole row taller).
    for cell in page.locator("table.queue tbody td.nowrap").all():
        text_height = cell.evaluate(TEXT_HEIGHT)
        assert text_height < 2 * 16, cell.inner_text()

    page.set_viewport_size(PHONE)
    show(page, f"/cns/claims?lang={language}")
    expect(page.locator("#date_from")).to_be_hidden()
    page.locator(".filters-fold > summary").click()
    expect(page.locator("#date_from")).to_be_visible()
    assert page.evaluate(OVERLAPS) == []


def test_a_filter_in_use_keeps_the_fold_open_on_a_phone(wide):
    page = wide("cns", PHONE)
    show(page, "/cns/claims?lang=en&state=&sort=newest")
    expect(page.locator("#sort")).to_be_visible()


SCROLLING_TABLES = """() => [...document.querySelectorAll('main .table-scroll')]
    .filter(box => box.scrollWidth > box.clientWidth).length"""


def columns_of(page, path: str, *, tables_fit: bool = True) -> list[dict]:
    show(page, path)
    if tables_fit:
        assert page.evaluate(SCROLLING_TABLES) == 0, "a table is cut and scrolls inside its column"
    return [page.locator(f"section[aria-labelledby={name}-heading]").bounding_box()
            for name in ("invoice", "history", "decision")]


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_claim_page_puts_invoice_history_and_decision_side_by_side(wide, live_server, language):
    claim = demo_claim(live_server.app, "in_review")
    path = f"/cns/claims/{claim.id}?lang={language}"
    page = wide("cns", {"width": 1600, "height": 900})
    invoice, history, decision = columns_of(page, path)
    assert invoice["y"] == history["y"] == decision["y"]
    assert invoice["x"] + invoice["width"] <= history["x"]
    assert history["x"] + history["width"] <= decision["x"]

    # At 1280 px the invoice keeps a column wide enough for its acts; history above decision.
    page.set_viewport_size({"width": 1280, "height": 900})
    invoice, history, decision = columns_of(page, path)
    assert invoice["y"] == history["y"] and invoice["x"] + invoice["width"] <= history["x"]
    assert history["x"] == decision["x"] and history["y"] + history["height"] <= decision["y"]

    page.set_viewport_size(PHONE)  # a phone scrolls a wide table sideways, as everywhere
    invoice, history, decision = columns_of(page, path, tables_fit=False)
    assert invoice["x"] == history["x"] == decision["x"]
    assert invoice["y"] + invoice["height"] <= history["y"] and history["y"] + history["height"] <= decision["y"]
