"""Uploaded identity documents: content-checked, images re-encoded, stored encrypted
outside static/ under a random name."""

from __future__ import annotations

import io
import secrets
from pathlib import Path

from cryptography.fernet import Fernet
from flask import current_app
from PIL import Image, UnidentifiedImageError

MAX_BYTES = 5 * 1024 * 1024
KINDS = {"image/jpeg": "JPEG", "image/png": "PNG", "application/pdf": None}
Image.MAX_IMAGE_PIXELS = 40_000_000  # a decompression bomb is refused, not decoded


class RejectedUpload(ValueError):
    """The file is not a JPEG, PNG or PDF we can safely keep (message key in .args[0])."""


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
            image.load()
            if image.format != KINDS[kind]:
                raise RejectedUpload("type")
            if image.mode not in ("RGB", "L"):
                image = image.convert("RGB")
            out = io.BytesIO()
            image.save(out, format=KINDS[kind])
            return out.getvalue()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise RejectedUpload("type") from exc


def _check_pdf(data: bytes) -> bytes:
    tail = data[-2048:]
    if b"%%EOF" not in tail or b"<script" in data.lower():
        raise RejectedUpload("type")
    return data


def clean(data: bytes, filename: str | None = None) -> tuple[bytes, str]:
    """Return (content to store, media type) or raise RejectedUpload.

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
        return _check_pdf(data), kind
    return _reencode(data, kind), kind


def _folder() -> Path:
    folder = Path(current_app.instance_path) / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _fernet() -> Fernet:
    return Fernet(current_app.config["FIELD_ENCRYPTION_KEY"].encode())


def store(content: bytes) -> str:
    """Encrypt and write; returns the random file name (never derived from the user's)."""
    name = secrets.token_hex(16)
    path = _folder() / name
    temporary = path.with_suffix(".part")
    temporary.write_bytes(_fernet().encrypt(content))
    temporary.replace(path)  # atomic: a crash never leaves half a file under the real name
    return name


def load(name: str) -> bytes:
    return _fernet().decrypt((_folder() / _safe(name)).read_bytes())


def delete(name: str | None) -> None:
    if name:
        (_folder() / _safe(name)).unlink(missing_ok=True)


def _safe(name: str) -> str:
    if len(name) != 32 or not all(ch in "0123456789abcdef" for ch in name):
        raise ValueError("not a stored file name")
    return name
