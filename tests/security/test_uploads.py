"""Hostile uploads on every form that takes a file: the identity document of a self-service
request, the document a patient adds to an answer, and the photo of a paper invoice's QR code.

A file that lies about its type, a polyglot, an SVG or HTML with a script, an encrypted or
unreadable PDF, an empty or huge file: refused with the error next to the file field (400), or
kept as what its content is, re-encoded, under a name the server chose inside the upload
folder. A PDF, with a script or without, is kept only as a PNG of its pages, so whatever it
carried is gone (tests/security/test_pdf_uploads.py has the details). Hostile file names never
reach the disk. Staff get the file back as a download of the checked type, with nosniff and a
CSP that lets nothing run.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfWriter
from pypdf.actions import JavaScript

from portal.core import pdf_render
from portal.documents import uploads
from portal.extensions import db
from portal.models import ClaimEvent, IdentityRequest
from tests.fixtures import pdfs
from tests.fixtures.claims import new_claim
from tests.fixtures.clients import in_english, page, sign_in, text_of
from tests.fixtures.images import jpeg, png
from tests.security.test_hostile_input import Probe, row_counts

SCRIPT = b"<script>alert(document.cookie)</script>"
STORED_NAME = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def probe(figures):
    sent = Probe()
    sent.refused = 0
    yield sent
    sent.report(figures)
    figures.add("security.uploads.refused", sent.refused)


# --- Files --------------------------------------------------------------------------------------------


def jpeg_with_script_comment() -> bytes:
    body = jpeg()
    comment = b"\xff\xfe" + (len(SCRIPT) + 2).to_bytes(2, "big") + SCRIPT  # a COM segment after SOI
    return body[:2] + comment + body[2:]


def pdf(*objects: bytes, header: bytes = b"%PDF-1.7\n") -> bytes:
    """A small one-page PDF whose catalog is object 1; `objects` are the bodies of objects 4, 5, …
    (no cross-reference table: readers rebuild it, as they do for many real files)."""
    bodies = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
              b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>", *objects]
    out = bytearray(header)
    for number, body in enumerate(bodies, start=1):
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    return bytes(out + b"trailer\n<< /Root 1 0 R >>\n%%EOF\n")


def pypdf_with(change) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(100, 100)
    change(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def pdf_with_catalog(entry: bytes) -> bytes:
    data = pdf()
    return data.replace(b"/Pages 2 0 R >>", b"/Pages 2 0 R " + entry + b" >>", 1)


def decompression_bomb(side: int = 9_500) -> bytes:
    out = io.BytesIO()
    Image.new("1", (side, side)).save(out, format="PNG")  # 90 million pixels, a few kB on disk
    return out.getvalue()


HTML = b"<!doctype html><html><body>" + SCRIPT + b"</body></html>"
SVG = b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'>" + SCRIPT + b"</svg>"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00This program cannot be run in DOS mode.\r\n"

# name, content, file name, declared type, and what it is once checked (None: refused everywhere).
# A PDF that shows its page is kept as a PNG of it, whatever else it carries: the script, action,
# program or attachment stays in the PDF, which is not kept.
FILES = [
    ("PDF named as a PNG", pdfs.scan, "scan.png", "image/png", "image/png"),
    ("HTML named as a PNG", lambda: HTML, "photo.png", "image/png", None),
    ("a Windows program named as a PNG", lambda: EXE, "photo.png", "image/png", None),
    ("HTML named as a PDF", lambda: HTML, "scan.pdf", "application/pdf", None),
    ("HTML behind a PDF header", lambda: b"%PDF-1.4\n" + HTML + b"\n%%EOF\n", "scan.pdf", "application/pdf", None),
    ("a GIF/JavaScript polyglot", lambda: b"GIF89a/*\x00\x00*/=1;" + SCRIPT, "photo.gif", "image/gif", None),
    ("a PNG header before a script", lambda: b"\x89PNG\r\n\x1a\n" + SCRIPT, "photo.png", "image/png", None),
    ("a PNG with a script after its end", lambda: png() + SCRIPT, "photo.png", "image/png", "image/png"),
    ("a JPEG with a script in a comment", jpeg_with_script_comment, "photo.jpg", "image/jpeg", "image/jpeg"),
    ("an SVG with a script, as a PNG", lambda: SVG, "photo.png", "image/png", None),
    ("an SVG with a script, as an SVG", lambda: SVG, "photo.svg", "image/svg+xml", None),
    ("a PDF that runs JavaScript on opening",
     lambda: pypdf_with(lambda w: w.add_open_action(JavaScript("app.alert(1)"))), "scan.pdf", "application/pdf",
     "image/png"),
    ("a PDF with an /OpenAction script",
     lambda: pdf_with_catalog(b"/OpenAction << /S /JavaScript /JS (app.alert(1)) >>"), "scan.pdf", "application/pdf",
     "image/png"),
    ("a PDF with a /JS name spelled in escapes",
     lambda: pdf_with_catalog(b"/OpenAction << /S /J#61vaScript /J#53 (app.alert(1)) >>"), "scan.pdf",
     "application/pdf", "image/png"),
    ("a PDF with a script in an object stream typed /Obj#53tm", pdfs.script_in_escaped_object_stream, "scan.pdf",
     "application/pdf", "image/png"),
    ("a PDF with a script after 4 MiB of compressed padding", pdfs.script_after_padding, "scan.pdf",
     "application/pdf", "image/png"),
    ("a PDF that launches a program",
     lambda: pdf_with_catalog(b"/OpenAction << /S /Launch /F (cmd.exe) >>"), "scan.pdf", "application/pdf",
     "image/png"),
    ("a PDF with an embedded file", lambda: pypdf_with(lambda w: w.add_attachment("invoice.exe", EXE)), "scan.pdf",
     "application/pdf", "image/png"),
    ("a PDF with a script tag", lambda: pdf(b"<< /Note (" + SCRIPT + b") >>"), "scan.pdf", "application/pdf",
     "image/png"),
    ("a PDF without pages", lambda: pdf().replace(b"/Kids [3 0 R] /Count 1", b"/Kids [] /Count 0"), "scan.pdf",
     "application/pdf", None),
    ("a PDF cut before its end", lambda: pdfs.scan()[:-200], "scan.pdf", "application/pdf", None),
    ("a PDF encrypted without a password", pdfs.encrypted, "scan.pdf", "application/pdf", None),
    ("a PDF with more pages than a document needs", lambda: pdfs.scan(pages=pdf_render.MAX_PAGES + 1), "scan.pdf",
     "application/pdf", None),
    ("an empty file", lambda: b"", "photo.jpg", "image/jpeg", None),
    ("a file over 5 MB", lambda: jpeg() + b"\0" * (5 * 1024 * 1024), "photo.jpg", "image/jpeg", None),
    ("a decompression bomb", decompression_bomb, "photo.png", "image/png", None),
    # Between the limit and twice the limit, Pillow only warns: 50 million pixels, 150 MB in RGB.
    ("a picture just over the pixel limit", lambda: decompression_bomb(7_100), "photo.png", "image/png", None),
]

HOSTILE_NAMES = ["../../etc/passwd", "..\\..\\boot.ini", "/etc/passwd", "photo\x00.jpg", "photo\n.jpg",
                 "photo\r\nContent-Type: text/html.jpg", "a" * 300 + ".jpg", "\u202egpj.exe", "CON", "CON.jpg",
                 "NUL:", ".htaccess", "іd-саrd.jpg", "photo.jpg;.exe", "%2e%2e%2fpasswd", "photo.jpg ", "~/.ssh/id",
                 "<script>alert(1)</script>.jpg", "'; DROP TABLE claim; --.jpg", ""]


# --- Where files land ---------------------------------------------------------------------------------------

def every_file(app) -> set[Path]:
    """Everything under the test run's folder, which holds the instance folder and its uploads
    (the SQLite database and its journals aside)."""
    root = Path(app.instance_path).parent
    return {path for path in root.rglob("*") if path.is_file() and ".sqlite3" not in path.name}


@pytest.fixture
def filesystem(app):
    """Fails if a file appears anywhere but in the upload folder, under a name the server chose."""
    before = every_file(app)
    uploads_folder = Path(app.instance_path) / "uploads"
    yield
    for path in every_file(app) - before:
        assert uploads_folder in path.parents, f"written outside the upload folder: {path}"
        assert STORED_NAME.fullmatch(path.name.removesuffix(".new")), f"a name the server did not choose: {path}"
    for outside in (Path("/etc/passwd.jpg"), Path(app.instance_path).parent / "etc", Path("boot.ini"),
                    Path(app.instance_path) / ".htaccess", uploads_folder / ".htaccess"):
        assert not outside.exists() or outside in before, outside


# --- The three forms --------------------------------------------------------------------------------------

class Sent:
    """A request to an upload form: the answer, the file field, what was stored, the rows added."""

    def __init__(self, probe, client, url, data, field, *, hostile):
        before = row_counts()
        self.response = probe.send(client, "POST", url, data=data, content_type="multipart/form-data",
                                   hostile=hostile)
        after = row_counts()
        self.rows_added = {name: after[name] - before[name] for name in after if after[name] > before[name]}
        self.field, self.stored = field, None


@pytest.fixture
def upload_forms(app, people, make_patient):
    """Each of the three upload forms, with the clients and the fresh objects it needs."""
    patient, doctor, staff = people["patient"], people["doctor"], people["cns"]
    clients = {}
    for role in ("patient", "cns"):
        clients[role] = app.test_client()
        sign_in(clients[role], people[role])
        in_english(clients[role])
    newcomer = make_patient(with_account=False, given_name="Paul", surname="Hoffmann").profile

    def identity_request(probe, content, name, media_type, *, hostile=True):
        data = {"matricule": newcomer.matricule, "surname": "Hoffmann", "given_name": "Paul",
                "birth_date": newcomer.birth_date.isoformat(), "mobile": "+352 621 000 111", "consent": "y",
                "document": (io.BytesIO(content), name, media_type)}
        sent = Sent(probe, in_english(app.test_client()), "/activate/request", data, "document", hostile=hostile)
        if sent.response.status_code == 303:
            filed = db.session.scalar(db.select(IdentityRequest).order_by(IdentityRequest.id.desc()))
            sent.stored = (filed.document_name, filed.document_type, f"/cns/identity-requests/{filed.id}/document")
        return sent

    def answer(probe, content, name, media_type, *, hostile=True):
        claim = new_claim(patient, doctor, staff, state="info_requested")
        data = {"message": "Here is the document.", "document": (io.BytesIO(content), name, media_type)}
        sent = Sent(probe, clients["patient"], f"/patient/claims/{claim.id}/answer", data, "document", hostile=hostile)
        if sent.response.status_code == 303:
            event = db.session.scalar(db.select(ClaimEvent).where(ClaimEvent.claim_id == claim.id,
                                                                  ClaimEvent.kind == "info_answered"))
            sent.stored = (event.document_name, event.document_type, f"/cns/claims/{claim.id}/documents/{event.id}")
        return sent

    def paper_intake(probe, content, name, media_type, *, hostile=True):
        data = {"payload": "", "photo": (io.BytesIO(content), name, media_type)}
        return Sent(probe, clients["cns"], "/cns/paper-intake", data, "photo", hostile=hostile)  # read, never kept

    return {"identity request": identity_request, "answer": answer, "paper intake": paper_intake,
            "staff": clients["cns"]}


def refused_next_to_the_field(response, field: str) -> bool:
    return response.status_code == 400 and page(response).select_one(f"#{field}-error") is not None


def served_safely(probe, staff, stored, kind: str) -> bytes:
    name, media_type, url = stored
    assert STORED_NAME.fullmatch(name) and media_type == kind
    response = probe.send(staff, "GET", url, hostile=False)
    assert response.status_code == 200 and response.mimetype == kind
    # A download under a name of ours, whatever name the file came with.
    disposition = re.fullmatch(r'attachment; filename="([a-z0-9-]+)\.([a-z]+)"', response.headers["Content-Disposition"])
    assert disposition and disposition[2] == uploads.EXTENSIONS[kind], response.headers["Content-Disposition"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    csp = [directive.strip() for directive in response.headers["Content-Security-Policy"].split(";")]
    assert "sandbox" in csp and "default-src 'none'" in csp
    assert not any(directive.startswith("script-src") for directive in csp)
    return response.data


def refused(probe, sent) -> bool:
    """Refused with the error next to the file field, and not a row saved."""
    probe.rows_saved += sum(sent.rows_added.values())
    probe.refused += 1
    return (sent.response.status_code == 400 and page(sent.response).select_one(f"#{sent.field}-error") is not None
            and not sent.rows_added)


@pytest.mark.parametrize("where", ["identity request", "answer", "paper intake"])
def test_files_that_lie_or_hide_a_script_are_refused_or_kept_as_what_they_are(upload_forms, probe, filesystem, where):
    for label, make, name, declared, kind in FILES:
        content = make()
        sent = upload_forms[where](probe, content, name, declared)
        if kind is None or where == "paper intake":  # a photo must be a picture with a code in it
            assert refused(probe, sent), (label, sent.response.status_code, sent.rows_added,
                                          text_of(sent.response)[:200])
            continue
        assert sent.response.status_code == 303, (label, text_of(sent.response)[:200])
        kept = uploads.load(sent.stored[0])
        assert b"<script" not in kept.lower() and b"%PDF" not in kept and b"JavaScript" not in kept, label
        served = served_safely(probe, upload_forms["staff"], sent.stored, kind)
        assert served == kept, label
        if kind.startswith("image/"):
            assert served != content, f"{label}: an image is re-encoded, not kept as sent"


def test_a_file_over_the_request_limit_gets_the_413_page(upload_forms, probe, filesystem):
    huge = jpeg() + b"\0" * (7 * 1024 * 1024)
    for where in ("identity request", "answer", "paper intake"):
        sent = upload_forms[where](probe, huge, "photo.jpg", "image/jpeg")
        assert sent.response.status_code == 413 and "too large" in text_of(sent.response), where
        assert not sent.rows_added, where
        probe.refused += 1


@pytest.mark.parametrize("where", ["identity request", "answer"])
def test_hostile_file_names_never_reach_the_disk(upload_forms, probe, filesystem, where):
    for name in HOSTILE_NAMES:
        sent = upload_forms[where](probe, jpeg(), name, "image/jpeg")
        if sent.response.status_code == 303 and (not name or "\n" in name):
            # No name is how a browser says "no file"; a line break ends the part's header before
            # the name does, so no file arrives either: the answer goes alone.
            assert where == "answer" and sent.stored[0] is None, name
        elif sent.response.status_code == 303:
            # Kept under a name the server chose; the name sent is kept nowhere.
            body = served_safely(probe, upload_forms["staff"], sent.stored, "image/jpeg")
            assert body.startswith(b"\xff\xd8"), name
        else:
            assert refused(probe, sent), (name, sent.response.status_code, text_of(sent.response)[:200])


def test_a_clean_upload_still_goes_through_each_form(upload_forms, probe, filesystem):
    # The refusals above were the files': the same forms take an honest photo and scan (kept as a PNG).
    for content, name, declared, kept in ((jpeg(), "scan.jpg", "image/jpeg", "image/jpeg"),
                                          (png(), "scan.png", "image/png", "image/png"),
                                          (pdfs.scan(), "scan.pdf", "application/pdf", "image/png")):
        for where in ("identity request", "answer"):
            sent = upload_forms[where](probe, content, name, declared, hostile=False)
            assert sent.response.status_code == 303, (where, name, text_of(sent.response)[:200])
            served_safely(probe, upload_forms["staff"], sent.stored, kept)
