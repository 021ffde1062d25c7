"""PDF documents (fpdf2) with the DejaVu fonts shipped in portal/fonts (€ and accents)."""

from __future__ import annotations

import copy
import io
import pickle
from functools import cache

import qrcode
from flask import Response
from fontTools import ttLib
from fpdf import FPDF
from fpdf.fonts import SubsetMap, TTFFont

from portal.config import ROOT

FONTS = ROOT / "portal" / "fonts"
FACES = {"": FONTS / "DejaVuSans.ttf", "B": FONTS / "DejaVuSans-Bold.ttf"}


# Tables fpdf2 drops from every embedded font (output.py, _add_fonts), so never worth reading.
UNUSED_TABLES = ("FFTM", "GDEF", "GPOS", "GSUB", "MATH", "hdmx", "meta")


@cache
def _parsed(style: str) -> tuple[TTFFont, bytes]:
    """A face as fpdf2 reads it, parsed once per process.

    Reading a 700 KB TrueType file, measuring every glyph and decoding the tables the subsetter
    needs took most of a small document's time, twice (regular and bold). fpdf2 cuts the font
    down to the glyphs a document used by rewriting its tables in place, so a parsed font cannot
    be shared: the decoded tables are kept as a pickle, and each document unpickles its own copy
    (a fraction of the time of decoding them again)."""
    path = FACES[style]
    template = TTFFont(FPDF(), path, f"dejavu{style}", style)
    font = ttLib.TTFont(path, recalcTimestamp=False)
    for tag in UNUSED_TABLES:
        if tag in font:
            del font[tag]
    for tag in list(font.keys()):
        font[tag]  # decoded now, once, rather than by each document's subsetting
    font.reader = None  # everything is decoded: the file is not read again
    template.ttfont = None
    return template, pickle.dumps(font, protocol=pickle.HIGHEST_PROTOCOL)


def _face(document: FPDF, style: str) -> TTFFont:
    template, tables = _parsed(style)
    face = copy.copy(template)
    face.i = len(document.fonts) + 1
    face.ttfont = pickle.loads(tables)  # noqa: S301  # nosec B301: our own bytes, made above in this process
    face.subset = SubsetMap(face)
    face.missing_glyphs = []
    face.biggest_size_pt = 0
    face._hbfont = None
    return face


def attachment(content: bytes, filename: str) -> Response:
    """A PDF to save, not to show in the browser, and kept out of every cache."""
    return Response(content, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store",
    })

class Document(FPDF):
    """An A4 page with the portal's fonts and a few writing helpers."""

    def __init__(self, title: str):
        super().__init__(format="A4")
        for style in FACES:
            self.fonts[f"dejavu{style}"] = _face(self, style)
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
