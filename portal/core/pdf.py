"""PDF documents (fpdf2) with the DejaVu fonts shipped in portal/fonts (€ and accents)."""

from __future__ import annotations

import io

import qrcode
from flask import Response
from fpdf import FPDF

from portal.config import ROOT

FONTS = ROOT / "portal" / "fonts"


def attachment(content: bytes, filename: str) -> Response:
    """A PDF to save, not to show in the browser, and kept out of every cache."""
    return Response(content, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store",
    })

class Document(FPDF):
    """An A4 page with the portal's fonts and a few writing helpers."""

    def __init__(self, title: str):
        super().__init__(format="A4")
        self.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
        self.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
        self.set_title(title)
        self.set_creator("Portail remboursement")
        self.set_auto_page_break(auto=True, margin=15)
        self.add_page()
        self.set_font("DejaVu", "B", 16)
        self.multi_cell(0, 9, title, new_x="LMARGIN", new_y="NEXT")
        self.ln(3)

    def heading(self, text: str) -> None:
        self.ln(2)
        self.set_font("DejaVu", "B", 12)
        self.multi_cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")

    def paragraph(self, text: str, size: int = 11) -> None:
        self.set_font("DejaVu", "", size)
        self.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
        self.ln(1)

    def fact(self, label: str, value: str) -> None:
        self.set_font("DejaVu", "B", 11)
        self.cell(60, 7, label)
        self.set_font("DejaVu", "", 11)
        self.multi_cell(0, 7, value, new_x="LMARGIN", new_y="NEXT")

    def qr(self, data: str, size_mm: float = 50) -> None:
        image = qrcode.make(data, border=2)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        buffer.seek(0)
        self.image(buffer, w=size_mm, h=size_mm)
        self.ln(2)

    def render(self) -> bytes:
        return bytes(self.output())
