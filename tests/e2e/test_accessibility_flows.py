"""axe-core on the pages of activation, identity requests and invoices, in every language."""

from __future__ import annotations

from datetime import date

import pytest

from portal.activation import codes
from tests.e2e.audit import Audit
from tests.e2e.data import create_registry_patient, last_code_sent, start_reactivation
from tests.e2e.signing import sign_in, unlock_if_locked, wait_for_path
from tests.fixtures.images import jpeg as _jpeg

pytestmark = pytest.mark.e2e

LANGUAGES = ["fr", "de", "en"]
PASSWORD = "green lantern on the old bridge"


@pytest.mark.parametrize("language", LANGUAGES)
def test_activation_pages(browser, live_server, authenticator, context, console, language):
    index = LANGUAGES.index(language)
    birth = date(1991, 4, 10 + index)
    matricule = create_registry_patient(live_server.app, f"Lang{language}", birth, 600 + index)
    audit = Audit()

    doctor = context.new_page()
    sign_in(doctor, live_server.accounts["doctor"], authenticator)
    doctor.goto(f"/doctor/activations?lang={language}&matricule={matricule}&birth_date={birth.isoformat()}")
    doctor.locator("#activation-check form").wait_for()
    audit.check(doctor, "/doctor/activations with a patient")
    doctor.click("#activation-check #submit")  # nothing ticked: errors
    doctor.locator(".error-summary").wait_for()
    audit.check(doctor, "/doctor/activations with errors")
    doctor.fill("#document_last4", "ZX98")
    doctor.fill("#mobile", "+352 621 000 222")
    doctor.check("#identity_checked")
    doctor.click("#activation-check #submit")
    doctor.locator("article.letter").wait_for()
    audit.check(doctor, "activation letter")
    typed = doctor.locator("code.secret").inner_text().strip()

    patient_context = browser.new_context(base_url=live_server.url)
    console.watch(patient_context)
    page = patient_context.new_page()
    page.goto(f"/activate?lang={language}")
    audit.check(page, "/activate")
    page.fill("#code", "WRONG-CODE")  # too short: said on the page
    page.click("#submit")
    page.locator(".error-summary").wait_for()
    audit.check(page, "/activate with an error")
    page.fill("#code", codes.grouped(codes.new_token()))  # well formed, unknown
    page.click("#submit")
    wait_for_path(page, "/activate/invalid")
    audit.check(page, "/activate/invalid")
    page.goto("/activate")
    page.fill("#code", typed)
    page.click("#submit")
    wait_for_path(page, "/activate/continue")
    audit.check(page, "birth date step")
    page.fill("#birth_date", "1950-01-01")
    page.click("#submit")
    page.locator(".error-summary").wait_for()
    audit.check(page, "birth date step with an error")
    page.fill("#birth_date", birth.isoformat())
    page.click("#submit")
    page.locator("#contact_code").wait_for()
    audit.check(page, "contact code step")
    page.fill("#contact_code", "000000" if last_code_sent(live_server.app, matricule) != "000000" else "111111")
    page.click("form:has(#contact_code) #submit")
    page.locator(".error-summary").wait_for()
    audit.check(page, "contact code step with an error")
    page.fill("#contact_code", last_code_sent(live_server.app, matricule))
    page.click("form:has(#contact_code) #submit")
    page.locator("#new_password").wait_for()
    audit.check(page, "password step")
    page.fill("#new_password", PASSWORD)
    page.fill("#confirm", PASSWORD)
    page.click("#submit")
    page.locator("code.secret").wait_for()
    audit.check(page, "authenticator step")
    secret = page.locator("code.secret").inner_text().replace(" ", "")
    page.fill("#code", authenticator.code(matricule, secret))
    page.click("#submit")
    page.locator("ul.codes").wait_for()
    audit.check(page, "recovery codes")
    page.click("a.button")
    page.locator("#accept").wait_for()
    audit.check(page, "terms step")
    page.check("#accept")
    page.click("#submit")
    wait_for_path(page, "/patient/")
    patient_context.close()
    audit.assert_clean()


@pytest.mark.parametrize("language", LANGUAGES)
def test_activation_check_pages(browser, live_server, authenticator, context, console, language):
    """Without a register contact the activation waits for staff; staff confirm; an owner sees a
    new activation of their working account and can cancel it."""
    index = LANGUAGES.index(language)
    birth = date(1993, 6, 10 + index)
    matricule = create_registry_patient(live_server.app, f"Post{language}", birth, 650 + index, mobile=None)
    audit = Audit()
    doctor = context.new_page()
    sign_in(doctor, live_server.accounts["doctor"], authenticator)
    doctor.goto(f"/doctor/activations?lang={language}&matricule={matricule}&birth_date={birth.isoformat()}")
    doctor.locator("#activation-check form").wait_for()
    doctor.fill("#document_last4", "ZX98")
    doctor.fill("#mobile", "+352 621 000 222")
    doctor.check("#identity_checked")
    doctor.click("#activation-check #submit")
    doctor.locator("article.letter").wait_for()
    typed = doctor.locator("code.secret").inner_text().strip()

    patient_context = browser.new_context(base_url=live_server.url)
    console.watch(patient_context)
    page = patient_context.new_page()
    page.goto(f"/activate?lang={language}")
    page.fill("#code", typed)
    page.click("#submit")
    wait_for_path(page, "/activate/continue")
    page.fill("#birth_date", birth.isoformat())
    page.click("#submit")
    page.locator("#awaiting-staff").wait_for()
    audit.check(page, "waiting for CNS staff")
    patient_context.close()

    staff_context = browser.new_context(base_url=live_server.url)
    console.watch(staff_context)
    staff = staff_context.new_page()
    sign_in(staff, live_server.accounts["cns"], authenticator)
    staff.goto(f"/cns/activation-checks?lang={language}")
    audit.check(staff, "/cns/activation-checks")
    staff_context.close()

    owner = live_server.accounts["patient"]
    start_reactivation(live_server.app, owner.login)
    owner_context = browser.new_context(base_url=live_server.url)
    console.watch(owner_context)
    home = owner_context.new_page()
    sign_in(home, owner, authenticator)
    home.goto(f"/patient/?lang={language}")
    home.locator("#reactivation-notice").wait_for()
    audit.check(home, "/patient/ with a new activation to cancel")
    home.click("form[action$='/reactivation/cancel'] button")
    home.locator("#reactivation-notice").wait_for(state="detached")
    owner_context.close()
    audit.assert_clean()


