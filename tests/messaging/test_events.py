"""Each event, driven through the real forms, reaches the person on the real SMTP server and the
local SMS gateway, in their language, saying only that something waits in the portal."""

from __future__ import annotations

import re

import pytest

from portal.core import jobs
from portal.core.identity import make_iban
from portal.extensions import db
from portal.messaging import events
from portal.models import Claim, CnsStaff, Doctor
from tests.fixtures.clients import sign_in, signed_in_as, step_up, url_for
from tests.invoicing.test_doctor_invoices import _form as invoice_form

LINK = re.compile(r"https://portal\.example\.lu/\S+")


def _reachable(person, language: str, email: str):
    person.profile.email = email
    person.account.preferred_language = language
    db.session.commit()
    return person


def _no_health_data(text: str, claim: Claim | None = None, doctor=None) -> None:
    assert "€" not in text and not re.search(r"\d+[.,]\d{2}", text), text  # no amount
    if doctor is not None:
        assert doctor.profile.name not in text and "Wagner" not in text, text
    if claim is not None:
        assert claim.reference not in text, text
        for line in claim.invoice.lines:
            assert line.act_code not in text, text


@pytest.mark.parametrize(("language", "words"), [("de", "neues dokument"), ("fr", "nouveau document"),
                                                 ("en", "new document")])
def test_a_statement_reaches_the_patient_by_email_and_sms_in_their_language(
        app, delivering, make_patient, make_doctor, make_staff, make_claim, language, words):
    mailbox, gateway = delivering
    patient, doctor, staff = make_patient(), make_doctor(), make_staff()
    _reachable(patient, language, "marie@example.lu")
    claim = make_claim(patient, doctor, staff, state="in_review")
    agent = signed_in_as(app, staff, lang="en")
    done = agent.post(url_for("cns.accept_claim", claim_id=claim.id), data={"version": claim.version, "amount": "50.78"})
    assert done.status_code == 303
    (mail,) = mailbox.to("marie@example.lu")
    (sms,) = gateway.to(patient.profile.mobile)
    text = mail.get_body(("plain",)).get_content()
    assert words in text.lower() and words in sms["body"]["text"].lower()
    assert mail["Content-Language"] == language
    assert LINK.search(text)[0] == "https://portal.example.lu" + url_for("patient.notifications")
    for content in (text, mail.get_body(("html",)).get_content(), sms["body"]["text"], mail["Subject"]):
        _no_health_data(content, claim, doctor)


@pytest.mark.parametrize(("endpoint", "data", "words"), [
    ("cns.request_info", {"question": "Please send the prescription of Dr Wagner."}, "eine Frage"),
    ("cns.reject_claim", {"reason": "other", "note": "Act C1 done abroad, 50.78 EUR.", "confirmed": "y"}, "entschieden"),
])
def test_a_question_or_a_decision_of_the_fund_says_only_that_it_waits(
        app, delivering, make_patient, make_doctor, make_staff, make_claim, endpoint, data, words):
    mailbox, gateway = delivering
    patient, doctor, staff = make_patient(), make_doctor(), make_staff()
    _reachable(patient, "de", "jos@example.lu")
    claim = make_claim(patient, doctor, staff, state="in_review")
    agent = signed_in_as(app, staff, lang="en")
    assert agent.post(url_for(endpoint, claim_id=claim.id), data={"version": claim.version, **data}).status_code == 303
    (mail,) = mailbox.to("jos@example.lu")
    (sms,) = gateway.to(patient.profile.mobile)
    for content in (mail.get_body(("plain",)).get_content(), sms["body"]["text"]):
        assert words in content
        assert "prescription" not in content and "abroad" not in content  # the agent's words stay in the portal
        _no_health_data(content, claim, doctor)


def test_an_invoice_sent_automatically_is_announced(app, delivering, make_patient, make_doctor):
    mailbox, _gateway = delivering
    patient, doctor = make_patient(), make_doctor()
    _reachable(patient, "fr", "lea@example.lu")
    browser = signed_in_as(app, patient, lang="fr")
    assert browser.post(url_for("patient.settings"), data={"auto_share": "y"}).status_code == 303
    practice = signed_in_as(app, doctor, lang="en")
    issued = practice.post(url_for("doctor.new_invoice"), data=invoice_form(patient.profile))
    assert issued.status_code == 303
    (mail,) = mailbox.to("lea@example.lu")
    text = mail.get_body(("plain",)).get_content()
    assert "envoyée à votre caisse de maladie automatiquement" in text
    _no_health_data(text, doctor=doctor)
    assert "C1" not in text


def test_export_ready_is_the_function_the_export_job_calls(app_ctx, delivering, make_patient):
    mailbox, _gateway = delivering
    patient = _reachable(make_patient(), "en", "max@example.lu")
    assert events.export_ready(patient.profile.id) == 2
    db.session.commit()
    jobs.run_ready()
    (mail,) = mailbox.to("max@example.lu")
    assert "ready to download" in mail.get_body(("plain",)).get_content()
    assert LINK.search(mail.get_body(("plain",)).get_content())[0].endswith(url_for("patient.my_data"))


