"""The signed reference a paper invoice carries as a QR code, so the fund's staff pull the
invoice up by scanning it at intake."""

from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from portal.extensions import db
from portal.models import Invoice


# Paper invoices carry a signed reference so CNS staff can pull the invoice up by scanning.
def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="invoice-qr")


def qr_payload(invoice: Invoice) -> str:
    return "LUINV:" + _serializer().dumps([invoice.id, invoice.provider_code, invoice.number])


def invoice_from_payload(payload: str) -> Invoice | None:
    """The invoice a scanned payload names, or None if it is forged, altered or foreign."""
    payload = (payload or "").strip()
    if not payload.startswith("LUINV:") or len(payload) > 300:
        return None
    try:
        invoice_id, provider_code, number = _serializer().loads(payload[6:])
    except (BadSignature, ValueError, TypeError):
        return None
    invoice = db.session.get(Invoice, invoice_id) if isinstance(invoice_id, int) else None
    if invoice is None or invoice.provider_code != provider_code or invoice.number != number:
        return None
    return invoice
