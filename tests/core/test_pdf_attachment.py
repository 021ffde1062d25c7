"""Every PDF the portal hands out is saved, not shown, and never cached."""

from portal.core import pdf


def test_a_pdf_is_an_uncached_attachment():
    response = pdf.attachment(b"%PDF-1.4", "invoice-2026-000001.pdf")
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == 'attachment; filename="invoice-2026-000001.pdf"'
    assert response.headers["Cache-Control"] == "no-store"
    assert response.get_data() == b"%PDF-1.4"
