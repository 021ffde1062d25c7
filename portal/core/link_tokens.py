"""Secrets carried in a link nobody types (a data export's download link): 160 random bits in
RFC 4648 base32, kept only as the SHA-256 of their upper-case letters and digits.

Activation codes issued before they became short typed codes had this form too;
portal.activation.codes still finds them through `digest`.
"""

from __future__ import annotations

import base64
import hashlib
import secrets


def new() -> str:
    return base64.b32encode(secrets.token_bytes(20)).decode().rstrip("=")


def normalise(token: str | None) -> str:
    return "".join(ch for ch in (token or "").upper() if ch.isalnum())


def digest(token: str | None) -> str:
    return hashlib.sha256(normalise(token).encode()).hexdigest()