@pytest.mark.parametrize("language", LANGUAGES)
def test_identity_request_pages(browser, live_server, authenticator, context, console, language):
    index = LANGUAGES.index(language)
    birth = date(1992, 5, 10 + index)
    matricule = create_registry_patient(live_server.app, f"Request{language}", birth, 700 + index)
    audit = Audit()
    page = context.new_page()
    page.goto(f"/activate/request?lang={language}")
    audit.check(page, "/activate/request")
    page.click("#submit")
    page.locator(".error-summary").wait_for()
    audit.check(page, "/activate/request with errors")
    page.fill("#matricule", matricule)
    page.fill("#surname", "Audit")
    page.fill("#given_name", f"Request{language}")
    page.fill("#birth_date", birth.isoformat())
    page.fill("#mobile", "+352 621 111 222")
    page.set_input_files("#document", files=[{"name": "id.jpg", "mimeType": "image/jpeg", "buffer": _jpeg()}])
    page.check("#consent")
    page.click("#submit")
    page.locator("dl.facts").wait_for()
    audit.check(page, "request status")

    staff_context = browser.new_context(base_url=live_server.url)
    console.watch(staff_context)
    staff = staff_context.new_page()
    sign_in(staff, live_server.accounts["cns"], authenticator)
    staff.goto(f"/cns/identity-requests?lang={language}")
    audit.check(staff, "/cns/identity-requests")
    staff.locator("main table a").first.click()
    staff.locator("img.id-document").wait_for()
    audit.check(staff, "identity request")
    staff.click('form[action$="/approve"] [type="submit"]')
    wait_for_path(staff, "/cns/identity-requests")
    staff.goto(f"/dev/outbox?lang={language}")
    audit.check(staff, "/dev/outbox")
    staff_context.close()
    audit.assert_clean()


@pytest.mark.parametrize("language", LANGUAGES)
def test_invoice_pages(browser, live_server, authenticator, context, console, language):
    audit = Audit()
    doctor = context.new_page()
    sign_in(doctor, live_server.accounts["doctor"], authenticator)
    doctor.goto(f"/doctor/invoices/new?lang={language}")
    audit.check(doctor, "/doctor/invoices/new")
    doctor.fill("#lines-0-code", "NOPE")
    doctor.click("#submit")
    doctor.locator(".error-summary").wait_for()
    audit.check(doctor, "/doctor/invoices/new with errors")
    doctor.goto("/doctor/acts?q=C")
    audit.check(doctor, "/doctor/acts")
    doctor.goto("/doctor/invoices")
    doctor.locator("#invoice-rows a").first.click()
    doctor.locator("dl.facts").wait_for()
    audit.check(doctor, "doctor invoice detail")

    patient_context = browser.new_context(base_url=live_server.url)
    console.watch(patient_context)
    page = patient_context.new_page()
    account = live_server.accounts["patient"]
    sign_in(page, account, authenticator)
    page.goto(f"/patient/invoices?lang={language}")
    unlock_if_locked(page, account)
    page.locator(".invoice-list a").first.click()
    page.locator("dl.facts").wait_for()
    unlock_if_locked(page, account)
    audit.check(page, "patient invoice detail")
    patient_context.close()
    audit.assert_clean()


@pytest.mark.parametrize("language", LANGUAGES)
def test_child_and_locked_code_pages(browser, live_server, authenticator, context, console, language):
    """The parent's step of a child's activation, a locked code, an unknown request."""
    from portal.activation import codes
    from portal.extensions import db
    from portal.models import Patient

    index = LANGUAGES.index(language)
    child_birth, other_birth = date(2016, 2, 1 + index), date(1993, 6, 1 + index)
    child = create_registry_patient(live_server.app, f"Child{language}", child_birth, 800 + index)
    other = create_registry_patient(live_server.app, f"Locked{language}", other_birth, 900 + index)
    parent_login = live_server.accounts["patient"].login
    with live_server.app.app_context():
        find = lambda matricule: db.session.scalar(db.select(Patient).where(Patient.matricule == matricule))  # noqa: E731
        _, child_token = codes.issue(find(child), guardian=find(parent_login))
        _, other_token = codes.issue(find(other))
        db.session.commit()
    audit = Audit()
    page = context.new_page()
    page.goto(f"/activate/{child_token}?lang={language}")
    page.fill("#birth_date", child_birth.isoformat())
    page.click("#submit")
    page.locator("main a.button").wait_for()
    audit.check(page, "child's code, parent not signed in")

    page.goto(f"/activate/{other_token}")
    for day in (1, 2, 3):
        page.fill("#birth_date", f"1940-01-0{day}")
        page.click("#submit")
        page.wait_for_load_state()
    audit.check(page, "locked code")
    response = page.goto("/activate/request/no-such-reference")
    assert response.status == 404
    audit.check(page, "unknown request")
    audit.assert_clean()
