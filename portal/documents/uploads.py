"""Uploaded identity documents: content-checked, images re-encoded, PDFs kept only as a PNG of
their pages (portal/core/pdf_render.py), stored encrypted outside static/ under a random name.

A file and the row that names it are written together: the file waits in the instance's
`uploads-pending/`, locked by the process writing it, until the transaction commits; then it
moves into `uploads/`. A transaction that ends without committing deletes it. A process
killed in between (a worker killed mid-request) cannot clean up: `sweep()`, run before every
upload and by `flask purge`, moves a dead writer's file into place if its row was committed
and deletes it otherwise.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import secrets
import time
from pathlib import Path

from cryptography.fernet import Fernet
from flask import Response, abort, current_app
from flask_babel import lazy_gettext as _l
from PIL import Image, UnidentifiedImageError
from sqlalchemy import event
from sqlalchemy.orm import Session

from portal.core import pdf_render
from portal.core.refused import Refused
from portal.extensions import db
from portal.models import ClaimEvent, DataExport, HelpRequest, IdentityRequest

MAX_BYTES = 5 * 1024 * 1024
KINDS = {"image/jpeg": "JPEG", "image/png": "PNG"}  # what is stored: a PDF is stored as its PNG
Image.MAX_IMAGE_PIXELS = 40_000_000  # a decompression bomb is refused, not decoded
PENDING = "uploads-pending"  # beside uploads/, in the instance folder (same file system)
IN_FLIGHT = "uploads.in_flight"  # Session.info: (pending path, final path, locked handle) per file
# sweep() leaves a dead writer's file alone this long after its last write or COMMIT: a COMMIT
# sent just before dying may still be under way in PostgreSQL, and a new file is locked a
# moment after it is created.
SETTLE_SECONDS = 5


# Why a file was refused, as the person reads it under the form's file field ("document").
MESSAGES = {
    "empty": _l("The file is empty."),
    "size": _l("The file is larger than 5 MB."),
    "type": _l("The file must be a JPEG or PNG photo or a PDF scan."),
    "name": _l("The file name must not contain a folder path. Rename the file and try again."),
    "encrypted": _l("The PDF is protected by a password or encryption. Save it without protection and send it again."),
    "pages": _l("The PDF has more than %(pages)d pages. Send only the pages that are needed.", pages=pdf_render.MAX_PAGES),
}


class RejectedUpload(Refused):
    """The file is not a JPEG, PNG or PDF we can safely keep. `reason`: "empty", "size",
    "type", "name", and for a PDF "encrypted" or "pages"; its message is on the field "document"."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(fields={"document": [MESSAGES.get(reason, MESSAGES["type"])]})


def _sniff(data: bytes) -> str | None:
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    return None


def _reencode(data: bytes, kind: str) -> bytes:
    # Decoding and encoding again drops metadata and anything hidden after the image data.
    try:
        with Image.open(io.BytesIO(data)) as image:
            # Pillow only warns between MAX_IMAGE_PIXELS and twice that: the size in the header
            # decides before anything is decoded.
            if image.width * image.height > Image.MAX_IMAGE_PIXELS:
                raise RejectedUpload("type")
            image.load()
            if image.format != KINDS[kind]:
                raise RejectedUpload("type")
            if image.mode not in ("RGB", "L"):
                image = image.convert("RGB")
            image.info = {}  # Pillow writes a JPEG's comment (a script, say) back unless it is dropped
            out = io.BytesIO()
            image.save(out, format=KINDS[kind])
            return out.getvalue()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise RejectedUpload("type") from exc


def clean(data: bytes, filename: str | None = None) -> tuple[bytes, str]:
    """Return (content to store, media type) or raise RejectedUpload. A PDF comes back as a
    PNG of its pages: no uploaded PDF is ever stored, so none can be served back.

    The name is never used to store the file; one that carries a folder path (which a
    browser never sends) marks a crafted request and is refused.
    """
    if filename and (any(ch in filename for ch in "/\\\0") or filename.startswith(".")):
        raise RejectedUpload("name")
    if not data:
        raise RejectedUpload("empty")
    if len(data) > MAX_BYTES:
        raise RejectedUpload("size")
    kind = _sniff(data)
    if kind is None:
        raise RejectedUpload("type")
    if kind == "application/pdf":
        return _rendered(data), "image/png"
    return _reencode(data, kind), kind


