"""Links that leave the portal (in a letter, an SMS, an e-mail or an export), and the one
check of a link that comes back in (a "next" address)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, has_request_context, url_for


def safe_next(target: str | None, default, *, within: str = "/"):
    """`target` if it is a path of this portal under `within`, else `default`: never another host.

    Browsers drop tabs and newlines from a Location and read a backslash as a slash, so
    "/\t/evil.example" would become "//evil.example": any such character is refused, and so is
    "//" anywhere in the path.
    """
    if not target or any(ch.isspace() or ord(ch) < 0x20 or ch == "\\" for ch in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or target.startswith("//") or "//" in parts.path:
        return default
    if not target.startswith(within):
        return default
    return target.rstrip("?")


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
