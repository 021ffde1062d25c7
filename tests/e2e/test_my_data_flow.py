"""Stories of "Manage my personal data" (issue 7), as patients and the fund's staff live it: the
portable export, erasure, withdrawing and restoring consent, rectification without
JavaScript and a correction answered by staff; then axe-core on every page of the feature,
in every language.

Erasure deletes an account for good and withdrawal suspends it: those stories, and the ones
that change contact data or the language, run on fresh patients (my_data_data.py). Anne's
shared page is used only to look, to download an export, and to freeze a claim the test
made itself.
"""

from __future__ import annotations

import json
import re
import zipfile

import pytest
from playwright.sync_api import expect

from tests.e2e.audit import Audit
from tests.e2e.claim_data import ANNE, issue_invoice
from tests.e2e.claims_steps import open_page
from tests.e2e.my_data_data import (
    FreshPatient,
    PhoneOf,
    claim_state,
    code_sent_to,
    confirmation_word,
    contact_of,
    correction_request,
    fresh_patient,
    patient_exists,
    shared_claim,
)
from tests.e2e.signing import (
    new_page,
    path_of,
    sign_in,
    submit_password,
    unlock_if_locked,
    wait_for_path,
)

pytestmark = pytest.mark.e2e

LANGUAGES = ["fr", "de", "en"]
SIGNIN_FAILED = "The login, password or code is not correct, or the account is temporarily locked."
ERASURE_REFERENCE = re.compile(r"E-[A-Z0-9]{10}")


def signed_in_fresh(browser, live_server, console, authenticator, person: FreshPatient, **options):
    page = new_page(browser, live_server, console, **options)
    sign_in(page, person, PhoneOf(authenticator, person))
    assert path_of(page) == "/patient/", page.url
    return page


def erase_form(page, person: FreshPatient, code: str, word: str) -> None:
    page.fill("#password", person.password)
    page.fill("#code", code)
    page.fill("#confirmation", word)
    page.locator('main form[action$="/my-data/erase"] [type=submit]').click()


# --- 1. Export ---------------------------------------------------------------------------


def test_the_patient_downloads_the_export(signed_in, live_server, browser, console, authenticator):
    anne = live_server.accounts["patient"]
    page = signed_in("patient")
    open_page(page, "/patient/my-data?lang=en", anne)
    page.locator('#export form[action$="/my-data/export"] [type=submit]').click()
    wait_for_path(page, "/patient/my-data")
    expect(page.locator("#export-ready")).to_contain_text("Your export is ready")
    link = page.locator("#export").get_by_role("link", name="Download the ZIP file")
    expect(link).to_be_visible()
    href = link.get_attribute("href")

    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename.startswith("my-data-")
    assert download.value.suggested_filename.endswith(".zip")
    with zipfile.ZipFile(download.value.path()) as archive:
        names = archive.namelist()
        data = json.loads(archive.read("data.json"))
        bundle = json.loads(archive.read("fhir-bundle.json"))
        claims_csv = archive.read("claims.csv").decode("utf-8-sig")
    assert "data.json" in names and "fhir-bundle.json" in names
    assert {"invoices.csv", "claims.csv", "consents.csv", "access_log.csv"} <= set(names)
    documents = [name for name in names if name.startswith("documents/")]
    assert any(name.startswith("documents/invoice-") for name in documents), names
    assert any(name.startswith("documents/statement-") for name in documents), names  # Anne has accepted claims
    assert data["patient"]["matricule"] == anne.login
    assert bundle["resourceType"] == "Bundle"
    assert any(entry["resource"]["resourceType"] == "Patient" for entry in bundle["entry"])
    assert claims_csv.count("\n") > 1  # a header and Anne's claims

    # The link is the owner's alone: another patient, signed in, is refused it.
    other = fresh_patient(live_server.app, "Otto")
    stranger = signed_in_fresh(browser, live_server, console, authenticator, other)
    try:
        response = stranger.request.get(href)
        assert response.status == 404
    finally:
        stranger.context.close()


# --- 2. Erasure --------------------------------------------------------------------------


