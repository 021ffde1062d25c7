"""PDFs on the two forms that keep a document (an identity request, a patient's answer): each is
rendered to one PNG on receipt and only the picture is kept, so whatever a PDF carries (a
script hidden where no byte search finds it, say) never reaches staff. PDFs that cannot be
rendered whole (encrypted, unreadable, too many pages) are refused with a message that says why.
"""

from __future__ import annotations

import io
import re

import pypdfium2
import pytest
from PIL import Image
from pypdf import PdfReader

from portal.core import pdf_render
from portal.documents import uploads
from portal.extensions import db
from portal.models import ClaimEvent, IdentityRequest
from tests.fixtures import pdfs
from tests.fixtures.claims import new_claim
from tests.fixtures.clients import in_english, page, sign_in, text_of

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
A4_AT_150_DPI = (1240, 1754)  # 210 × 297 mm


@pytest.fixture
def send(app, people, make_patient):
    """send(where, content) → (response, (stored name, stored type, staff's download URL) or None)."""
    patient_client = in_english(app.test_client())
    sign_in(patient_client, people["patient"])

    def identity_request(content):
        newcomer = make_patient(with_account=False).profile
        data = {"matricule": newcomer.matricule, "surname": newcomer.surname, "given_name": newcomer.given_name,
                "birth_date": newcomer.birth_date.isoformat(), "mobile": "+352 621 000 111", "consent": "y",
                "document": (io.BytesIO(content), "scan.pdf", "application/pdf")}
        response = in_english(app.test_client()).post("/activate/request", data=data,
                                                      content_type="multipart/form-data")
        filed = db.session.scalar(db.select(IdentityRequest).where(IdentityRequest.patient_id == newcomer.id))
        stored = filed and (filed.document_name, filed.document_type, f"/cns/identity-requests/{filed.id}/document")
        return response, stored

    def answer(content):
        claim = new_claim(people["patient"], people["doctor"], people["cns"], state="info_requested")
        data = {"message": "Here is the scan.", "document": (io.BytesIO(content), "scan.pdf", "application/pdf")}
        response = patient_client.post(f"/patient/claims/{claim.id}/answer", data=data,
                                       content_type="multipart/form-data")
        event = db.session.scalar(db.select(ClaimEvent).where(ClaimEvent.claim_id == claim.id,
                                                              ClaimEvent.kind == "info_answered"))
        stored = event and (event.document_name, event.document_type, f"/cns/claims/{claim.id}/documents/{event.id}")
        return response, stored

    return {"identity request": identity_request, "answer": answer}.__getitem__


@pytest.fixture
def staff(app, people):
    client = app.test_client()
    sign_in(client, people["cns"])
    return client


def picture(stored_name: str) -> Image.Image:
    """The stored file, decrypted as the portal reads it, checked to be a PNG and nothing else."""
    kept = uploads.load(stored_name)
    assert kept.startswith(PNG_MAGIC), kept[:16]
    assert b"%PDF" not in kept and b"JavaScript" not in kept and b"app.alert" not in kept
    image = Image.open(io.BytesIO(kept))
    image.load()
    assert image.format == "PNG"
    return image


def downloaded_by_staff(staff, stored) -> bytes:
    name, media_type, url = stored
    response = staff.get(url)
    assert response.status_code == 200 and response.mimetype == "image/png", response.status
    assert re.fullmatch(r'attachment; filename="[a-z0-9-]+\.png"', response.headers["Content-Disposition"])
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    csp = [directive.strip() for directive in response.headers["Content-Security-Policy"].split(";")]
    assert "sandbox" in csp and "default-src 'none'" in csp
    assert response.data == uploads.load(name)
    return response.data


def refused_with(response, stored, message: str) -> bool:
    error = page(response).select_one("#document-error")
    return response.status_code == 400 and error is not None and message in error.get_text() and stored is None


WHERE = ["identity request", "answer"]


@pytest.mark.parametrize("sample", [pdfs.script_in_escaped_object_stream, pdfs.script_after_padding])
def test_the_bypass_samples_really_carry_a_script_a_reader_would_run(sample):
    # What the review found (the byte search that stood here before let both through): a reader
    # follows the catalog's /OpenAction into the object stream and runs the script on opening.
    content = sample()
    assert len(content) < uploads.MAX_BYTES
    action = PdfReader(io.BytesIO(content)).trailer["/Root"]["/OpenAction"].get_object()
    assert (action["/S"], action["/JS"]) == ("/JavaScript", "app.alert('pwned')")


@pytest.mark.parametrize("where", WHERE)
@pytest.mark.parametrize("sample", [pdfs.script_in_escaped_object_stream, pdfs.script_after_padding])
def test_a_pdf_hiding_a_script_is_kept_only_as_a_picture_of_its_page(send, staff, where, sample):
    response, stored = send(where)(sample())
    assert response.status_code == 303, text_of(response)[:300]
    assert stored[1] == "image/png"
    image = picture(stored[0])
    assert abs(image.width - A4_AT_150_DPI[0]) <= 2 and abs(image.height - A4_AT_150_DPI[1]) <= 2
    downloaded_by_staff(staff, stored)


