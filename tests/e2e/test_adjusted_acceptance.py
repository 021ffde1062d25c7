"""In Chromium, in three languages, with JavaScript on (axe-core clean) and off: accepting another
amount than the computed one needs a reason chosen from the list (and a note for "another
reason"), is restated for confirmation, and the patient reads the reason in their language."""

from __future__ import annotations

import pytest
from flask import render_template_string
from flask_babel import force_locale, gettext
from playwright.sync_api import expect

from portal.claims.adjustments import ADJUSTMENT_REASONS
from portal.extensions import db
from portal.models import Claim, ClaimState
from tests.e2e.audit import Audit
from tests.e2e.claim_data import claim_in_review
from tests.e2e.signing import new_page, path_of, sign_in, unlock_if_locked

pytestmark = pytest.mark.e2e

LANGUAGES = ["fr", "de", "en"]
NOTE = "Only the consultation is covered on this date."


@pytest.fixture(scope="module")
def agent_without_js(browser, live_server, console, authenticator):
    """The CNS agent in a browser with JavaScript switched off: every step is a plain form post."""
    page = new_page(browser, live_server, console, java_script_enabled=False)
    context = page.context
    sign_in(page, live_server.accounts["cns"], authenticator)
    yield page
    context.close()


def _words(app, language: str) -> dict:
    with app.test_request_context(), force_locale(language):
        return {
            "other": str(ADJUSTMENT_REASONS["other"]),
            "one_euro": render_template_string("{{ 100|money }}"),
            "reason_label": gettext("Reason for the different amount"),
            "note_label": gettext("Explanation for the patient"),
        }


def _facts(page) -> dict[str, str]:
    return {dt.inner_text().strip(): dt.locator("xpath=following-sibling::dd[1]").inner_text().strip()
            for dt in page.locator("main dl.facts dt").all()}


class _Audit(Audit):
    """axe-core runs in the page, so only where JavaScript is on; the same pages are audited there."""

    def __init__(self, javascript: bool):
        super().__init__()
        self.javascript = javascript

    def check(self, page, label: str) -> None:
        if self.javascript:
            super().check(page, label)


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
@pytest.mark.parametrize("language", LANGUAGES)
def test_another_amount_needs_a_reason_is_confirmed_and_the_patient_reads_why(
        request, signed_in, live_server, language, javascript):
    app, audit = live_server.app, _Audit(javascript)
    agent = signed_in("cns") if javascript else request.getfixturevalue("agent_without_js")
    words = _words(app, language)
    claim = claim_in_review(app)
    with app.app_context():
        computed = db.session.get(Claim, claim.id).computed_cents
    agent.goto(f"/cns/claims/{claim.id}?lang={language}")
    expect(agent.locator("#adjustment_reason")).to_have_value("")  # no reason chosen in advance
    agent.fill("#amount", "1,00")
    agent.locator('form[action$="/accept"] [type=submit]').click()
    summary = agent.locator("#error-summary")
    expect(summary.locator('a[href="#adjustment_reason"]')).to_be_visible()
    audit.check(agent, f"another amount without a reason ({language})")

    agent.select_option("#adjustment_reason", "other")
    agent.locator('form[action$="/accept"] [type=submit]').click()
    expect(agent.locator('#error-summary a[href="#adjustment_note"]')).to_be_visible()
    audit.check(agent, f"another reason without a note ({language})")
    with app.app_context():
        assert db.session.get(Claim, claim.id).state == ClaimState.IN_REVIEW  # nothing saved

    agent.fill("#adjustment_note", NOTE)
    agent.locator('form[action$="/accept"] [type=submit]').click()
    expect(agent.locator("h1")).to_contain_text(claim.number)
    facts = _facts(agent)
    assert words["one_euro"] in facts.values()
    assert facts[words["reason_label"]] == words["other"] and facts[words["note_label"]] == NOTE
    with app.test_request_context(), force_locale(language):
        assert render_template_string("{{ c|money }}", c=computed) in facts.values()  # the computed amount
    audit.check(agent, f"another amount to confirm ({language})")
    with app.app_context():
        assert db.session.get(Claim, claim.id).state == ClaimState.IN_REVIEW  # still nothing saved
    agent.locator("input[name=confirm]").click()
    expect(agent.locator("#decision-done")).to_contain_text(claim.number)
    audit.check(agent, f"after an adjusted acceptance ({language})")
    with app.app_context():
        decided = db.session.get(Claim, claim.id)
        assert (decided.state, decided.reimbursed_cents, decided.adjustment_reason, decided.adjustment_note) == (
            ClaimState.ACCEPTED, 100, "other", NOTE)

    patient = signed_in("patient")  # Anne, whose claim it is
    patient.goto(f"/patient/claims/{claim.id}?lang={language}")
    if path_of(patient) == "/unlock":
        unlock_if_locked(patient, live_server.accounts["patient"])
        patient.goto(f"/patient/claims/{claim.id}?lang={language}")
    decision = patient.locator("#decision-heading").locator("xpath=..")
    expect(decision).to_contain_text(words["other"])
    expect(decision).to_contain_text(NOTE)
    audit.check(patient, f"patient's adjusted claim ({language})")
    audit.assert_clean()
