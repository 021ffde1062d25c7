"""The PDF fonts are parsed once per process; each document still embeds its own correct subset."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from datetime import UTC, datetime

from pypdf import PdfReader

from portal.config import ROOT
from portal.core import pdf

# Different letters on purpose: the second document needs glyphs the first one's subset left out.
FIRST = ("Facture 2026-000001", "Zoé Müller — 52,30 €")
SECOND = ("Rechnung 2026-000002", "Łukasz Ørsted-Świątek × 3 = 156,90 € (Ärztin)")


def _render(title: str, line: str) -> bytes:
    document = pdf.Document(title)
    document.fact("Patient", line)
    document.paragraph(line)
    # fpdf2 stamps the time of output otherwise; a fixed one makes two renders comparable.
    document.set_creation_date(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    return document.render()


def _text(content: bytes) -> str:
    return PdfReader(io.BytesIO(content)).pages[0].extract_text()


def test_two_documents_in_a_row_each_show_their_own_text():
    first, second = _render(*FIRST), _render(*SECOND)
    for (title, line), content in ((FIRST, first), (SECOND, second)):
        text = _text(content)
        assert title in text
        assert line in text.replace("\n", " ")


def test_the_parsed_font_is_read_once_and_never_cut_down():
    template, _tables = pdf._parsed("")
    widths = dict(template.cw)
    _render(*FIRST)
    _render(*SECOND)
    assert pdf._parsed("")[0] is template
    assert template.ttfont is None  # each document had its own copy to subset
    assert {char: template.cw[char] for char in widths} == widths


def test_a_render_after_others_is_the_same_as_a_fresh_process_first_one():
    _render(*FIRST)  # this process has parsed and used the fonts already
    warm = _render(*SECOND)
    script = (
        "import sys; from tests.core.test_pdf_fonts import _render, SECOND; "
        "sys.stdout.buffer.write(_render(*SECOND))"
    )
    fresh = subprocess.run(  # noqa: S603 - fixed arguments, our own interpreter
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    ).stdout
    assert fresh.startswith(b"%PDF")
    assert warm == fresh
