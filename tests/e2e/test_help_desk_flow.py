"""The help desk in a browser: a patient writes to their fund with a document attached, an agent
of that fund finds the message, opens it and answers, and the patient reads the answer after
being told by text message; someone who cannot sign in writes from /help with JavaScript off.

That another fund's agent gets 404 for the message (and the refusal is audited) is proven in
tests/helpdesk/test_help_desk.py.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.claim_data import CMFEP_AGENT, PAUL
from tests.e2e.claims_steps import open_page
from tests.e2e.help_data import help_request, help_requests_from, messages_to, say
from tests.e2e.signing import new_page, sign_in, wait_for_path
from tests.fixtures.images import png

pytestmark = pytest.mark.e2e

LANGUAGES = ["fr", "de", "en"]
REFERENCE = re.compile(r"H-[A-Z0-9]{10}")
PAUL_MOBILE = "+352621000103"  # Paul Muller, insured with the CMFEP (portal/demo.py)


def test_a_patient_writes_an_agent_of_their_fund_answers_and_the_patient_reads_it(
        browser, live_server, authenticator, console):
    app = live_server.app
    paul = live_server.account(PAUL)
    question = "Mein Zahnarzt hat zweimal dieselbe Rechnung geschickt. Welche soll ich einreichen?"
    answer = "Seule la première facture compte ; l'autre a été annulée par le dentiste."
    patient = new_page(browser, live_server, console)
    staff = new_page(browser, live_server, console)
    try:
        # The patient writes in German, with a scan attached.
        sign_in(patient, paul, authenticator)
        open_page(patient, "/patient/help?lang=de", paul)
        patient.select_option("#category", "invoice")
        patient.fill("#message", question)
        patient.set_input_files("#document", files=[{"name": "rechnung.png", "mimeType": "image/png",
                                                     "buffer": png()}])
        patient.locator("main form [type=submit]").click()
        wait_for_path(patient, "/patient/help")
        sent = patient.locator(".flash-success")
        expect(sent).to_contain_text(REFERENCE)
        reference = REFERENCE.search(sent.inner_text())[0]
        filed = help_request(app, reference)
        assert (filed["fund"], filed["state"], filed["document_type"]) == ("CMFEP", "open", "image/png")
        mine = patient.locator("main .help-message", has_text=reference)
        expect(mine).to_contain_text(question)
        expect(mine).to_contain_text(say(app, "de", "Waiting for an answer"))
        told_before = len(messages_to(app, PAUL_MOBILE, "help_reply"))

        # An agent of the CMFEP finds it in the queue, in French, and reads it with its document.
        sign_in(staff, live_server.account(CMFEP_AGENT), authenticator)
        staff.goto("/cns/help?lang=fr")
        row = staff.locator("main tr", has_text=reference)
        expect(row).to_contain_text(say(app, "fr", "Waiting for an answer"))
        row.get_by_role("link", name=reference).click()
        wait_for_path(staff, f"/cns/help/{filed['id']}")
        expect(staff.locator("main")).to_contain_text(question)
        expect(staff.locator("main")).to_contain_text(PAUL)  # who wrote: the patient's matricule
        with staff.expect_download() as download:
            staff.get_by_role("link", name=say(app, "fr", "Download the attached document")).click()
        with open(download.value.path(), "rb") as document:
            assert document.read(8) == b"\x89PNG\r\n\x1a\n"

        staff.fill("#body", answer)
        staff.locator("main form [type=submit]").click()
        expect(staff.locator(".flash-success")).to_contain_text(reference)
        expect(staff.locator("main")).to_contain_text(answer)
        assert help_request(app, reference)["replies"] == [answer]

        # Paul is told by text message, without the answer itself, and reads it in English.
        told = messages_to(app, PAUL_MOBILE, "help_reply")[told_before:]
        assert len(told) == 1 and "/patient/help" in told[0] and answer not in told[0]
        open_page(patient, "/patient/help?lang=en", paul)
        mine = patient.locator("main .help-message", has_text=reference)
        expect(mine).to_contain_text(answer)
        expect(mine).to_contain_text("Answered")
    finally:
        patient.context.close()
        staff.context.close()


@pytest.mark.parametrize("language", LANGUAGES)
def test_someone_who_cannot_sign_in_writes_without_javascript(browser, live_server, console, language):
    app = live_server.app
    email = f"no-script.{language}@example.lu"
    page = new_page(browser, live_server, console, java_script_enabled=False)
    try:
        page.goto(f"/help?lang={language}")
        page.fill("#name", "Marie Weis")
        page.fill("#email", email)
        page.select_option("#category", "account")
        page.fill("#message", "I lost my phone and cannot sign in.")

        # A wrong sum: refused with the reason at the field, nothing filed, a new sum asked.
        asked = page.locator("#answer-help").inner_text()
        page.fill("#answer", str(_sum(asked) + 1))
        page.locator("main form [type=submit]").click()
        expect(page.locator(".error-summary")).to_be_visible()
        expect(page.locator("#answer-error")).to_contain_text(
            say(app, language, "The answer to the question is not right. Try the new question."))
        assert help_requests_from(app, email) == []
        expect(page.locator("#message")).to_have_value("I lost my phone and cannot sign in.")  # nothing to retype
        expect(page.locator("#answer")).to_have_value("")

        # The right sum of the new question: filed once, and the page gives its reference.
        page.fill("#answer", str(_sum(page.locator("#answer-help").inner_text())))
        page.locator("main form [type=submit]").click()
        wait_for_path(page, "/help")
        expect(page.locator(".flash-success")).to_contain_text(REFERENCE)
        reference = REFERENCE.search(page.locator(".flash-success").inner_text())[0]
        assert help_requests_from(app, email) == [reference]
        assert help_request(app, reference)["fund"] == "CNS"
    finally:
        page.context.close()


def _sum(question: str) -> int:
    """The sum the page asks for, worked out as a person would (the two numbers of the question)."""
    first, second = (int(number) for number in re.findall(r"\d+", question)[:2])
    return first + second
