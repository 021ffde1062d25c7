"""Server-side sessions: each signed-in browser has a row, so any copy of a cookie
can be ended at once (sign-out, password change, suspension, erasure)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from functools import cache
from urllib.parse import parse_qs, urlsplit

from flask import current_app, g, request, session, url_for
from sqlalchemy import bindparam, update
from sqlalchemy.orm import joinedload

from portal import audit
from portal.accounts import guardians, profiles
from portal.core import clock, htmx
from portal.extensions import db
from portal.models import Account, AccountStatus, Patient, Role, UserSession

# Writing the last activity on every request would cost a write per click; a few
# seconds of slack is invisible next to a one-minute lock.
ACTIVITY_WRITE_INTERVAL = timedelta(seconds=5)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def current_path() -> str | None:
    """Where to come back to after signing in or unlocking.

    For an htmx request (a poll, a fragment) that is the page in the address bar, which
    htmx sends as HX-Current-URL, not the fragment's own URL.
    """
    if getattr(request, "htmx", False) and request.htmx.current_url:
        shown = urlsplit(request.htmx.current_url)
        if shown.path in (url_for("auth.unlock"), url_for("auth.login")):
            # That page already knows where to return: wrapping it in another `next` would send
            # the person back to it, then on to the place it names.
            return parse_qs(shown.query).get("next", [""])[0] or None
        return shown.path + (f"?{shown.query}" if shown.query else "")
    if request.method not in ("GET", "HEAD"):
        # A form's address often answers POST only: coming back to it with GET would be
        # a 405, and what was typed is gone anyway. A home page is the safe return: the
        # role's, else (signed out) the home of the space the form belonged to.
        account = g.get("account")
        if account is not None:
            return url_for(f"{account.role}.home")
        space_home = f"{request.blueprint}.home"
        return url_for(space_home if space_home in current_app.view_functions else "public.home")
    return request.full_path.rstrip("?")


# What survives a rebuilt cookie: the language, and an activation under way (a parent
# signs in halfway through activating a child's account).
KEPT_ACROSS_SIGNIN = ("lang", "activation")


def reset_cookie() -> None:
    if session.get("sid"):
        # The cookie is rebuilt (signing in again from a browser that still held a session):
        # that session ends, or a copy of the older cookie would stay valid beside the new one.
        db.session.execute(
            update(UserSession)
            .where(UserSession.id == _digest(session["sid"]), UserSession.revoked_at.is_(None))
            .values(revoked_at=clock.now(), ended_reason="replaced")
            .execution_options(synchronize_session=False)
        )
    kept = {key: session[key] for key in KEPT_ACROSS_SIGNIN if key in session}
    session.clear()
    session.update(kept)


def start(account: Account) -> UserSession:
    """Begin a signed-in session; the cookie is rebuilt so no pre-sign-in value survives."""
    reset_cookie()
    token = secrets.token_urlsafe(32)
    session["sid"] = token
    session["role"] = account.role  # which record to read with the session (_load_statement)
    row = UserSession(
        id=_digest(token),
        account_id=account.id,
        ip=audit.client_address(),
        device=(request.user_agent.string or "")[:200],
    )
    db.session.add(row)
    g.user_session = row
    g.account = account
    g._login_user = account  # Flask-Login caches the user per request; refresh it
    return row


def rotate(account: Account, reason: str) -> UserSession:
    """Give this browser a new session id and end the old one, keeping what the cookie holds.

    After a password change: a copy of the cookie taken before must not survive it."""
    kept = {key: value for key, value in session.items() if key != "sid"}
    row = g.get("user_session")
    if row is not None:
        end(row, reason)
    new_row = start(account)
    session.update(kept)
    return new_row


def end(row: UserSession, reason: str) -> None:
    row.revoked_at = clock.now()
    row.ended_reason = reason


def end_current(reason: str) -> None:
    row = g.get("user_session")
    if row is not None:
        end(row, reason)
    reset_cookie()
    session.pop("activation", None)
    g.user_session = None
    g.account = None
    g.pop("_login_user", None)


def end_all(account_id: int, reason: str, *, keep: str | None = None) -> int:
    """End every open session of an account, except `keep` (a session id) if given."""
    query = (
        update(UserSession)
        .where(UserSession.account_id == account_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=clock.now(), ended_reason=reason)
        .execution_options(synchronize_session=False)
    )
    if keep:
        query = query.where(UserSession.id != keep)
    return db.session.execute(query).rowcount


def active_for(account_id: int) -> list[UserSession]:
    return list(
        db.session.scalars(
            db.select(UserSession)
            .where(UserSession.account_id == account_id, UserSession.revoked_at.is_(None))
            .order_by(UserSession.last_activity_at.desc())
        )
    )


def previous_signin(account_id, started):
    """When the account signed in before its session that started at `started`, as a scalar
    subquery (NULL the first time), so a home page counts what is new in the same query as
    everything else; both arguments may be bound parameters. Every sign-in starts a session
    row and rows are kept until the account is erased; a session a password change replaced
    counts as a sign-in too, which at worst shows less as new."""
    return (
        db.select(db.func.max(UserSession.created_at))
        .where(UserSession.account_id == account_id, UserSession.created_at < started)
        .scalar_subquery()
    )


@cache
def _load_statement(role: str | None):
    """One statement: the session, its account, the person behind it (accounts.profile) and,
    for a patient, what the header shows of the household (guardians.with_summary). Built once
    per process for each role the cookie may name (None: a cookie from before it named one):
    putting it together cost more than running it on every request, and a row with the
    records of all three roles is twice as wide as it needs to be."""
    query = profiles.with_profiles(
        db.select(UserSession).options(joinedload(UserSession.account, innerjoin=True))
        .where(UserSession.id == bindparam("session_id")),
        UserSession.account_id, role,
    )
    if role not in (None, Role.PATIENT):
        return query
    return guardians.with_summary(query, UserSession.account_id, Patient.id)


def _cookie_role() -> str | None:
    """The role the signed cookie names: a hint for which record to read with the session,
    never trusted for access (the account's own role is what every rule checks)."""
    role = session.get("role")
    return role if role in profiles.PROFILE_MODELS else None


def load() -> UserSession | None:
    token = session.get("sid")
    if not token:
        return None
    role = _cookie_role()
    found = db.session.execute(_load_statement(role), {"session_id": _digest(token)}).first()
    row = found[0] if found is not None else None
    if row is not None and role in (None, row.account.role):
        profiles.remember(row.account, profiles.found_in(found, row.account, role))
        if row.account.role == Role.PATIENT:
            guardians.remember_summary(row.account, found.has_children, found.own_unread)
    if (
        row is None
        or row.revoked_at is not None
        or row.account.status
        in (
            AccountStatus.CLOSED,
            AccountStatus.BLOCKED,  # block() ends every session too; this holds if one survived
            AccountStatus.PENDING,
        )
    ):
        session.pop("sid", None)
        return None
    return row


def idle_lock_after(role: str) -> timedelta:
    return current_app.config["IDLE_LOCK"][role]


def seconds_until_lock(row: UserSession) -> float:
    deadline = row.last_activity_at + idle_lock_after(row.account.role)
    return (deadline - clock.now()).total_seconds()


def _expired(row: UserSession) -> str | None:
    now = clock.now()
    if now - row.created_at > current_app.config["SESSION_LIFETIME"]:
        return "lifetime"
    if now - row.last_activity_at > current_app.config["IDLE_SIGNOUT"]:
        return "idle"
    return None


def enforce(*, background: bool, while_locked: bool):
    """Load the session and apply its limits; returns a response when the request must stop."""
    outcome = _apply_limits(background=background, while_locked=while_locked)
    if outcome is None and g.user_session is not None and request.method not in SAFE_METHODS:
        _one_change_at_a_time()
    return outcome


SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def _one_change_at_a_time() -> None:
    """Requests that change something run one after the other for each account.

    A double click, a second tab or a browser resending a form are the same person acting
    twice at once: each request would read the state before the other wrote it (a consent
    withdrawn twice, a password changed twice, a sign-out audited twice). The account's row
    is locked until the request commits, and what the guard read is read again behind the
    lock. SQLite needs no lock: BEGIN IMMEDIATE already runs one writer at a time.

    Everything read before the lock is expired, the person behind the account (loaded with
    the session's row) included: a second request would otherwise decide on the values the
    first one was about to change."""
    row = g.user_session
    session_id, account_id = row.id, row.account_id
    db.session.expire_all()
    guardians.forget_summary()
    account = db.session.scalar(db.select(Account).where(Account.id == account_id).with_for_update())
    fresh = db.session.get(UserSession, session_id) if account is not None else None
    if fresh is None or fresh.revoked_at is not None or account.status in (
        AccountStatus.CLOSED, AccountStatus.BLOCKED, AccountStatus.PENDING
    ):
        # Ended meanwhile (signed out, erased, password changed): this request is a visitor's.
        session.pop("sid", None)
        g.user_session = None
        g.account = None
        g.pop("_login_user", None)


def _apply_limits(*, background: bool, while_locked: bool):
    g.user_session = row = load()
    g.account = row.account if row else None
    if row is None:
        return None
    reason = _expired(row)
    if reason:
        audit.record(audit.SIGNED_OUT, actor=row.account, reason=reason)
        end_current(reason)
        db.session.commit()
        if while_locked:
            return None
        return htmx.redirect(url_for("auth.login", expired=1, next=current_path()))
    if row.locked_at is None and seconds_until_lock(row) <= 0:
        row.locked_at = clock.now()
        audit.record(audit.SESSION_LOCKED, actor=row.account)
        db.session.commit()
    if row.locked_at is not None:
        if while_locked:
            return None
        return htmx.redirect(url_for("auth.unlock", next=current_path()))
    if not background and clock.now() - row.last_activity_at >= ACTIVITY_WRITE_INTERVAL:
        row.last_activity_at = clock.now()
        _commit_keeping_loaded()
    return None


def _commit_keeping_loaded() -> None:
    """Commit the activity time without expiring what the request loaded so far.

    Only the session row changed, and it holds the value just written; expired, the row
    and its account would each be read again by the next line that touches them."""
    session = db.session()
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True


def unlock(row: UserSession) -> None:
    row.locked_at = None
    row.last_activity_at = clock.now()