def _rendered(data: bytes) -> bytes:
    # Whatever a PDF carries besides its pages' appearance is left behind in the file we drop.
    try:
        return pdf_render.render(data)
    except pdf_render.Unrenderable as refused:
        raise RejectedUpload(refused.args[0]) from refused


def _folder(name: str = "uploads") -> Path:
    folder = Path(current_app.instance_path) / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _fernet() -> Fernet:
    return Fernet(current_app.config["FIELD_ENCRYPTION_KEY"].encode())


def store(content: bytes) -> str:
    """Encrypt and write; returns the random file name (never derived from the user's).

    The file takes its place when the current transaction commits (see the module's notes).
    """

    sweep()
    name = secrets.token_hex(16)
    waiting = _folder(PENDING)
    created = waiting / f"{name}.new"
    handle = created.open("xb")  # kept open, and so locked, until the transaction ends
    fcntl.flock(handle, fcntl.LOCK_EX)
    created.rename(waiting / name)  # only locked files go by their name in uploads-pending/
    handle.write(_fernet().encrypt(content))
    handle.flush()
    db.session.info.setdefault(IN_FLIGHT, []).append((waiting / name, _folder() / name, handle))
    return name


@event.listens_for(Session, "before_commit")
def _note_commit_time(session: Session) -> None:
    # sweep() counts SETTLE_SECONDS from here: the moment the COMMIT goes to the database.
    for waiting, _final, _handle in session.info.get(IN_FLIGHT, []):
        with contextlib.suppress(FileNotFoundError):
            waiting.touch()


@event.listens_for(Session, "after_commit")
def _place_committed(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint released: nothing is committed yet
        return
    for waiting, final, handle in session.info.pop(IN_FLIGHT, []):
        with contextlib.suppress(FileNotFoundError):  # load() may have moved it already
            waiting.replace(final)
        handle.close()


@event.listens_for(Session, "after_transaction_end")
def _drop_uncommitted(session: Session, transaction) -> None:
    if transaction.parent is not None:  # a savepoint: the outer transaction decides
        return
    for waiting, _final, handle in session.info.pop(IN_FLIGHT, []):
        waiting.unlink(missing_ok=True)
        handle.close()


def _referenced(name: str) -> bool:
    return any(
        db.session.scalar(db.select(column).where(column == name).limit(1)) is not None
        for column in (IdentityRequest.document_name, ClaimEvent.document_name, DataExport.file_name,
                       HelpRequest.document_name)
    )


def sweep() -> int:
    """Settle the files that processes which died mid-transaction left waiting; returns how
    many. A file still locked belongs to a live transaction and stays."""
    waiting = _folder(PENDING)
    settled, now = 0, time.time()
    for path in waiting.iterdir():
        try:
            if now - path.stat().st_mtime < SETTLE_SECONDS:
                continue
            handle = path.open("rb")
        except FileNotFoundError:  # its writer finished meanwhile
            continue
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue
            with contextlib.suppress(FileNotFoundError):
                if path.suffix != ".new" and _referenced(path.name):
                    path.replace(_folder() / path.name)
                else:
                    path.unlink()
                settled += 1
    return settled


EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png"}


def send(content: bytes, media_type: str, stem: str) -> Response:
    """A stored document for staff: downloaded under our own name, never run by the browser.

    Its type is the one found by content at upload; the browser must not guess another
    (nosniff), and if it shows the file anyway, nothing in it may run, load or submit."""
    if media_type == "application/pdf":
        # Stored before PDFs were rendered on receipt: staff get the picture, never the file.
        try:
            content, media_type = pdf_render.render(content), "image/png"
        except pdf_render.Unrenderable:
            abort(404)
    return Response(content, mimetype=media_type, headers={
        "Cache-Control": "no-store",
        "Content-Disposition": f'attachment; filename="{stem}.{EXTENSIONS.get(media_type, "bin")}"',
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox",
    })


def load(name: str) -> bytes:
    path = _folder() / _safe(name)
    if not path.exists():
        # Its row was committed (that is how the caller knows the name) but its writer died
        # before moving it into place.
        with contextlib.suppress(FileNotFoundError):
            (_folder(PENDING) / name).replace(path)
    return _fernet().decrypt(path.read_bytes())


def delete(name: str | None) -> None:
    if name:
        (_folder() / _safe(name)).unlink(missing_ok=True)
        (_folder(PENDING) / name).unlink(missing_ok=True)


def _safe(name: str) -> str:
    if len(name) != 32 or not all(ch in "0123456789abcdef" for ch in name):
        raise ValueError("not a stored file name")
    return name
