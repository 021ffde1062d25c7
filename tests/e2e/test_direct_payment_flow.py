"""Direct payment in a browser, in French, German and English, through the real pages.

Path A, direct payment: the demo doctor (90000011, whose practice account the demo records)
issues a digital invoice to Anne with direct payment, records who agreed and how, and sees
before issuing what the fund pays and what Anne pays now. The claim reaches the CNS queue at
once, marked as direct payment; an agent takes it up and accepts it. The doctor's payments page
then lists the payment run, whose remittance statement is a PDF, and Anne's page of the invoice
shows both amounts and that she has nothing to send.

Path B, paper preference: the doctor issues an invoice for a patient who prefers paper. It is a
paper invoice whose PDF carries a QR code; the code is read from the PDF's picture (zxing-cpp,
as the portal's own photo intake reads it) and typed into the paper-intake form as a hand
scanner would, and the intake creates the claim.

axe-core audits the pages these paths add: the invoice form showing the split, the payments
page, the agent's page of a direct-payment claim, the patient's direct-payment invoice.

The stories use the shared signed-in pages (conftest `signed_in`: Anne, doctor 90000011,
agent CNS0001) and only change invoices and claims they make themselves.
"""

from __future__ import annotations

import io
import re

import pytest
import zxingcpp
from flask_babel import force_locale, gettext
from playwright.sync_api import expect
from pypdf import PdfReader

from portal.claims import direct_payment
from portal.core import clock, i18n, identity
from portal.extensions import db
from portal.invoicing import nomenclature
from portal.models import Claim, ClaimState, Doctor, Invoice, Patient
from portal.web import states, words
from tests.e2e.audit import Audit
from tests.e2e.claim_data import ANNE, DIGITAL_DOCTOR, claim_of_invoice, qr_payload
from tests.e2e.claims_steps import INVOICE_PAGE, open_page
from tests.e2e.signing import path_of, wait_for_path

pytestmark = pytest.mark.e2e

LANGUAGES = ["fr", "de", "en"]
# Two consultations the nomenclature marks as paid directly: a split table of two lines.
DIRECT_ACTS = (("C1", 1), ("V1", 1))
# How Anne agreed, varied by language so the doctor's page shows each way of agreeing.
CONSENT_METHOD = {"fr": "signed", "de": "oral", "en": "signed"}


# --- Expected values, worked out by the portal's own rules and words --------------------------


def _expected_split(app, matricule: str, acts) -> direct_payment.Split:
    """What the fund and the patient pay for `acts` today (the same rule the pages apply)."""
    with app.app_context():
        patient = db.session.scalar(db.select(Patient).where(Patient.matricule == matricule))
        today = clock.today()
        lines = [(code, quantity, nomenclature.act_on(code, today).fee_cents) for code, quantity in acts]
        return direct_payment.split(patient, today, lines)


def _words(app, language: str, **amounts: int) -> dict[str, str]:
    """The texts the pages show in `language`, from the catalogue; `amounts` in cents, written
    as the pages write money."""
    with app.test_request_context(), force_locale(language):
        found = {name: i18n.money(cents) for name, cents in amounts.items()}
        found.update({
            "direct_notice": gettext("Direct payment."),
            "direct_mark": gettext("Direct payment"),
            "the_patient": gettext("The patient"),
            "signed": gettext("Signed at the practice"),
            "oral": gettext("Said in person"),
            "nothing_to_send": str(words.UNSHAREABLE["direct"]),
            "accepted": str(states.STATES["claim"]["accepted"].label),
            "paper_qr": str(words.CHANNELS["paper_qr"]),
            "prefers_paper": gettext("The patient prefers paper: the invoice is printed with its QR code, "
                                     "and there is no direct payment."),
            "paper_notice": gettext("The patient asked for a paper invoice: print it with its QR code "
                                    "and hand it over."),
        })
        if "patient_pays" in amounts:
            found["both_amounts"] = gettext(
                "Paid by you: %(patient)s; paid by your fund to the doctor: %(fund)s.",
                patient=found["patient_pays"], fund=found["fund_pays"])
        return found