@pytest.mark.parametrize("where", WHERE)
def test_a_one_page_scan_becomes_a_legible_png(send, staff, where):
    response, stored = send(where)(pdfs.scan())
    assert response.status_code == 303, text_of(response)[:300]
    image = picture(stored[0])
    assert abs(image.width - A4_AT_150_DPI[0]) <= 2 and abs(image.height - A4_AT_150_DPI[1]) <= 2
    assert image.convert("L").getextrema()[0] < 100, "the page's text was drawn"
    downloaded_by_staff(staff, stored)


@pytest.mark.parametrize("where", WHERE)
def test_the_pages_of_a_longer_scan_are_stacked_into_one_png(send, staff, where):
    response, stored = send(where)(pdfs.scan(pages=3))
    assert response.status_code == 303, text_of(response)[:300]
    image = picture(stored[0])
    assert abs(image.width - A4_AT_150_DPI[0]) <= 2
    assert image.height >= 3 * A4_AT_150_DPI[1]
    # Each page's own text is in its third of the picture.
    grey = image.convert("L")
    for number in range(3):
        band = grey.crop((0, number * image.height // 3, image.width, (number + 1) * image.height // 3))
        assert band.getextrema()[0] < 100, f"page {number + 1} is blank"
    downloaded_by_staff(staff, stored)


@pytest.mark.parametrize("where", WHERE)
def test_a_pdf_with_too_many_pages_is_refused(send, where):
    response, stored = send(where)(pdfs.scan(pages=pdf_render.MAX_PAGES + 1))
    assert refused_with(response, stored, f"more than {pdf_render.MAX_PAGES} pages"), text_of(response)[:300]
    response, stored = send(where)(pdfs.scan(pages=pdf_render.MAX_PAGES))
    assert response.status_code == 303 and stored[1] == "image/png"


@pytest.mark.parametrize("where", WHERE)
@pytest.mark.parametrize("password", ["", "secret"])
def test_an_encrypted_pdf_is_refused(send, where, password):
    # Even with an empty password (any reader opens it without asking): encryption hides the content
    # from every check, and an honest scan has no reason for it.
    response, stored = send(where)(pdfs.encrypted(password))
    assert refused_with(response, stored, "protected"), text_of(response)[:300]


@pytest.mark.parametrize("where", WHERE)
@pytest.mark.parametrize("content", [
    b"%PDF-1.7\n<html><script>alert(1)</script></html>\n%%EOF\n",
    b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\n"
    b"endobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n",
], ids=["not a PDF behind the header", "no pages"])
def test_a_pdf_that_cannot_be_rendered_is_refused(send, where, content):
    response, stored = send(where)(content)
    assert refused_with(response, stored, "must be a JPEG or PNG photo or a PDF scan"), text_of(response)[:300]


def test_a_huge_page_is_rendered_within_the_pixel_cap(send):
    # 5 m × 5 m: at 150 dpi that would be 30,000 pixels square (2.7 GB); it is scaled down instead.
    response, stored = send("identity request")(pdfs.one_page(b"[0 0 14400 14400]"))
    assert response.status_code == 303, text_of(response)[:300]
    image = picture(stored[0])
    assert image.width * image.height <= pdf_render.PAGE_PIXELS * 1.01 and image.width > 1000


def test_pdfium_runs_no_script_and_forms_are_never_initialised(send, monkeypatch):
    # pdfium runs JavaScript only through a form environment, and this build has no V8 to run it.
    assert "V8" not in pypdfium2.PDFIUM_INFO.flags and "XFA" not in pypdfium2.PDFIUM_INFO.flags

    def forbidden(*_args, **_kwargs):
        raise AssertionError("forms initialised")

    monkeypatch.setattr(pypdfium2.PdfDocument, "init_forms", forbidden)
    monkeypatch.setattr(pypdfium2.raw, "FPDFDOC_InitFormFillEnvironment", forbidden)
    response, stored = send("answer")(pdfs.script_in_escaped_object_stream())
    assert response.status_code == 303 and stored[1] == "image/png"


def test_a_pdf_stored_before_rendering_existed_is_served_as_a_png(app, staff, make_patient):
    # Documents filed before this change may still be PDFs on disk: staff get the picture, never the file.
    newcomer = make_patient(with_account=False).profile
    filed = IdentityRequest(
        reference="stored-as-pdf", matricule=newcomer.matricule, surname=newcomer.surname,
        given_name=newcomer.given_name, birth_date=newcomer.birth_date, mobile="+352621000111", language="en",
        document_name=uploads.store(pdfs.script_in_escaped_object_stream()), document_type="application/pdf",
        patient_id=newcomer.id,
    )
    db.session.add(filed)
    db.session.commit()
    response = staff.get(f"/cns/identity-requests/{filed.id}/document")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert response.data.startswith(PNG_MAGIC) and b"%PDF" not in response.data
    assert response.headers["Content-Disposition"].endswith('.png"')
