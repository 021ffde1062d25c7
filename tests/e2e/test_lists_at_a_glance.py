"""Invoices and claims read at a glance, in Chromium, in French, German and English: the
patient's invoice list with its count, its state words and why a row cannot be sent (also
after an htmx filter, and without JavaScript); a withdrawn claim; a statement naming its acts
and doctor; the notification badge counting what the list marks new. Each page axe-clean.

Anne's shared signed-in page is used (conftest `signed_in`); the records changed here are
made here (claim_data), so the demo records stay as the other tests expect them.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.models import Claim
from tests.e2e.audit import Audit
from tests.e2e.claim_data import demo_claim, invoice_count, invoice_of, rejected_claim, shared_invoice
from tests.e2e.claims_steps import open_page
from tests.e2e.signing import STEP_TIMEOUT_MS, unlock_if_locked, wait_for_path

pytestmark = pytest.mark.e2e

INVOICES = {"fr": "mémoires d'honoraires", "de": "Honorarnoten", "en": "invoices"}
ISSUED = {"fr": "Émis", "de": "Ausgestellt", "en": "Issued"}
SENT = {"fr": "Envoyé à la caisse", "de": "An die Kasse gesendet", "en": "Sent to the fund"}
ALREADY_SENT = {
    "fr": "Ne peut plus être envoyé : votre caisse de maladie l'a déjà reçu.",
    "de": "Kann nicht erneut gesendet werden: Ihre Krankenkasse hat sie bereits erhalten.",
    "en": "Cannot be sent again: your health fund already has it.",
}
WITHDRAWN = {"fr": "Retirée", "de": "Zurückgezogen", "en": "Withdrawn"}
YOU_WITHDREW = {"fr": "Vous avez retiré cette demande", "de": "Sie haben diesen Erstattungsantrag zurückgezogen",
                "en": "You withdrew this claim"}
NEW = {"fr": "Nouvelle", "de": "Neu", "en": "New"}
DOCTOR = {"fr": "Médecin", "de": "Ärztin/Arzt", "en": "Doctor"}


def _count_words(language: str, count: int) -> str:
    if language == "en" and count == 1:
        return "1 invoice"
    singular = {"fr": "mémoire d'honoraires", "de": "Honorarnote"}
    return f"{count} {singular[language] if count == 1 and language in singular else INVOICES[language]}"


def _anne_page(signed_in, live_server, url: str):
    anne = live_server.accounts["patient"]
    page = signed_in("patient")
    open_page(page, url, anne)
    if page.locator("#space-select").input_value() != "self":  # another story left it in Léa's space
        page.select_option("#space-select", value="self")
        page.click("form.space-switch button")
        page.wait_for_load_state()
        open_page(page, url, anne)
    return page


@pytest.mark.parametrize("language", ["fr", "de", "en"])
def test_the_invoice_list_counts_names_states_and_says_why(signed_in, live_server, language):
    app = live_server.app
    sent = invoice_of(app, shared_invoice(app).id)
    page = _anne_page(signed_in, live_server, f"/patient/invoices?lang={language}")
    audit = Audit()

    expect(page.locator("#invoice-rows .result-count")).to_have_text(_count_words(language, invoice_count(app)))
    row = page.locator(".invoice-list > li", has=page.locator(f'a[href="/patient/invoices/{sent}"]'))
    expect(row.locator(".state")).to_have_text(SENT[language])
    expect(row.locator(".reason")).to_have_text(ALREADY_SENT[language])
    expect(row.locator("input[type=checkbox]")).to_have_count(0)
    expect(row.locator(".pick-none")).to_have_count(1)
    # Every row has the same width, whether it has a checkbox or not.
    widths = page.locator(".invoice-list > li > a").evaluate_all("links => links.map(a => a.offsetWidth)")
    assert len(set(widths)) == 1, widths
    assert not re.search(r"Émis le|Ausgestellt am", page.locator("#invoice-rows").inner_text())
    audit.check(page, f"invoice list ({language})")

    # The filter swaps the rows in with htmx: the count follows, "Issued" holds no sent invoice.
    page.select_option("#state", "issued")
    page.locator("form.filters [type=submit]").click()
    page.wait_for_url(re.compile(r"state=issued"))
    expect(page.locator("#invoice-rows .result-count")).to_have_text(
        _count_words(language, invoice_count(app, state="issued")))
    expect(page.locator(f'#invoice-rows a[href="/patient/invoices/{sent}"]')).to_have_count(0)
    states = page.locator("#invoice-rows .state").all_inner_texts()
    assert states and set(states) == {ISSUED[language]}, states
    audit.check(page, f"invoice list filtered on issued ({language})")
    audit.assert_clean()


def test_the_filtered_invoice_list_works_without_javascript(signed_in, live_server, browser, console):
    app = live_server.app
    sent = invoice_of(app, shared_invoice(app).id)
    shared_page = _anne_page(signed_in, live_server, "/patient/invoices?lang=fr")
    # The same session in a browser with JavaScript off: its cookies, not a second sign-in.
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    console.watch(context)
    context.add_cookies(shared_page.context.cookies())
    page = context.new_page()
    page.set_default_timeout(STEP_TIMEOUT_MS)
    try:
        page.goto("/patient/invoices?lang=fr")
        unlock_if_locked(page, live_server.accounts["patient"])
        page.select_option("#state", "shared")
        page.locator("form.filters [type=submit]").click()
        page.wait_for_url(re.compile(r"state=shared"))
        expect(page.locator("h1")).to_be_visible()  # a whole page, not a fragment
        expect(page.locator("#invoice-rows .result-count")).to_have_text(
            _count_words("fr", invoice_count(app, state="shared")))
        expect(page.locator(f'#invoice-rows a[href="/patient/invoices/{sent}"]')).to_have_count(1)
        # axe-core needs JavaScript: the same list is audited with it in the test above.
        assert set(page.locator("#invoice-rows .state").all_inner_texts()) == {SENT["fr"]}
    finally:
        context.close()


def test_a_withdrawn_claim_says_so_to_the_patient_and_the_agent(signed_in, live_server):
    app = live_server.app
    made = shared_invoice(app)
    claim_id, reference = made.id, made.number
    page = _anne_page(signed_in, live_server, f"/patient/claims/{claim_id}?lang=en")
    page.get_by_role("button", name="Withdraw this claim").click()
    expect(page.locator(".flash-success")).to_contain_text("Your claim was withdrawn")
    agent = signed_in("cns")
    audit = Audit()
    for language in ("fr", "de", "en"):
        open_page(page, f"/patient/claims/{claim_id}?lang={language}", live_server.accounts["patient"])
        expect(page.locator("h1 .state")).to_have_text(WITHDRAWN[language])
        expect(page.locator("#withdrawn-heading")).to_have_text(YOU_WITHDREW[language])
        audit.check(page, f"withdrawn claim, patient ({language})")
        open_page(page, f"/patient/claims?lang={language}", live_server.accounts["patient"])
        row = page.locator("#claim-rows tr", has_text=reference)
        expect(row.locator(".state")).to_have_text(WITHDRAWN[language])
        expect(page.locator("#claim-rows .result-count")).to_contain_text(re.compile(r"^\d+ "))

        agent.goto(f"/cns/claims/{claim_id}?lang={language}")
        expect(agent.locator("main h1 + p .state")).to_have_text(WITHDRAWN[language])
        expect(agent.locator(".withdrawn-notice")).to_be_visible()
        audit.check(agent, f"withdrawn claim, agent ({language})")
        agent.goto(f"/cns/claims?state=withdrawn&sort=newest&lang={language}")
        expect(agent.locator("table.queue tr", has_text=reference).locator(".state")).to_have_text(WITHDRAWN[language])
        expect(agent.locator("#claim-queue .result-count")).to_be_visible()
    audit.assert_clean()


@pytest.mark.parametrize("language", ["fr", "de", "en"])
def test_the_statement_names_its_acts_and_doctor(signed_in, live_server, language):
    app = live_server.app
    made = demo_claim(app, "accepted")
    with app.app_context():
        claim = db.session.get(Claim, made.id)
        first = claim.invoice.lines[0]
        act, code, doctor = first.act.description(language), first.act_code, claim.doctor.name
    page = _anne_page(signed_in, live_server, f"/patient/claims/{made.id}/statement?lang={language}")
    expect(page.locator("table.amounts tbody tr").first.locator("th")).to_have_text(f"{act} {code}")
    expect(page.locator("dl.facts dt", has_text=DOCTOR[language]).locator("+ dd")).to_contain_text(doctor)
    audit = Audit()
    audit.check(page, f"statement ({language})")
    audit.assert_clean()


def _badge(page) -> int:
    badge = page.locator("#notification-count .badge")
    return int(badge.inner_text()) if badge.count() else 0


@pytest.mark.parametrize("language", ["fr", "de", "en"])
def test_the_badge_counts_what_the_list_marks_new(signed_in, live_server, language):
    app = live_server.app
    page = _anne_page(signed_in, live_server, f"/patient/notifications?lang={language}")  # read what waits
    rejected_claim(app)
    open_page(page, f"/patient/?lang={language}", live_server.accounts["patient"])
    count = _badge(page)
    assert count >= 1
    page.locator("nav.main-nav a[href='/patient/notifications']").click()
    wait_for_path(page, "/patient/notifications")
    expect(page.locator("ul.notices > li.is-new")).to_have_count(count)
    expect(page.locator("ul.notices > li.is-new .state").first).to_have_text(NEW[language])
    audit = Audit()
    audit.check(page, f"notifications with new ones ({language})")
    audit.assert_clean()
    open_page(page, f"/patient/?lang={language}", live_server.accounts["patient"])
    assert _badge(page) == 0
