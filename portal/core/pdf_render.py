"""An uploaded PDF is kept only as a picture of its pages.

A PDF can carry scripts, actions, attachments and forms in more places and spellings than a
search of its bytes finds (names spelled with #-escapes, compressed object streams, data past
whatever a checker is willing to inflate). Drawing the pages and keeping only the pixels drops
all of that, however it is spelled: staff get one PNG, the pages stacked top to bottom.

pdfium runs a document's JavaScript only through a form environment (FPDFDOC_InitFormFillEnvironment
with a JavaScript platform, in a build with V8). We never create one: no `init_forms()`, and
`may_draw_forms=False` in case something else did. The pypdfium2 build has no V8 either.
"""

from __future__ import annotations

import io
import math
import threading

import pypdfium2
import pypdfium2.raw as pdfium_c
from PIL import Image

# An identity document is one or two pages, a prescription or a report a few: more is refused
# rather than cut, so staff never decide on part of a document.
MAX_PAGES = 8
DPI = 150  # small print on a scanned card or letter stays legible
# A4 at 150 dpi is 1240 × 1754 = 2.2 million pixels. A bigger page (A3, or a forged 5 m square)
# is drawn smaller, down to about this many pixels (rounded up to whole ones), instead of at its size.
PAGE_PIXELS = 3_000_000
# The stacked picture: 8 pages of A4 are 17 million pixels. Under Pillow's decompression-bomb
# limit (portal.documents.uploads, 40 million), so the stored PNG can be decoded again; at most 90 MB in RGB.
CANVAS_PIXELS = 30_000_000
GAP = 8  # pixels of grey between two pages, so staff see where one ends
GAP_COLOUR = (160, 160, 160)

# pdfium is not thread-safe: one document at a time in a process (gunicorn's sync workers are
# processes, but a threaded server would otherwise call it from two threads at once).
_PDFIUM = threading.Lock()


class Unrenderable(ValueError):
    """Refused; the upload message key is in .args[0]: "type", "encrypted" or "pages"."""


def render(data: bytes) -> bytes:
    """The pages of the PDF `data` as one PNG, or Unrenderable."""
    with _PDFIUM:
        document = _open(data)
        try:
            return _draw(document)
        except (pypdfium2.PdfiumError, ValueError) as exc:  # a page that fails to load or has no size
            raise Unrenderable("type") from exc
        finally:
            document.close()


def _open(data: bytes) -> pypdfium2.PdfDocument:
    try:
        document = pypdfium2.PdfDocument(data)  # no password: an encrypted file opens only if it has none
    except pypdfium2.PdfiumError as exc:
        raise Unrenderable("encrypted" if exc.err_code == pdfium_c.FPDF_ERR_PASSWORD else "type") from exc
    # Encrypted with an empty password, it opens; refused all the same: an honest scan has no
    # reason for it, and the person is told to send the file without protection.
    if pdfium_c.FPDF_GetSecurityHandlerRevision(document) != -1:
        document.close()
        raise Unrenderable("encrypted")
    if len(document) > MAX_PAGES:
        document.close()
        raise Unrenderable("pages")
    return document


def _draw(document: pypdfium2.PdfDocument) -> bytes:
    pages = list(document)  # closed with the document
    scales = [_scale(*page.get_size()) for page in pages]
    width, height = _canvas(pages, scales)
    if width * height > CANVAS_PIXELS:  # pages of very different shapes: all drawn smaller together
        shrink = math.sqrt(CANVAS_PIXELS / (width * height))
        scales = [scale * shrink for scale in scales]
        width, height = _canvas(pages, scales)
        if width * height > CANVAS_PIXELS:
            raise Unrenderable("type")
    canvas = Image.new("RGB", (width, height), GAP_COLOUR)
    top = 0
    for page, scale in zip(pages, scales, strict=True):
        bitmap = page.render(scale=scale, may_draw_forms=False)  # on white
        canvas.paste(bitmap.to_pil(), (0, top))
        top += bitmap.height + GAP
        bitmap.close()
    out = io.BytesIO()
    canvas.save(out, format="PNG")
    return out.getvalue()


def _canvas(pages: list, scales: list[float]) -> tuple[int, int]:
    # Each page's bitmap is sized as pdfium sizes it (pypdfium2's PdfPage.render rounds up).
    sizes = [(math.ceil(page.get_width() * scale), math.ceil(page.get_height() * scale))
             for page, scale in zip(pages, scales, strict=True)]
    return max(w for w, _h in sizes), sum(h for _w, h in sizes) + GAP * (len(sizes) - 1)


def _scale(width: float, height: float) -> float:
    if not (0 < width < math.inf and 0 < height < math.inf):
        raise Unrenderable("type")
    scale = DPI / 72  # PDF sizes are in points, 72 to the inch
    if width * height * scale * scale > PAGE_PIXELS:
        scale = math.sqrt(PAGE_PIXELS / (width * height))
    return scale
