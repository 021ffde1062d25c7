"""Links that leave the portal: in a letter, an SMS, an e-mail or an export."""

from __future__ import annotations

from flask import current_app, has_request_context, url_for


def external_url(endpoint: str, **values) -> str:
    """An absolute link on the configured public address, whatever Host the request named.

    A request sent with `Host: evil.example` must not put evil.example into a QR code a
    patient scans later. Without PUBLIC_BASE_URL (development only) the request's address
    is all there is; outside a request (an operator command), localhost."""
    base = current_app.config["PUBLIC_BASE_URL"]
    if has_request_context():
        return base + url_for(endpoint, **values) if base else url_for(endpoint, _external=True, **values)
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return (base or "http://localhost") + path