def _masked_doctor_iban(app) -> str:
    with app.app_context():
        doctor = db.session.scalar(db.select(Doctor).where(Doctor.provider_code == DIGITAL_DOCTOR))
        return identity.masked_iban(doctor.iban)


# --- Steps ------------------------------------------------------------------------------------


def _fill_invoice(doctor, language: str, acts) -> None:
    """The new-invoice form for Anne with `acts`, paid at the practice by Anne (the defaults)."""
    doctor.goto(f"/doctor/invoices/new?lang={language}")
    doctor.fill("#matricule", ANNE)
    for position, (code, quantity) in enumerate(acts):
        doctor.fill(f"#lines-{position}-code", code)
        doctor.fill(f"#lines-{position}-quantity", str(quantity))
    expect(doctor.locator("#paid_on_site-0")).to_be_checked()
    expect(doctor.locator("#payer_is_patient-0")).to_be_checked()


def _issue(doctor) -> tuple[int, str]:
    """Click "Issue the invoice"; returns (invoice id, number) from the invoice's page."""
    doctor.click("#submit")
    doctor.wait_for_url(lambda url: INVOICE_PAGE.search(url) is not None)
    number = doctor.locator("dl.facts dd").first.inner_text().strip()
    expect(doctor.locator(".flash-success")).to_contain_text(number)
    return int(INVOICE_PAGE.search(path_of(doctor)).group(1)), number


def _fetch_pdf(page, href: str) -> bytes:
    """The PDF behind a link, fetched with the page's cookies (as the browser would download it)."""
    response = page.request.get(href)
    assert response.ok, f"{href}: HTTP {response.status}"
    assert response.headers["content-type"].startswith("application/pdf"), response.headers["content-type"]
    body = response.body()
    assert body.startswith(b"%PDF"), body[:20]
    return body


def _pdf_text(content: bytes) -> str:
    return "".join(sheet.extract_text() for sheet in PdfReader(io.BytesIO(content)).pages)


def _qr_codes_in(content: bytes) -> list[str]:
    """The texts of every QR code printed in the PDF, read from its pictures."""
    found = []
    for sheet in PdfReader(io.BytesIO(content)).pages:
        for picture in sheet.images:
            found += [code.text for code in zxingcpp.read_barcodes(picture.image.convert("RGB"))]
    return found


