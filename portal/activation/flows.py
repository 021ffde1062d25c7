"""The state of an activation under way, kept on the server (ActivationFlow).

The browser's signed cookie holds only the flow's id and the current step's secret. Signed is not
secret: anyone who copies the cookie holds the same two values. So every step that moves on
replaces the secret (a conditional UPDATE that only one request can win), and the last step
consumes the row: a copy taken at any earlier step, replayed later, matches nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from flask import session
from sqlalchemy import update

from portal import audit
from portal.accounts import contact_codes
from portal.core import clock
from portal.extensions import db
from portal.models import Account, ActivationCode, ActivationFlow

LIFETIME = timedelta(minutes=30)
KEY = "activation"


def _digest(secret: str) -> str:
    return hashlib.sha256(f"activation-flow:{secret}".encode()).hexdigest()


def _remember(flow_id: int, secret: str) -> None:
    session[KEY] = {"flow": flow_id, "secret": secret}


def forget() -> None:
    session.pop(KEY, None)


def begin(code: ActivationCode, *, step: str = "birth_date", account: Account | None = None) -> ActivationFlow:
    """A new flow for this browser, at the birth-date step; at `step` for `account` when a sign-in
    with the account's password takes up an unfinished activation (portal.activation.resume).
    The caller commits."""
    secret = secrets.token_urlsafe(32)
    now = clock.now()
    flow = ActivationFlow(code_id=code.id, step=step, secret_hash=_digest(secret), created_at=now,
                          expires_at=now + LIFETIME, account_id=account.id if account is not None else None)
    db.session.add(flow)
    db.session.flush()
    _remember(flow.id, secret)
    audit.record(audit.ACTIVATION_FLOW_STARTED, actor=None, patient_id=code.patient_id, code_id=code.id,
                 flow_id=flow.id)
    return flow


def current() -> ActivationFlow | None:
    """This browser's flow, while its secret is the current one and it is neither used up nor expired."""
    state = session.get(KEY)
    if not isinstance(state, dict) or not isinstance(state.get("flow"), int):
        forget()
        return None
    flow = db.session.get(ActivationFlow, state["flow"])
    if (flow is None or flow.consumed_at is not None or flow.expires_at <= clock.now()
            or not hmac.compare_digest(flow.secret_hash, _digest(str(state.get("secret", ""))))):
        forget()
        return None
    return flow


def advance(flow: ActivationFlow, step: str, *, account: Account | None = None) -> bool:
    """Move on to `step` under a new secret; False when another request holding the same secret
    (a copy of the cookie) moved the flow first. The caller commits."""
    secret = secrets.token_urlsafe(32)
    values = {"step": step, "secret_hash": _digest(secret)}
    if account is not None:
        values["account_id"] = account.id
    moved = db.session.execute(
        update(ActivationFlow)
        .where(ActivationFlow.id == flow.id, ActivationFlow.secret_hash == flow.secret_hash,
               ActivationFlow.consumed_at.is_(None))
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if moved != 1:
        forget()
        return False
    db.session.refresh(flow)
    _remember(flow.id, secret)
    return True


def consume(flow: ActivationFlow) -> bool:
    """End the flow for good (finished, or the code no longer usable); False if a copy of the
    cookie got there first. The caller commits."""
    ended = db.session.execute(
        update(ActivationFlow)
        .where(ActivationFlow.id == flow.id, ActivationFlow.secret_hash == flow.secret_hash,
               ActivationFlow.consumed_at.is_(None))
        .values(consumed_at=clock.now())
        .execution_options(synchronize_session=False)
    ).rowcount
    forget()
    return ended == 1


def binding(flow: ActivationFlow) -> str:
    """What the flow's contact code is bound to: stable for the flow, unlike the step's secret.
    Only a request holding the flow's current secret ever reaches a check with it."""
    return contact_codes.flow_digest(f"activation-flow:{flow.id}")
