"""The patient shares invoices with the fund, keeps a bank account and the automatic setting."""

from __future__ import annotations

from datetime import date

import pytest

from portal.claims import sharing
from portal.core import clock
from portal.core.identity import format_iban, make_iban
from portal.extensions import db
from portal.invoicing import invoices
from portal.models import AuditEvent, Claim, ClaimEvent, ConsentReceipt, Fund, NoticeKind, Notification
from tests.fixtures.clients import page, sign_in, step_up, text_of, url_for
from tests.fixtures.queries import count_queries

VALID_IBAN = make_iban("LU", "0019400644750000")


def own_queries(client, url: str) -> int:
    """Statements a page runs beyond what every patient page runs (session, terms, menu,
    the acting patient), measured against the settings page, which needs nothing else."""
    clock.freeze(clock.now())  # no session activity write in the middle of the count
    client.get(url_for("patient.settings"))
    with count_queries() as baseline:
        client.get(url_for("patient.settings"))
    with count_queries() as queries:
        assert client.get(url).status_code == 200
    return len(queries) - len(baseline)


@pytest.fixture
def patient(people):
    return people["patient"]


@pytest.fixture
def doctor(people):
    return people["doctor"]


@pytest.fixture
def client(app, patient):
    test_client = app.test_client()
    sign_in(test_client, patient)
    return test_client


def _share_url(*chosen) -> str:
    return url_for("patient.share", invoice=[invoice.id for invoice in chosen], lang="en")


def _claims_of(person) -> list[Claim]:
    return list(db.session.scalars(db.select(Claim).where(Claim.patient_id == person.profile.id)))


def test_the_confirmation_names_invoices_fund_and_masked_iban(app, make_patient, doctor, make_invoice):
    civil_servant = make_patient(fund=Fund.CMFEP)
    first = make_invoice(civil_servant, doctor, acts=(("C1", 1), ("K1", 1)))
    second = make_invoice(civil_servant, doctor, days_ago=10)
    test_client = app.test_client()
    sign_in(test_client, civil_servant)
    response = test_client.get(_share_url(first, second))
    assert response.status_code == 200
    shown = text_of(response)
    for expected in (first.number, second.number, doctor.profile.name, "85.22 €", "75.00 €",
                     "The CNS, which passes them to your fund, the CMFEP."):
        assert expected in shown, expected
    iban = civil_servant.profile.iban
    assert iban[-4:] in shown and format_iban(iban) not in shown and iban[4:-4] not in shown.replace(" ", "")
    form = page(response).select_one("form[method=post][action='/patient/invoices/share']")
    assert sorted(i["value"] for i in form.select("input[name=invoice]")) == sorted([str(first.id), str(second.id)])
    # Invoices, their doctors, lines and claims: one statement for one invoice or many.
    third = make_invoice(civil_servant, doctor, days_ago=20)
    assert own_queries(test_client, _share_url(first)) == own_queries(test_client, _share_url(first, second, third)) == 1


# The reason the confirmation gives for a direct-payment invoice, in each language.
DIRECT = {
    "en": "with direct payment, your doctor claims the rest from the health fund.",
    "fr": "avec le paiement direct, votre médecin demande le reste à la caisse de maladie.",
    "de": "bei der Direktzahlung fordert Ihr Arzt den Rest bei der Krankenkasse an.",
}


@pytest.mark.parametrize("lang", sorted(DIRECT))
def test_a_direct_payment_invoice_is_not_shared_and_says_why(app, make_patient, make_invoice, lang):
    from tests.fixtures.invoices import direct_doctor

    person = make_patient()
    direct = make_invoice(person, direct_doctor(), settlement="direct")
    test_client = app.test_client()
    sign_in(test_client, person)
    shown = page(test_client.get(url_for("patient.share", invoice=[direct.id], lang=lang)))
    (reason,) = shown.select("main li")
    assert " ".join(reason.get_text(" ").split()).endswith(DIRECT[lang])
    assert not shown.select("form[method=post][action='/patient/invoices/share']")


def test_sharing_creates_one_claim_and_a_second_post_nothing(client, patient, doctor, make_invoice):
    invoice = make_invoice(patient, doctor)
    data = {"invoice": [str(invoice.id)]}
    first = client.post(url_for("patient.share"), data=data)
    assert first.status_code == 303
    assert first.headers["Location"] in ("/patient/claims", "/patient/invoices")
    second = client.post(url_for("patient.share"), data=data)
    assert second.status_code == 303
    (claim,) = _claims_of(patient)
    assert claim.invoice_id == invoice.id and claim.iban == patient.profile.iban
    receipt = db.session.scalar(db.select(ConsentReceipt).where(ConsentReceipt.claim_id == claim.id))
    assert receipt.account_id == patient.account.id and receipt.method == "manual"