# --- Path A: direct payment -------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_direct_payment_invoice_is_paid_to_the_doctor(signed_in, live_server, language):
    app, audit = live_server.app, Audit()
    split = _expected_split(app, ANNE, DIRECT_ACTS)
    # The split is what the page must show; that it is a real split keeps the test meaningful.
    assert split.fund_cents > 0 and split.patient_cents > 0
    assert split.fund_cents + split.patient_cents == split.total_cents
    say = _words(app, language, total=split.total_cents, fund_pays=split.fund_cents,
                 patient_pays=split.patient_cents)
    method = CONSENT_METHOD[language]

    # The fund pays direct payments into the practice's account: the demo doctor has one.
    doctor = signed_in("doctor")
    doctor.goto(f"/doctor/bank-account?lang={language}")
    masked = _masked_doctor_iban(app)
    assert masked, "the demo doctor has no bank account: direct payment needs one"
    expect(doctor.locator("main")).to_contain_text(masked)

    # The form: direct payment chosen, the agreement recorded; htmx shows the split before saving.
    _fill_invoice(doctor, language, DIRECT_ACTS)
    doctor.check("input[name=settlement][value=direct]")
    doctor.check("input[name=consent_by][value=patient]")
    doctor.check(f"input[name=consent_method][value={method}]")
    preview = doctor.locator("#invoice-preview")
    expect(preview.locator(".patient-confirm")).to_be_visible()
    expect(preview.locator("table.amounts tbody tr")).to_have_count(len(DIRECT_ACTS))
    expect(preview.locator("table.amounts tfoot td")).to_have_text([say["total"], say["fund_pays"],
                                                                    say["patient_pays"]])
    expect(preview.locator("ul.obstacles")).to_have_count(0)  # nothing stands in the way
    audit.check(doctor, f"invoice form with direct payment ({language})")
    invoice_id, number = _issue(doctor)

    # The invoice's page restates the split and the agreement, and names the claim it created.
    claim = claim_of_invoice(app, invoice_id)
    assert claim is not None, "issuing a direct-payment invoice creates the doctor's claim"
    direct = doctor.locator("section[aria-labelledby=direct-heading]")
    expect(direct.locator("table.amounts tfoot td")).to_have_text([say["total"], say["fund_pays"],
                                                                   say["patient_pays"]])
    expect(direct.locator("dl.facts")).to_contain_text(f"{say['the_patient']} · {say[method]}")
    expect(direct.locator("dl.facts")).to_contain_text(claim.number)
    with app.app_context():
        invoice = db.session.get(Invoice, invoice_id)
        assert (invoice.is_direct_payment, invoice.direct_consent_by, invoice.direct_consent_method) == (
            True, "patient", method)
        assert invoice.direct_consent_at is not None

    # Until the fund decides, the payments page lists it as pending.
    doctor.goto(f"/doctor/payments?lang={language}")
    pending = doctor.locator("main tr", has=doctor.locator(f'a[href="/doctor/invoices/{invoice_id}"]'))
    expect(pending).to_have_count(1)
    expect(pending.locator("td.num")).to_have_text(say["fund_pays"])

    # The agent finds it in the queue (newest first, this doctor's), marked as direct payment.
    agent = signed_in("cns")
    agent.goto(f"/cns/claims?lang={language}&state=shared&doctor={DIGITAL_DOCTOR}&sort=newest")
    row = agent.locator("table.queue tbody tr", has_text=claim.number)
    expect(row.locator(".direct-mark")).to_have_text(say["direct_mark"])
    row.get_by_role("link", name=claim.number).click()
    wait_for_path(agent, f"/cns/claims/{claim.id}")
    expect(agent.locator("main p.notice", has_text=say["direct_notice"])).to_be_visible()

    # A new claim: nobody has taken it up yet. The agent does, then accepts the computed amount.
    agent.locator('form[action$="/take-up"] [type=submit]').click()
    expect(agent.locator(".flash-success")).to_contain_text(claim.number)
    expect(agent.locator("main")).to_contain_text(say["fund_pays"])  # the computed amount: the fund's part
    expect(agent.locator("#amount")).not_to_have_value("")
    expect(agent.locator("#iban_checked")).to_have_count(0)  # the practice's account is not new
    audit.check(agent, f"agent's page of a direct-payment claim ({language})")
    agent.locator('form[action$="/accept"] [type=submit]').click()
    expect(agent.locator("#decision-done")).to_contain_text(claim.number)
    with app.app_context():
        decided = db.session.get(Claim, claim.id)
        assert (decided.state, decided.is_direct_payment, decided.reimbursed_cents) == (
            ClaimState.ACCEPTED, True, split.fund_cents)
        assert decided.statement is not None

    # The doctor's payments page: a payment run with this invoice, and its remittance statement.
    doctor.goto(f"/doctor/payments?lang={language}")
    run = doctor.locator("main tr", has=doctor.locator('a[href$="/remittance.pdf"]')).filter(
        has=doctor.locator(f'a[href="/doctor/invoices/{invoice_id}"]'))
    expect(run).to_have_count(1)
    audit.check(doctor, f"doctor's payments ({language})")
    remittance = _pdf_text(_fetch_pdf(doctor, run.locator('a[href$="/remittance.pdf"]').get_attribute("href")))
    assert number in remittance and claim.number in remittance

    # Anne sees both amounts on her invoice, and that she has nothing to send.
    anne = live_server.accounts["patient"]
    patient = signed_in("patient")
    open_page(patient, f"/patient/invoices?lang={language}", anne)
    mine = patient.locator(".invoice-list li", has=patient.locator(f'a[href="/patient/invoices/{invoice_id}"]'))
    expect(mine.locator(f"#pick-{invoice_id}")).to_have_count(0)
    expect(mine.locator(".reason")).to_have_text(say["nothing_to_send"])
    mine.locator(f'a[href="/patient/invoices/{invoice_id}"]').click()
    wait_for_path(patient, f"/patient/invoices/{invoice_id}")
    shown = patient.locator("section[aria-labelledby=direct-heading]")
    expect(shown).to_contain_text(say["both_amounts"])
    expect(shown.locator(".state")).to_have_text(say["accepted"])
    expect(patient.locator('main a[href^="/patient/invoices/share"]')).to_have_count(0)
    audit.check(patient, f"patient's direct-payment invoice ({language})")
    audit.assert_clean()