def test_channels_switched_off_stay_off_but_security_alerts_always_go(app, delivering, make_patient, make_doctor,
                                                                      make_staff, make_claim):
    mailbox, gateway = delivering
    patient, doctor, staff = make_patient(), make_doctor(), make_staff()
    _reachable(patient, "fr", "marie@example.lu")
    browser = signed_in_as(app, patient, lang="en")
    form = browser.get(url_for("patient.message_settings"))
    assert form.status_code == 200 and "Security alerts and one-time codes" in form.get_data(as_text=True)
    chosen = {f"{kind}-email": "y" for kind in ("info_requested", "rejected", "auto_shared", "export")}
    saved = browser.post(url_for("patient.message_settings"), data={**chosen, "language": "de"})
    assert saved.status_code == 303
    db.session.expire_all()
    assert patient.account.preferred_language == "de"

    claim = make_claim(patient, doctor, staff, state="in_review")  # a statement: switched off on both channels
    agent = signed_in_as(app, staff, lang="en")
    assert agent.post(url_for("cns.accept_claim", claim_id=claim.id),
                      data={"version": claim.version, "amount": "50.78"}).status_code == 303
    assert mailbox.to("marie@example.lu") == [] and gateway.to(patient.profile.mobile) == []

    changed = browser.post(url_for("patient.bank_account"),
                           data={"iban": make_iban("LU", "0019400644750000"), **step_up(patient)})
    assert changed.status_code == 303
    (alert,) = mailbox.to("marie@example.lu")
    assert (len(gateway.to(patient.profile.mobile)), alert["Content-Language"]) == (1, "de")
    assert "Bankkonto" in alert.get_body(("plain",)).get_content()


def test_a_password_change_alerts_the_owner_with_a_not_me_link(app, delivering, make_patient):
    mailbox, gateway = delivering
    patient = _reachable(make_patient(), "fr", "marie@example.lu")
    browser = signed_in_as(app, patient, lang="fr")
    new = "a brand new violet passphrase"
    changed = browser.post(url_for("auth.change_password"),
                           data={"current_password": patient.password, **_code(patient), "new_password": new,
                                 "confirm": new})
    assert changed.status_code == 303
    (mail,) = mailbox.to("marie@example.lu")
    text = mail.get_body(("plain",)).get_content()
    assert "mot de passe" in text
    assert LINK.search(text)[0].startswith("https://portal.example.lu/not-me/")
    assert len(gateway.to(patient.profile.mobile)) == 1


def test_a_sign_in_from_a_new_browser_alerts_the_owner_but_not_the_same_one_again(app, delivering, make_patient):
    mailbox, gateway = delivering
    patient = _reachable(make_patient(), "en", "marie@example.lu")
    first = signed_in_as(app, patient)
    assert mailbox.to("marie@example.lu") == []  # the account's first sign-in ever
    first.post(url_for("auth.logout"))
    assert sign_in(first, patient).status_code == 303
    assert mailbox.to("marie@example.lu") == []  # the same browser
    signed_in_as(app, patient)  # another browser
    (mail,) = mailbox.to("marie@example.lu")
    assert "device or browser not seen before" in mail.get_body(("plain",)).get_content()


def test_doctors_and_staff_get_security_alerts_at_their_address(app, delivering, make_doctor, runner):
    mailbox, _gateway = delivering
    doctor = make_doctor()
    db.session.get(Doctor, doctor.profile.id).email = "dr.wagner@example.lu"
    db.session.commit()
    result = runner.invoke(args=["accounts", "suspend", doctor.login, "--reason", "lost laptop"])
    assert result.exit_code == 0, result.output
    jobs.run_ready()  # the command ran in the test's app context
    (mail,) = mailbox.to("dr.wagner@example.lu")
    assert "suspendu" in mail.get_body(("plain",)).get_content()


def _code(person) -> dict:
    return {"code": step_up(person)["code"]}


def test_an_agent_created_with_an_address_gets_the_alerts_there(app_ctx, delivering, runner):
    mailbox, _gateway = delivering
    created = runner.invoke(args=["accounts", "create", "--role", "cns", "--login", "T0099991", "--name", "A. Agent",
                                  "--email", " Agent@Example.lu "])
    assert created.exit_code == 0, created.output
    assert db.session.scalar(db.select(CnsStaff.email).where(CnsStaff.staff_id == "T0099991")) == "Agent@example.lu"
    refused = runner.invoke(args=["accounts", "create", "--role", "cns", "--login", "T0099992", "--name", "B. Agent",
                                  "--email", "not an address"])
    assert refused.exit_code == 1 and "Not an e-mail address" in refused.output
    assert runner.invoke(args=["accounts", "suspend", "T0099991", "--reason", "lost badge"]).exit_code == 0
    jobs.run_ready()
    (mail,) = mailbox.to("Agent@example.lu")
    assert "suspendu" in mail.get_body(("plain",)).get_content()