def test_a_patient_erases_their_account(browser, live_server, console, authenticator, signed_in):
    app = live_server.app
    person = fresh_patient(app, "Erwin")
    kept_id, kept_reference = shared_claim(app, person.login)
    unshared = issue_invoice(app, person.login)
    phone = PhoneOf(authenticator, person)
    page = signed_in_fresh(browser, live_server, console, authenticator, person)
    try:
        page.goto("/patient/my-data?lang=en")
        page.locator("#erasure").get_by_role("link", name="See what erasure deletes and erase my account").click()
        wait_for_path(page, "/patient/my-data/erase")
        expect(page.locator("h1")).to_have_text("Erase my account and my data")
        deleted = page.locator("section", has=page.locator("#erase-deleted"))
        expect(deleted).to_contain_text("invoices you have not sent to the fund")
        kept = page.locator("section", has=page.locator("#erase-kept"))
        expect(kept).to_contain_text("GDPR, article 17(3)(b)")
        expect(kept.locator("tbody tr")).to_have_count(1)
        expect(kept.locator("tbody th")).to_have_text(kept_reference)
        expect(kept).not_to_contain_text(unshared.number)  # the unshared invoice is not kept

        # A wrong confirmation word: the field says so, nothing is erased.
        erase_form(page, person, "000000", "DELETE")
        expect(page.locator("#confirmation-error")).to_contain_text("Type the word ERASE exactly as shown.")
        expect(page.locator("#confirmation")).to_have_attribute("aria-invalid", "true")
        expect(page.locator(".error-summary")).to_be_visible()
        assert path_of(page) == "/patient/my-data/erase"
        assert patient_exists(app, person.login)

        erase_form(page, person, phone.code(person.login), "ERASE")
        wait_for_path(page, "/erased")
        expect(page.locator("h1")).to_have_text("Your account has been erased")
        reference = ERASURE_REFERENCE.search(page.locator("main .panel-reference").inner_text())
        assert reference, page.locator("main").inner_text()
        assert not patient_exists(app, person.login)
        page.reload()  # shown once: the portal no longer knows whose erasure it was
        expect(page.locator("main")).not_to_contain_text(reference.group(0))

        # The old credentials are refused with the generic message; the old session is gone.
        page.goto("/patient/my-data?lang=en")
        assert path_of(page) == "/login"
        submit_password(page, person)
        expect(page.locator(".flash-error")).to_have_text(SIGNIN_FAILED)
        assert path_of(page) == "/login"
    finally:
        page.context.close()

    kept_now = claim_state(app, kept_id)
    assert kept_now["retained"] and kept_now["patient_id"] is None
    agent = signed_in("cns")
    agent.goto(f"/cns/claims/{kept_id}?lang=en")
    expect(agent.locator("main")).to_contain_text(kept_reference)
    expect(agent.locator("main .suspended-notice")).to_contain_text("kept by legal obligation")
    agent.goto("/cns/data-requests?lang=en&kind=erasure")
    expect(agent.locator("main tbody tr").first).to_contain_text("erased")


# --- 3. Withdrawal of consent ------------------------------------------------------------


def test_withdrawing_consent_suspends_until_restored(browser, live_server, console, authenticator):
    app = live_server.app
    person = fresh_patient(app, "Wanda")
    page = signed_in_fresh(browser, live_server, console, authenticator, person)
    # A second session, on another device, signed in with a recovery code.
    other = new_page(browser, live_server, console)
    try:
        submit_password(other, person)
        wait_for_path(other, "/login/code")
        other.goto("/login/recovery")
        other.fill("#code", person.recovery_codes[0])
        other.click("#submit")
        wait_for_path(other, "/patient/")

        page.goto("/patient/my-data?lang=en")
        consent = page.locator("#consent")
        consent.get_by_role("button", name="Withdraw my consent and sign out").click()
        # Without the box ticked, the browser keeps the form: nothing is withdrawn.
        expect(page.locator("#withdraw-understood:invalid")).to_have_count(1)
        assert path_of(page) == "/patient/my-data"
        assert contact_of(app, person.login)["status"] == "active"
        page.check("#withdraw-understood")
        consent.get_by_role("button", name="Withdraw my consent and sign out").click()
        wait_for_path(page, "/login")
        expect(page.locator(".flash-info")).to_contain_text("You have withdrawn your consent")
        assert contact_of(app, person.login)["status"] == "suspended"

        # Every session ended, the other device's too.
        other.goto("/patient/invoices")
        assert path_of(other) == "/login"
        page.goto("/patient/")
        assert path_of(page) == "/login"

        # Signing in again reaches only "my personal data".
        sign_in(page, person, PhoneOf(authenticator, person))
        wait_for_path(page, "/patient/my-data")
        expect(page.locator(".flash-info")).to_contain_text("Your account is suspended")
        for path in ("/patient/", "/patient/claims", "/patient/invoices", "/patient/notifications",
                     "/patient/settings"):
            page.goto(path)
            assert path_of(page) == "/patient/my-data", f"{path} led to {page.url}"
        for path in ("/patient/my-data/contact", "/patient/my-data/access-log", "/patient/my-data/erase"):
            page.goto(path)
            assert path_of(page) == path  # the rights stay reachable
        page.goto("/patient/my-data?lang=en")
        expect(page.locator("#consent .suspended-notice")).to_be_visible()

        page.locator("#consent").get_by_role("button", name="Restore my consent").click()
        wait_for_path(page, "/patient/")
        expect(page.locator(".flash-success")).to_contain_text("Your consent is restored")
        page.goto("/patient/claims")
        assert path_of(page) == "/patient/claims"
        assert contact_of(app, person.login)["status"] == "active"
    finally:
        page.context.close()
        other.context.close()