# --- Path B: the patient prefers paper --------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_patient_who_prefers_paper_gets_a_qr_invoice_the_fund_takes_in(signed_in, live_server, language):
    app, audit = live_server.app, Audit()
    say = _words(app, language)

    doctor = signed_in("doctor")
    _fill_invoice(doctor, language, (("C1", 1),))
    doctor.check("input[name=settlement][value=paper]")
    preview = doctor.locator("#invoice-preview")
    expect(preview).to_contain_text(say["prefers_paper"])
    expect(preview.locator("table.amounts")).to_have_count(0)  # no split: no direct payment on paper
    audit.check(doctor, f"invoice form, patient prefers paper ({language})")
    invoice_id, number = _issue(doctor)
    expect(doctor.locator("main p.notice")).to_contain_text(say["paper_notice"])
    with app.app_context():
        invoice = db.session.get(Invoice, invoice_id)
        assert (invoice.channel, invoice.is_paper_preferred, invoice.is_direct_payment) == ("paper_qr", True, False)
    assert claim_of_invoice(app, invoice_id) is None  # nothing reaches the fund until the paper does

    # The printed invoice carries its QR code; read it from the PDF's picture.
    printed = _fetch_pdf(doctor, doctor.locator('main .actions a[href$=".pdf"]').get_attribute("href"))
    assert number in _pdf_text(printed)
    codes = _qr_codes_in(printed)
    assert codes == [qr_payload(app, invoice_id)], codes  # one code, the invoice's signed reference

    # At the fund, the agent scans it into the intake form, the receipt found in the envelope.
    agent = signed_in("cns")
    agent.goto(f"/cns/paper-intake?lang={language}")
    agent.fill("#payload", codes[0])
    agent.fill("#paid_on", clock.today().isoformat())
    agent.check("#is_receipt_seen")
    agent.click("#submit")
    agent.wait_for_url(re.compile(r"/cns/claims/\d+$"))
    claim = claim_of_invoice(app, invoice_id)
    assert claim is not None, "the intake creates the paper invoice's claim"
    assert path_of(agent) == f"/cns/claims/{claim.id}"
    expect(agent.locator(".flash-success")).to_contain_text(claim.number)
    expect(agent.locator("main")).to_contain_text(say["paper_qr"])
    expect(agent.locator("main p.notice", has_text=say["direct_notice"])).to_have_count(0)
    expect(agent.locator("#no-proof-of-payment")).to_have_count(0)  # the receipt was seen
    with app.app_context():
        taken = db.session.get(Claim, claim.id)
        assert (taken.channel, taken.state, taken.is_direct_payment, taken.is_receipt_seen, taken.paid_on) == (
            "paper_qr", ClaimState.SHARED, False, True, clock.today())
    audit.assert_clean()
