"""Password rules and hashing (argon2id)."""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

MIN_LENGTH = 12
MAX_LENGTH = 128


@lru_cache(maxsize=2)
def _hasher_for(profile: str) -> tuple[PasswordHasher, str]:
    # RFC 9106's low-memory profile (argon2id, 64 MiB, 3 passes) everywhere but in the
    # test suite, which uses the library's cheapest profile to stay fast.
    parameters = profiles.CHEAPEST if profile == "test" else profiles.RFC_9106_LOW_MEMORY
    hasher = PasswordHasher.from_parameters(parameters)
    # Verified when the login is unknown, so that answer takes as long as a wrong password.
    return hasher, hasher.hash("not-a-real-password-only-for-timing")


def _hasher() -> tuple[PasswordHasher, str]:
    profile = current_app.config.get("PASSWORD_HASH_PROFILE", "default") if has_app_context() else "default"
    return _hasher_for(profile)


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    # zxcvbn ships the 30,000 most common passwords from public leaks.
    return frozenset(FREQUENCY_LISTS["passwords"])


def _too_guessable(password: str, context: list[str]) -> bool:
    # zxcvbn's cost grows with length; the first 64 characters decide its score anyway.
    return zxcvbn(password[:64], user_inputs=[part for part in context if part])["score"] < 3


def normalise(password: str) -> str:
    return unicodedata.normalize("NFKC", password)


def problems(password: str, *, login: str = "", names: tuple[str, ...] = ()) -> list[str]:
    """Why a new password is refused; an empty list means it is acceptable."""
    password = normalise(password or "")
    errors = []
    if len(password) < MIN_LENGTH:
        errors.append(_l("Use at least %(count)d characters.", count=MIN_LENGTH))
    if len(password) > MAX_LENGTH:
        errors.append(_l("Use at most %(count)d characters.", count=MAX_LENGTH))
    lowered = password.lower()
    if lowered in _common_passwords() or lowered.rstrip("0123456789!") in _common_passwords():
        errors.append(_l("This password is too common; choose another one."))
    elif MIN_LENGTH <= len(password) <= MAX_LENGTH and _too_guessable(password, [login, *names]):
        # Catches what a plain list misses: "passwordpassword", keyboard walks, dates.
        errors.append(_l("This password is too easy to guess; add a few unrelated words."))
    fragments = [login, *names]
    if any(len(part) >= 3 and part.lower() in lowered for part in fragments if part):
        errors.append(_l("The password must not contain your login or your name."))
    return errors


def hash_password(password: str) -> str:
    return _hasher()[0].hash(normalise(password))


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Constant-work check: an account without a hash still costs one verification."""
    hasher, dummy = _hasher()
    try:
        return hasher.verify(stored_hash or dummy, normalise(password or "")) and bool(stored_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher()[0].check_needs_rehash(stored_hash)
