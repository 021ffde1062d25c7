"""CNS staff take in posted paper invoices by their QR code: scanned text or a photo."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import qrcode

from portal.claims import qr
from portal.core import clock
from portal.extensions import db
from portal.invoicing import invoices
from portal.models import AuditEvent, Claim, Fund
from tests.fixtures.clients import page, signed_in_as, text_of, url_for


@pytest.fixture
def intake(app, make_patient, make_doctor, make_staff, make_invoice):
    patient, doctor, staff = make_patient(), make_doctor(), make_staff()
    paper = make_invoice(patient, doctor, paid_on_site=False)
    return patient, doctor, paper, signed_in_as(app, staff, lang="en")


def claims_of(invoice) -> list[Claim]:
    return list(db.session.scalars(db.select(Claim).where(Claim.invoice_id == invoice.id)))


def qr_picture(text: str, format: str = "PNG") -> bytes:
    out = io.BytesIO()
    qrcode.make(text, border=4).convert("RGB").save(out, format=format)
    return out.getvalue()


def test_the_form_offers_a_text_field_and_a_photo(intake):
    *_, client = intake
    form = page(client.get(url_for("cns.paper_intake"))).select_one("form[enctype='multipart/form-data']")
    assert form["method"] == "post"
    for name in ("payload", "photo"):
        field = form.select_one(f"[name={name}]")
        assert form.select_one(f"label[for={field['id']}]")


def test_a_genuine_code_creates_one_claim_and_a_second_scan_opens_it(intake):
    patient, _, paper, client = intake
    payload = qr.qr_payload(paper)
    first = client.post(url_for("cns.paper_intake"), data={"payload": payload})
    (claim,) = claims_of(paper)
    assert first.status_code == 303 and first.headers["Location"] == url_for("cns.claim", claim_id=claim.id)
    assert f"Paper claim {claim.reference} created." in text_of(client.get(first.headers["Location"]))
    assert (claim.channel, claim.state, claim.patient_id) == ("paper_qr", "shared", patient.profile.id)

    again = client.post(url_for("cns.paper_intake"), data={"payload": f"  {payload}\n"}, follow_redirects=True)
    assert "already received" in text_of(again) and claim.reference in text_of(again)
    assert len(claims_of(paper)) == 1
    received = db.session.scalars(db.select(AuditEvent).where(AuditEvent.event == "claim.paper_received")).all()
    assert len(received) == 1


def _error(response, field: str = "payload") -> str:
    assert response.status_code == 400, text_of(response)
    error = page(response).select_one(f"#{field}-error")
    assert error is not None, text_of(response)
    return error.get_text(" ", strip=True)


def test_a_tampered_or_foreign_code_is_refused(intake):
    _, _, paper, client = intake
    payload = qr.qr_payload(paper)
    tampered = payload[:-3] + ("AAA" if not payload.endswith("AAA") else "BBB")
    for text in (tampered, "LUINV:' OR 1=1 --", "https://example.com", "x" * 900):
        assert "not a valid invoice code" in _error(client.post(url_for("cns.paper_intake"), data={"payload": text}))
    assert claims_of(paper) == []


def test_each_refusal_says_why(intake, make_invoice, make_patient, make_staff, app):
    patient, doctor, paper, client = intake
    digital = make_invoice(patient, doctor)
    response = client.post(url_for("cns.paper_intake"), data={"payload": qr.qr_payload(digital)})
    assert "not a paper invoice with a QR code" in _error(response)

    voided = make_invoice(patient, doctor, paid_on_site=False)
    invoices.void(voided, "wrong act")
    db.session.commit()
    response = client.post(url_for("cns.paper_intake"), data={"payload": qr.qr_payload(voided)})
    assert "voided" in _error(response)

    outsider = signed_in_as(app, make_staff(fund=Fund.CMFEP), lang="en")
    response = outsider.post(url_for("cns.paper_intake"), data={"payload": qr.qr_payload(paper)})
    assert "another health fund" in _error(response)

    no_bank = make_patient()
    no_bank.profile.iban = None
    db.session.commit()
    unpaid = make_invoice(no_bank, doctor, paid_on_site=False)
    response = client.post(url_for("cns.paper_intake"), data={"payload": qr.qr_payload(unpaid)})
    assert "no bank account on record" in _error(response)
    assert claims_of(paper) == [] and claims_of(voided) == [] and claims_of(unpaid) == []

    assert "Scan the QR code" in _error(client.post(url_for("cns.paper_intake"), data={"payload": ""}))


@pytest.mark.parametrize("format", ["PNG", "JPEG"])
def test_a_photo_of_the_code_creates_the_claim(intake, format):
    _, _, paper, client = intake
    photo = (io.BytesIO(qr_picture(qr.qr_payload(paper), format)), f"scan.{format.lower()}")
    response = client.post(url_for("cns.paper_intake"), data={"photo": photo}, content_type="multipart/form-data")
    (claim,) = claims_of(paper)
    assert response.status_code == 303 and response.headers["Location"] == url_for("cns.claim", claim_id=claim.id)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"%PDF-1.4 not a picture", "not a JPEG or PNG picture"),
        (b"\x89PNG\r\n\x1a\n" + b"garbage" * 20, "not a JPEG or PNG picture"),
        (b"GIF89a" + b"\x00" * 50, "not a JPEG or PNG picture"),
        (b"<svg onload=alert(1)>", "not a JPEG or PNG picture"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * (5 * 1024 * 1024 + 10), "larger than 5 MB"),
        (None, "No QR code could be read"),
    ],
)
def test_a_file_that_is_not_a_readable_picture_is_refused_cleanly(intake, content, message):
    _, _, paper, client = intake
    if content is None:  # a genuine picture without any code in it
        from PIL import Image

        out = io.BytesIO()
        Image.new("RGB", (200, 200), (255, 255, 255)).save(out, format="PNG")
        content = out.getvalue()
    response = client.post(url_for("cns.paper_intake"), data={"photo": (io.BytesIO(content), "scan.png")},
                           content_type="multipart/form-data")
    assert message in _error(response, "photo")
    assert claims_of(paper) == []


def test_a_photo_of_another_code_is_refused_as_invalid(intake):
    *_, client = intake
    photo = (io.BytesIO(qr_picture("https://www.cns.lu")), "scan.png")
    response = client.post(url_for("cns.paper_intake"), data={"photo": photo}, content_type="multipart/form-data")
    assert "not a valid invoice code" in _error(response, "photo")


# --- Proof of payment --------------------------------------------------------------------------------

def _taken_up(client, claim):
    client.post(url_for("cns.take_up_claim", claim_id=claim.id))
    return text_of(client.get(url_for("cns.claim", claim_id=claim.id)))


def test_the_payment_date_and_a_receipt_seen_are_recorded_and_shown(intake):
    _, _, paper, client = intake
    form = page(client.get(url_for("cns.paper_intake")))
    for name in ("paid_on", "is_receipt_seen"):
        assert form.select_one(f"label[for={form.select_one(f'[name={name}]')['id']}]")
    paid = paper.issued_at.date()
    sent = client.post(url_for("cns.paper_intake"), data={"payload": qr.qr_payload(paper), "paid_on": paid.isoformat(),
                                                          "is_receipt_seen": "y"})
    assert sent.status_code == 303
    (claim,) = claims_of(paper)
    assert (claim.paid_on, claim.is_receipt_seen) == (paid, True)
    shown = _taken_up(client, claim)
    assert "a receipt was seen at intake" in shown and "No proof of payment was seen" not in shown
    (received,) = db.session.scalars(db.select(AuditEvent).where(AuditEvent.event == "claim.paper_received")).all()
    assert received.data["receipt_seen"] is True


def test_a_paper_claim_without_proof_warns_the_agent_who_decides_it(intake):
    _, _, paper, client = intake
    client.post(url_for("cns.paper_intake"), data={"payload": qr.qr_payload(paper)})
    (claim,) = claims_of(paper)
    assert (claim.paid_on, claim.is_receipt_seen) == (None, False)
    shown = _taken_up(client, claim)
    assert "No proof of payment was seen for this paper invoice." in shown
    assert "not known" in shown


def test_a_digital_claim_shows_no_proof_of_payment_warning(app, make_patient, make_doctor, make_staff, make_claim):
    patient, doctor, staff = make_patient(), make_doctor(), make_staff()
    claim = make_claim(patient, doctor, staff, state="in_review")
    shown = text_of(signed_in_as(app, staff, lang="en").get(url_for("cns.claim", claim_id=claim.id)))
    assert "No proof of payment" not in shown and "Proof of payment" not in shown


def test_a_payment_date_in_the_future_is_refused_and_nothing_is_created(intake):
    _, _, paper, client = intake
    tomorrow = (clock.today() + timedelta(days=1)).isoformat()
    refused = client.post(url_for("cns.paper_intake"), data={"payload": qr.qr_payload(paper), "paid_on": tomorrow})
    assert refused.status_code == 400
    assert "cannot be in the future" in page(refused).select_one("#paid_on-error").get_text()
    assert claims_of(paper) == []