# --- 4. Rectification without JavaScript -------------------------------------------------


def test_rectification_without_javascript(browser, live_server, console, authenticator, signed_in):
    app = live_server.app
    person = fresh_patient(app, "Jonas")
    page = signed_in_fresh(browser, live_server, console, authenticator, person, java_script_enabled=False)
    try:
        page.goto("/patient/my-data?lang=en")
        page.locator("#rectification").get_by_role("link", name="Change my contact details").click()
        wait_for_path(page, "/patient/my-data/contact")
        expect(page.locator("#mobile")).to_have_value("+352621470000")

        page.fill("#mobile", "12")
        page.click("#submit")
        expect(page.locator("#mobile-error")).to_contain_text("international form")
        assert contact_of(app, person.login)["mobile"] == "+352621470000"

        page.fill("#mobile", "+352 691 234 567")
        page.select_option("#language", "de")
        # A new mobile asks for the password and a current code again (a copied cookie has neither).
        page.fill("#password", person.password)
        page.fill("#code", authenticator.code(person.login, person.secret))
        page.click("#submit")
        # The new number is used once the code sent to it comes back.
        wait_for_path(page, "/patient/my-data/contact/confirm")
        assert contact_of(app, person.login)["mobile"] == "+352621470000"
        page.fill("#mobile", code_sent_to(app, "+352691234567"))
        page.click("#submit")
        wait_for_path(page, "/patient/my-data")
        expect(page.locator("html")).to_have_attribute("lang", "de")  # the page now speaks German
        expect(page.locator(".flash-success")).to_be_visible()
        identity = page.locator("section.data-group", has=page.locator("#group-identity"))
        expect(identity).to_contain_text("+352691234567")
        expect(identity).to_contain_text("Deutsch")
        saved = contact_of(app, person.login)
        assert saved["mobile"] == "+352691234567" and saved["language"] == "de"

        # Registry data: a correction request, answered by the fund's agent.
        page.goto("/patient/my-data/correction?lang=en")
        page.select_option("#registry_field", "birth_date")
        words = "My date of birth is 2 January 1987, not the 1st."
        page.fill("#message", words)
        page.click("#submit")
        wait_for_path(page, "/patient/my-data")
        expect(page.locator(".flash-success")).to_be_visible()
        requests = page.locator("section.data-group", has=page.locator("#group-data_requests"))
        row = requests.locator("tbody tr", has_text=words)
        expect(row).to_contain_text("Not answered yet.")
        reference = row.locator("th").inner_text().strip()

        agent = signed_in("cns")
        agent.goto("/cns/data-requests?lang=en&kind=correction&state=open")
        agent.get_by_role("link", name=reference).click()
        agent.wait_for_url(re.compile(r"/cns/data-requests/\d+$"))
        expect(agent.locator("main dl.facts").first).to_contain_text(words)
        expect(agent.locator("main")).to_contain_text(person.name)
        answer = "The registry had a typing error; your date of birth is now 2 January 1987."
        agent.get_by_label("Corrected (or nothing needed correcting)").check()
        agent.get_by_label("Answer to the patient").fill(answer)
        agent.get_by_role("button", name="Send the answer").click()
        expect(agent.locator(".flash-success")).to_contain_text(reference)
        expect(agent.locator("main")).to_contain_text(answer)
        expect(agent.locator("main form textarea")).to_have_count(0)  # the first answer stands

        page.goto("/patient/my-data?lang=en")
        unlock_if_locked(page, person)
        row = page.locator("section.data-group", has=page.locator("#group-data_requests")).locator(
            "tbody tr", has_text=reference)
        expect(row).to_contain_text(answer)
        expect(row).to_contain_text("Done")
    finally:
        page.context.close()


