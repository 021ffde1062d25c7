"""Browsers an account signed in from before. A long-lived random cookie names the browser;
each session keeps its digest. A sign-in from a browser the account never used (or that cleared
its cookies) alerts the owner, unless it is the account's first sign-in ever."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app, g, request

from portal.accounts import security_alerts
from portal.extensions import db
from portal.models import Account, Patient, Role, UserSession

COOKIE = "portal_device"
LIFETIME = timedelta(days=400)  # the longest browsers keep a cookie


def digest(token: str) -> str:
    return hashlib.sha256(f"device:{token}".encode()).hexdigest()


def recognise(account: Account) -> str:
    """Before the new session starts: this browser's key for the session row, and an alert when the
    account signed in before but never from here. The cookie is set by remember()."""
    token = request.cookies.get(COOKIE, "")
    if not token or len(token) > 64:
        token = g.new_device_token = secrets.token_urlsafe(32)
    key = digest(token)
    sessions_of = db.select(UserSession.id).where(UserSession.account_id == account.id)
    signed_in_before = db.session.scalar(sessions_of.limit(1)) is not None
    if signed_in_before and db.session.scalar(sessions_of.where(UserSession.device_key == key).limit(1)) is None:
        patient = (db.session.scalar(db.select(Patient).where(Patient.account_id == account.id))
                   if account.role == Role.PATIENT else None)
        security_alerts.announce(account, patient, "new_device")
    return key


def remember(response):
    """Give a browser that had no device cookie the one recognise() chose."""
    token = g.get("new_device_token")
    if token:
        response.set_cookie(COOKIE, token, max_age=int(LIFETIME.total_seconds()), httponly=True, samesite="Lax",
                            secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response
