"""Authenticator (TOTP) secrets, codes and recovery codes."""

from __future__ import annotations

import hashlib
import hmac
import io
import secrets

import pyotp
import qrcode
import qrcode.image.svg
from cryptography.fernet import Fernet
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, update

from portal.core import clock
from portal.extensions import db
from portal.models import Credential, RecoveryCode

ISSUER = "Portail remboursement"
STEP_SECONDS = 30
TOLERANCE_STEPS = 1
RECOVERY_CODE_COUNT = 10
NO_MATCH = _l("This code does not match. Check the time on your phone and try again.")


def _fernet() -> Fernet:
    return Fernet(current_app.config["FIELD_ENCRYPTION_KEY"].encode())


def encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def decrypt(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode()


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, login: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=login, issuer_name=ISSUER)


def qr_svg(data: str) -> bytes:
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue()


def pending_secret(credential: Credential) -> str:
    """The secret an account is enrolling, drawn the first time it is asked for.

    Saved at once: the page and its QR code (another request) must show the same secret, and
    so must the page sent back with a wrong code."""
    if not credential.totp_pending_secret:
        credential.totp_pending_secret = encrypt(new_secret())
        db.session.commit()
    return decrypt(credential.totp_pending_secret)


def enrolment_qr(secret: str, login: str) -> bytes:
    """The QR code (SVG) an authenticator app scans to add the account."""
    return qr_svg(provisioning_uri(secret, login))


def current_step() -> int:
    return int(clock.now().timestamp()) // STEP_SECONDS


def matching_step(secret: str, code: str) -> int | None:
    """The time step whose code equals `code`, within the tolerance, or None."""
    code = (code or "").strip().replace(" ", "")
    if len(code) != 6 or not code.isascii() or not code.isdigit():  # compare_digest refuses non-ASCII
        return None
    totp = pyotp.TOTP(secret)
    now_step = current_step()
    for step in range(now_step - TOLERANCE_STEPS, now_step + TOLERANCE_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def code_for(secret: str, step: int | None = None) -> str:
    """The code an authenticator shows now (used by the demo, tests and the benchmark)."""
    return pyotp.TOTP(secret).generate_otp(current_step() if step is None else step)


def _unused_step(credential: Credential, code: str) -> int | None:
    if not credential.totp_secret:
        return None
    step = matching_step(decrypt(credential.totp_secret), code)
    if step is None or (credential.totp_last_step is not None and step <= credential.totp_last_step):
        return None
    return step


def is_unused_code(credential: Credential, code: str) -> bool:
    """Whether `code` would be accepted now, without using it up: a form sent back for another
    field's mistake leaves the code good for the corrected form."""
    return _unused_step(credential, code) is not None


def consume_code(credential: Credential, code: str) -> bool:
    """Accept a code once: advance the last accepted step with a conditional update.

    Two parallel requests with one code both compute the same step; only one UPDATE
    finds the old value still in place.
    """
    step = _unused_step(credential, code)
    if step is None:
        return False
    result = db.session.execute(
        update(Credential)
        .where(Credential.account_id == credential.account_id)
        .where(or_(Credential.totp_last_step.is_(None), Credential.totp_last_step < step))
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    credential.totp_last_step = step
    return True


def _hash_recovery(code: str) -> str:
    # Recovery codes carry 50 bits of randomness, so a keyed fast hash is enough here.
    key = current_app.config["SECRET_KEY"].encode()
    normalised = code.strip().replace("-", "").replace(" ", "").lower()
    return hmac.new(key, normalised.encode(), hashlib.sha256).hexdigest()


def issue_recovery_codes(account_id: int) -> list[str]:
    """Replace an account's recovery codes; returns the plain codes to show once."""
    db.session.execute(db.delete(RecoveryCode).where(RecoveryCode.account_id == account_id))
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = secrets.token_hex(5)
        code = f"{raw[:5]}-{raw[5:]}"
        codes.append(code)
        db.session.add(RecoveryCode(account_id=account_id, code_hash=_hash_recovery(code)))
    return codes


def consume_recovery_code(account_id: int, code: str) -> int | None:
    """Use a recovery code once; returns how many remain, or None if it was not valid."""
    digest = _hash_recovery(code or "")
    result = db.session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.account_id == account_id)
        .where(RecoveryCode.code_hash == digest)
        .where(RecoveryCode.used_at.is_(None))
        .values(used_at=clock.now())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return None
    return db.session.scalar(
        db.select(db.func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.account_id == account_id, RecoveryCode.used_at.is_(None))
    )
