"""Answers that carry an audit row: the view added the row while it read what it shows; these
commit it once the page or the file is made, because a commit expires everything the session
loaded and the page would load it all again. (On PostgreSQL a page's row of a read is already
committed by its INSERT, portal/core/reading.py; the commit then has nothing to do.)"""

from __future__ import annotations

from flask import Response

from portal.core import pdf
from portal.extensions import db


def page(html: str) -> str:
    db.session.commit()
    return html


def pdf_file(content: bytes, name: str) -> Response:
    db.session.commit()
    return pdf.attachment(content, name)
