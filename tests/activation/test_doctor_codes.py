"""The doctor's side: find the patient, record the check, print the code."""

import io
import re

import zxingcpp
from flask_babel import force_locale, gettext
from pypdf import PdfReader

from portal.activation import codes
from portal.extensions import db
from portal.models import ActivationCode
from tests.fixtures.clients import page, signed_in_as, text_of


def _issue(client, patient, **extra):
    data = {
        "matricule": patient.profile.matricule, "birth_date": patient.profile.birth_date.isoformat(),
        "document_type": "identity_card", "document_last4": "ab12",
        "mobile": "+352 621 123 456", "language": "de", "identity_checked": "y", **extra,
    }
    return client.post("/doctor/activations?lang=en", data=data)


def _lookup(patient, birth=None) -> str:
    birth = birth or patient.profile.birth_date
    return f"/doctor/activations?matricule={patient.profile.matricule}&birth_date={birth.isoformat()}"


def test_lookup_confirms_a_typed_birth_date_and_never_shows_it(app, make_doctor, make_patient):
    from datetime import timedelta

    from flask_babel import format_date

    doctor, patient = make_doctor(), make_patient(with_account=False)
    client = signed_in_as(app, doctor)
    response = client.get(_lookup(patient) + "&lang=en")
    assert patient.profile.full_name in text_of(response)
    with app.test_request_context("/?lang=en"):
        shown = format_date(patient.profile.birth_date, "long")
    assert shown not in text_of(response)
    wrong = client.get(_lookup(patient, patient.profile.birth_date + timedelta(days=1)) + "&lang=en")
    from portal.core.identity import make_matricule

    nobody = make_matricule(patient.profile.birth_date, 999)
    unknown = client.get(f"/doctor/activations?matricule={nobody}&birth_date={patient.profile.birth_date}&lang=en")
    for refused in (wrong, unknown):
        assert patient.profile.full_name not in text_of(refused)
        assert "No insured person with this number and date of birth." in text_of(refused)
    fragment = client.get(_lookup(patient), headers={"HX-Request": "true"})
    assert fragment.data.lstrip().startswith(b'<section id="activation-check"')


def test_lookup_of_an_unknown_or_invalid_number(app, make_doctor):
    client = signed_in_as(app, make_doctor())
    response = client.get("/doctor/activations?matricule=1234&birth_date=1980-01-01&lang=en")
    assert page(response).select_one("#matricule-error")


def test_issuing_shows_a_letter_with_a_qr_code_that_decodes_to_the_link(app, make_doctor, make_patient):
    doctor, patient = make_doctor(), make_patient(with_account=False)
    client = signed_in_as(app, doctor)
    response = _issue(client, patient)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    document = page(response)
    typed = document.select_one("code.secret").get_text()
    assert re.fullmatch(r"([0-9A-HJKMNP-TV-Z]{4}-){4}[0-9A-HJKMNP-TV-Z]{4}", typed)
    assert document.select_one("article.letter")["lang"] == "de"
    with force_locale("de"):
        assert document.select_one("article.letter h1").get_text() == gettext("Activate your patient account")
    code = db.session.scalar(db.select(ActivationCode))
    assert code.document_last4 == "AB12" and code.mobile_confirmed == "+352621123456"
    assert codes.find_usable(typed) == code

    token_field = document.select_one('input[name="token"]')["value"]
    pdf = client.post(f"/doctor/activations/{code.id}/letter.pdf", data={"token": token_field})
    assert pdf.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(pdf.data))
    text = reader.pages[0].extract_text()
    assert patient.profile.full_name in text and typed in text
    image = next(iter(reader.pages[0].images)).image
    decoded = zxingcpp.read_barcodes(image.convert("L"))
    assert decoded and decoded[0].text.endswith(f"/activate/{token_field}")


def test_the_pdf_needs_the_token_and_the_issuing_doctor(app, make_doctor, make_patient):
    doctor, other, patient = make_doctor(), make_doctor(), make_patient(with_account=False)
    client = signed_in_as(app, doctor)
    token = page(_issue(client, patient)).select_one('input[name="token"]')["value"]
    code = db.session.scalar(db.select(ActivationCode))
    assert client.post(f"/doctor/activations/{code.id}/letter.pdf", data={"token": "WRONG"}).status_code == 404
    stranger = signed_in_as(app, other)
    assert stranger.post(f"/doctor/activations/{code.id}/letter.pdf", data={"token": token}).status_code == 404
    assert stranger.post(f"/doctor/activations/{code.id}/revoke").status_code == 404


def test_the_doctor_sees_and_revokes_codes(app, make_doctor, make_patient):
    doctor, patient = make_doctor(), make_patient(with_account=False)
    client = signed_in_as(app, doctor)
    _issue(client, patient)
    code = db.session.scalar(db.select(ActivationCode))
    listing = text_of(client.get("/doctor/activations?lang=en"))
    assert patient.profile.full_name in listing and "Not used yet" in listing
    assert client.post(f"/doctor/activations/{code.id}/revoke").status_code == 303
    db.session.refresh(code)
    assert codes.state(code) == "revoked"
    assert "Revoked" in text_of(client.get("/doctor/activations?lang=en"))


def test_the_identity_check_is_required(app, make_doctor, make_patient):
    doctor, patient = make_doctor(), make_patient(with_account=False)
    client = signed_in_as(app, doctor)
    response = _issue(client, patient, identity_checked="", document_last4="12")
    assert response.status_code == 400
    document = page(response)
    assert document.select_one("#identity_checked-error") and document.select_one("#document_last4-error")
    assert db.session.scalar(db.select(ActivationCode)) is None



def test_the_letter_gives_the_address_the_date_the_practice_and_the_code_in_groups(app, monkeypatch, make_doctor,
                                                                                  make_patient):
    from flask_babel import format_date

    from portal.core import clock

    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://portal.example.lu")
    monkeypatch.setitem(app.config, "TRUSTED_HOSTS", ["portal.example.lu", "localhost"])
    doctor, patient = make_doctor(name="Dr Anne Kieffer"), make_patient(with_account=False)
    client = signed_in_as(app, doctor)
    document = page(_issue(client, patient))
    letter = document.select_one("article.letter")
    code = db.session.scalar(db.select(ActivationCode))
    with app.test_request_context(), force_locale("de"):
        issued, until = format_date(clock.now(), "long"), format_date(code.expires_at, "long")
        labels = [gettext("Issued on"), gettext("Issued by"), gettext("Valid until"), gettext("Activation page")]
    facts = {dt.get_text(): dt.find_next_sibling("dd").get_text(" ", strip=True) for dt in letter.select("dt")}
    assert facts[labels[0]] == issued and facts[labels[2]] == until
    assert facts[labels[1]] == "Dr Anne Kieffer, General practice"
    assert facts[labels[3]] == "https://portal.example.lu/activate"
    assert "Dr Anne Kieffer" in letter.select_one(".letter-from").get_text()
    typed = letter.select_one("code.secret").get_text()
    assert re.fullmatch(r"(\w{4}-){4}\w{4}", typed) and codes.find_usable(typed.lower()) == code
    # The steps say where to type it, in the patient's language.
    assert "https://portal.example.lu/activate " in letter.get_text(" ")

    token = document.select_one('input[name="token"]')["value"]
    text = PdfReader(io.BytesIO(client.post(f"/doctor/activations/{code.id}/letter.pdf",
                                            data={"token": token}).data)).pages[0].extract_text()
    for shown in (issued, "Dr Anne Kieffer, General practice", "https://portal.example.lu/activate", typed):
        assert shown in text, shown