def test_sharing_reads_each_thing_once(client, patient, doctor, make_invoice):
    # Whether an invoice has a claim is read once, for all of them; the new claim's timeline is
    # written without reading it; nothing is read again after the commit.
    chosen = [make_invoice(patient, doctor) for _ in range(3)]
    with count_queries() as statements:
        sent = client.post(url_for("patient.share"), data={"invoice": [str(invoice.id) for invoice in chosen]})
    assert sent.status_code == 303 and sent.headers["Location"] == "/patient/claims"
    reads = [" ".join(s.split()) for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert sum(" FROM claim WHERE" in s for s in reads) == 1  # claimed_invoice_ids
    assert not any(" FROM claim_event" in s for s in reads)
    assert not any(s.startswith("SELECT claim.id,") for s in reads)  # nor a claim read whole, after the commit or before
    assert len(_claims_of(patient)) == 3
    events = db.session.scalars(db.select(ClaimEvent).where(ClaimEvent.claim_id.in_([c.id for c in _claims_of(patient)])))
    assert sorted(event.kind for event in events) == ["shared"] * 3
    claims = client.get(url_for("patient.claims"))
    assert text_of(claims).count(chosen[0].number) >= 1


def test_paper_and_voided_invoices_are_listed_with_the_reason_and_not_shared(client, patient, doctor, make_invoice):
    good = make_invoice(patient, doctor)
    paper = make_invoice(patient, doctor, paid_on_site=False)
    voided = make_invoice(patient, doctor)
    invoices.void(voided, "wrong act")
    db.session.commit()
    shown = text_of(client.get(_share_url(good, paper, voided)))
    assert "it is a paper invoice" in shown and "the doctor voided it" in shown
    form = page(client.get(_share_url(good, paper, voided))).select_one("form[method=post][action='/patient/invoices/share']")
    assert [i["value"] for i in form.select("input[name=invoice]")] == [str(good.id)]
    response = client.post(url_for("patient.share"), data={"invoice": [str(good.id), str(paper.id), str(voided.id)]})
    assert response.status_code == 303
    assert [claim.invoice_id for claim in _claims_of(patient)] == [good.id]
    # Only ineligible ones: nothing is created.
    client.post(url_for("patient.share"), data={"invoice": [str(paper.id)]})
    assert len(_claims_of(patient)) == 1


def test_another_patients_invoice_is_not_found(client, patient, doctor, make_patient, make_invoice):
    mine = make_invoice(patient, doctor)
    theirs = make_invoice(make_patient(given_name="Eve"), doctor)
    assert client.get(_share_url(mine, theirs)).status_code == 404
    assert client.post(url_for("patient.share"), data={"invoice": [str(mine.id), str(theirs.id)]}).status_code == 404
    assert client.get(url_for("patient.report_invoice", invoice_id=theirs.id)).status_code == 404
    assert client.post(url_for("patient.report_invoice", invoice_id=theirs.id), data={"message": "x"}).status_code == 404
    assert client.post(url_for("patient.share"), data={"invoice": "999999"}).status_code == 404
    assert db.session.scalar(db.select(db.func.count()).select_from(Claim)) == 0


@pytest.mark.parametrize("value", ["", "abc", "²", "99999999999999999999"])
def test_nothing_chosen_goes_back_to_the_list(client, value):
    response = client.get(url_for("patient.share", invoice=value))
    assert response.status_code == 303 and response.headers["Location"] == "/patient/invoices"


def test_without_iban_the_page_sends_to_the_bank_account_and_back(client, patient, doctor, make_invoice):
    invoice = make_invoice(patient, doctor)
    patient.profile.iban = None
    db.session.commit()
    response = client.get(_share_url(invoice))
    assert "no bank account" in text_of(response)
    assert page(response).select_one("form[method=post][action='/patient/invoices/share']") is None
    link = page(response).find("a", string="Enter my bank account")["href"]
    assert link.startswith("/patient/bank-account?next=")
    assert client.post(url_for("patient.share"), data={"invoice": [str(invoice.id)]}).status_code == 303
    assert _claims_of(patient) == []

    refused = client.post(link, data={"iban": "LU00 1234"})
    assert refused.status_code == 400
    assert page(refused).select_one("#iban-error") is not None
    db.session.refresh(patient.profile)
    assert patient.profile.iban is None

    saved = client.post(link, data={"iban": format_iban(VALID_IBAN), **step_up(patient)})
    assert saved.status_code == 303
    assert saved.headers["Location"] == _share_url(invoice).replace("&lang=en", "")
    db.session.refresh(patient.profile)
    assert patient.profile.iban == VALID_IBAN
    assert db.session.scalar(db.select(AuditEvent).where(AuditEvent.event == "bank_account.changed")) is not None


def test_the_bank_account_page_follows_only_patient_paths(client, patient):
    response = client.post(url_for("patient.bank_account", next="https://evil.example/patient/"),
                           data={"iban": VALID_IBAN, **step_up(patient)})
    assert response.headers["Location"] == "/patient/bank-account"
    response = client.post(url_for("patient.bank_account", next="//evil.example/patient/"),
                           data={"iban": VALID_IBAN, **step_up(patient)})
    assert response.headers["Location"] == "/patient/bank-account"
    shown = text_of(client.get(url_for("patient.bank_account", lang="en")))
    assert VALID_IBAN[-4:] in shown and format_iban(VALID_IBAN) not in shown


def test_the_list_offers_a_checkbox_per_shareable_invoice(client, patient, doctor, make_invoice):
    shareable = make_invoice(patient, doctor)
    paper = make_invoice(patient, doctor, paid_on_site=False)
    shared = make_invoice(patient, doctor)
    sharing.share(patient.profile, [shared], by=patient.account)
    db.session.commit()
    response = client.get(url_for("patient.invoices", lang="en"))
    html = page(response)
    form = html.select_one(f"form[action='{url_for('patient.share')}']")
    assert form.get("method") == "get" and form.find_parent("form") is None
    boxes = form.select("input[type=checkbox][name=invoice]")
    assert [box["value"] for box in boxes] == [str(shareable.id)]
    assert html.select_one(f"label[for={boxes[0]['id']}]") is not None
    assert "Share selected with my health fund" in text_of(response)
    row = html.find("a", href=url_for("patient.invoice", invoice_id=shared.id))
    assert "Sent to the fund" in row.get_text()
    assert "Cannot be sent again: your health fund already has it." in row.get_text()
    assert html.find("a", href=url_for("patient.invoice", invoice_id=paper.id)) is not None
    # The filter form is separate and its htmx fragment still carries the rows.
    fragment = client.get(url_for("patient.invoices", state="issued"), headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<h1" not in fragment.get_data(as_text=True)
    assert page(fragment).select("input[name=invoice]")
    # No query per row: the rows with their doctors and claims, their lines, the count, and the
    # version of the kept doctors filter (plus the doctors themselves when the invoices changed).
    before = own_queries(client, url_for("patient.invoices"))
    for _ in range(3):
        make_invoice(patient, doctor)
    assert own_queries(client, url_for("patient.invoices")) == before + 1  # the doctors, read again
    assert own_queries(client, url_for("patient.invoices")) == before <= 4


def test_the_invoice_page_offers_sharing_then_shows_it_shared(client, patient, doctor, make_invoice):
    invoice = make_invoice(patient, doctor)
    url = url_for("patient.invoice", invoice_id=invoice.id, lang="en")
    html = page(client.get(url))
    # The invoice with its doctor and lines, its claim, related invoices, open report, audit row.
    assert own_queries(client, url) <= 5
    assert html.find("a", string="Share with my health fund")["href"] == url_for("patient.share", invoice=invoice.id)
    assert html.find("a", string="Report an error to the doctor") is not None
    client.post(url_for("patient.share"), data={"invoice": [str(invoice.id)]})
    shown = text_of(client.get(url))
    assert "Shared on" in shown and "Share with my health fund" not in shown


def test_automatic_sending_shares_new_invoices(client, patient, doctor, make_invoice):
    shown = text_of(client.get(url_for("patient.settings", lang="en")))
    assert "as soon as the doctor issues it" in shown and "switch this off at any time" in shown
    response = client.post(url_for("patient.settings"), data={"auto_share": "y"})
    assert response.status_code == 303
    db.session.refresh(patient.profile)
    assert patient.profile.is_auto_share
    invoice = make_invoice(patient, doctor)
    (claim,) = _claims_of(patient)
    assert claim.invoice_id == invoice.id
    receipt = db.session.scalar(db.select(ConsentReceipt).where(ConsentReceipt.claim_id == claim.id))
    assert receipt.method == "automatic"
    notices = db.session.scalars(db.select(Notification.kind).where(Notification.patient_id == patient.profile.id))
    assert list(notices) == [NoticeKind.SENT_AUTOMATICALLY]

    client.post(url_for("patient.settings"), data={})
    db.session.refresh(patient.profile)
    assert not patient.profile.is_auto_share
    make_invoice(patient, doctor)
    assert len(_claims_of(patient)) == 1


def test_in_a_childs_space_the_setting_is_the_childs(client, patient, doctor, make_child, make_invoice):
    child = make_child(patient, given_name="Léa", birth=date(2015, 6, 2), with_account=False)
    assert client.post(url_for("patient.switch_space"), data={"space": str(child.profile.id)}).status_code == 303
    assert "Léa" in text_of(client.get(url_for("patient.settings", lang="en")))
    client.post(url_for("patient.settings"), data={"auto_share": "y"})
    db.session.refresh(child.profile)
    db.session.refresh(patient.profile)
    assert child.profile.is_auto_share and not patient.profile.is_auto_share
    make_invoice(child, doctor)
    assert len(_claims_of(child)) == 1 and _claims_of(patient) == []


def test_home_links_to_settings_and_bank_account(client):
    html = page(client.get(url_for("patient.home", lang="en")))
    assert html.find("a", href=url_for("patient.settings")) is not None
    assert html.find("a", href=url_for("patient.bank_account")) is not None