# --- 5. axe-core -------------------------------------------------------------------------


def show(page, url: str, account=None, status: int = 200) -> None:
    response = page.goto(url)
    if account is not None and path_of(page) == "/unlock":
        unlock_if_locked(page, account)  # a slow run may pass the patients' 14-second lock
        response = page.goto(url)
    assert response.status == status, f"{url}: HTTP {response.status}"
    assert path_of(page) == url.split("?")[0], f"{url} led to {page.url}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_my_data_pages_are_accessible(signed_in, live_server, browser, console, authenticator, language):
    app = live_server.app
    anne = live_server.accounts["patient"]
    audit = Audit()

    # Staff first, so Anne's page then lists an answered request.
    request_id, reference = correction_request(app, ANNE, f"My surname is spelt Schmitt ({language}).")
    agent = signed_in("cns")
    show(agent, f"/cns/data-requests?lang={language}")
    audit.check(agent, "/cns/data-requests")
    show(agent, f"/cns/data-requests?lang={language}&kind=correction&state=open")
    expect(agent.locator("main tbody tr", has_text=reference)).to_have_count(1)
    audit.check(agent, "/cns/data-requests, filtered")
    show(agent, f"/cns/data-requests/{request_id}?lang={language}")
    audit.check(agent, "a correction request with its answer form")
    agent.locator("main form.stack [type=submit]").click()
    agent.locator(".error-summary").wait_for()
    audit.check(agent, "a correction request, answer form with errors")
    agent.check("#state-0")
    agent.fill("#answer", "Corrected in the registry.")
    agent.locator("main form.stack [type=submit]").click()
    agent.locator(".flash-success").wait_for()
    audit.check(agent, "an answered correction request")

    page = signed_in("patient")
    for path in ("/patient/my-data", "/patient/my-data/contact", "/patient/my-data/correction",
                 "/patient/my-data/access-log", "/patient/my-data/erase"):
        show(page, f"{path}?lang={language}", anne)
        audit.check(page, path)

    show(page, f"/patient/my-data/contact?lang={language}", anne)
    page.fill("#mobile", "12")  # refused: nothing is saved
    page.locator("main form.stack [type=submit]").click()
    page.locator(".error-summary").wait_for()
    audit.check(page, "contact details with an error")

    show(page, f"/patient/my-data/correction?lang={language}", anne)
    page.locator("main form.stack [type=submit]").click()  # no words: refused
    page.locator(".error-summary").wait_for()
    audit.check(page, "correction request with an error")

    show(page, f"/patient/my-data/erase?lang={language}", anne)
    page.locator("main form.stack [type=submit]").click()  # empty: refused before any check
    page.locator(".error-summary").wait_for()
    audit.check(page, "erase page with errors (claims kept)")

    claim_id, _reference = shared_claim(app, ANNE)
    show(page, f"/patient/claims/{claim_id}?lang={language}", anne)
    freeze = page.locator(f'form[action$="/claims/{claim_id}/freeze"]')
    expect(freeze).to_be_visible()
    audit.check(page, "claim with the freeze form")
    freeze.locator("[type=submit]").click()
    page.locator(f'form[action$="/claims/{claim_id}/unfreeze"]').wait_for()
    assert claim_state(app, claim_id)["frozen"]
    audit.check(page, "frozen claim")
    page.locator(f'form[action$="/claims/{claim_id}/unfreeze"] [type=submit]').click()
    page.locator(f'form[action$="/claims/{claim_id}/freeze"]').wait_for()
    assert not claim_state(app, claim_id)["frozen"]

    # A fresh patient's erasure, to the final confirmation.
    person = fresh_patient(app, f"Axe{language.upper()}")
    fresh = signed_in_fresh(browser, live_server, console, authenticator, person)
    try:
        show(fresh, f"/patient/my-data/erase?lang={language}")
        erase_form(fresh, person, "000000", "no")
        fresh.locator("#confirmation-error").wait_for()
        audit.check(fresh, "erase page with a wrong confirmation (nothing kept)")
        erase_form(fresh, person, PhoneOf(authenticator, person).code(person.login),
                   confirmation_word(app, language))
        wait_for_path(fresh, "/erased")
        expect(fresh.locator("main .panel-reference")).to_contain_text("E-")
        audit.check(fresh, "/erased")
    finally:
        fresh.context.close()
    audit.assert_clean()
