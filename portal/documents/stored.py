"""Documents rendered once and kept (invoice and statement PDFs), so a download is a read.

An issued document does not change, so its PDF is rendered once per language: the patient's
language as soon as it is issued (a job), any other language the first time someone asks for it.
What would change the printed text (an invoice voided) forgets the stored copies; the next
download renders them again. Rows live in the database because every instance of the portal
must read what another one rendered; they are encrypted like uploads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cryptography.fernet import Fernet
from flask import current_app
from sqlalchemy import delete

from portal.core.database import add_unless_taken
from portal.extensions import db
from portal.models import DocumentKind, StoredDocument


@dataclass(frozen=True)
class Key:
    """Which document: its kind, its row, and the patient whose data it prints (or None)."""

    kind: str
    object_id: int
    patient_id: int | None

    def column(self):
        return StoredDocument.invoice_id if self.kind == DocumentKind.INVOICE else StoredDocument.statement_id


def _fernet() -> Fernet:
    return Fernet(current_app.config["FIELD_ENCRYPTION_KEY"].encode())


def read(key: Key, language: str) -> bytes | None:
    found = db.session.scalar(
        db.select(StoredDocument.content).where(key.column() == key.object_id, StoredDocument.language == language)
    )
    return None if found is None else _fernet().decrypt(found)


def keep(key: Key, language: str, content: bytes) -> None:
    """Store a rendered PDF. Two requests that rendered it at once store it once: the unique
    key keeps the first, and the second's copy (the same document) is dropped."""
    row = StoredDocument(kind=key.kind, patient_id=key.patient_id, language=language,
                         content=_fernet().encrypt(content))
    setattr(row, key.column().key, key.object_id)
    add_unless_taken(row)


def missing(keys: list[Key], language: str) -> list[Key]:
    """The documents among `keys` with no PDF stored in `language`, in two queries."""
    found: set[tuple[str, int]] = set()
    for kind, column in ((DocumentKind.INVOICE, StoredDocument.invoice_id),
                         (DocumentKind.STATEMENT, StoredDocument.statement_id)):
        ids = [key.object_id for key in keys if key.kind == kind]
        if ids:
            found.update((kind, object_id) for object_id in db.session.scalars(
                db.select(column).where(column.in_(ids), StoredDocument.language == language)))
    return [key for key in keys if (key.kind, key.object_id) not in found]


def read_or_render(key: Key, language: str, render: Callable[[], bytes]) -> bytes:
    """The stored PDF, or `render()` stored for the next reader. The caller commits."""
    content = read(key, language)
    if content is None:
        content = render()
        keep(key, language, content)
    return content


def render_apart(key: Key, language: str, render: Callable[[], bytes]) -> None:
    """For the jobs that render at issue: render with no transaction open, then store.

    The objects `render` reads must be loaded already: the session is closed first (they stay
    loaded, detached). On SQLite every transaction holds the write lock, and rendering a PDF
    while holding it would make every request that writes wait for the picture."""
    if read(key, language) is not None:
        db.session.close()
        return
    db.session.close()
    content = render()
    keep(key, language, content)
    db.session.commit()


def forget(key: Key) -> int:
    """Drop every stored language of a document whose printed text changed."""
    return _run(delete(StoredDocument).where(key.column() == key.object_id))


def forget_patient(patient_id: int) -> int:
    """Drop every stored document that prints this patient's data (erasure)."""
    return _run(delete(StoredDocument).where(StoredDocument.patient_id == patient_id))


def _run(statement) -> int:
    return db.session.execute(statement.execution_options(synchronize_session=False)).rowcount
