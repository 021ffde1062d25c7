"""The registry record behind an account (Patient, Doctor or CnsStaff), kept for the request."""

from __future__ import annotations

from flask import g
from sqlalchemy import Select

from portal.extensions import db
from portal.models import Account, CnsStaff, Doctor, Patient, Role

PROFILE_MODELS = {Role.PATIENT: Patient, Role.DOCTOR: Doctor, Role.CNS: CnsStaff}


def profile(account: Account):
    """Kept for the request: a doctor's or an agent's page asks for it more than once, and
    the strong reference keeps it in the session's identity map, where a lazy load of
    `invoice.doctor` or `event.staff` finds it instead of querying again. Usually it came
    with the session's row (with_profiles), and this asks nothing."""
    cached = g.get("profile")
    if cached is not None and cached[0] == account.id:
        return cached[1]
    model = PROFILE_MODELS[Role(account.role)]
    found = db.session.scalar(db.select(model).where(model.account_id == account.id))
    remember(account, found)
    return found


def remember(account: Account, found) -> None:
    g.profile = (account.id, found)


def with_profiles(query: Select, account_id, role: str | None = None) -> Select:
    """`query` with the registry record of `role` outer-joined on `account_id`, or with that of
    each role when the role is not known: at most one of the three is there (each account_id
    is unique), so the row stays one row."""
    for model in _joined(role):
        query = query.add_columns(model).outerjoin(model, model.account_id == account_id)
    return query


def found_in(row, account: Account, role: str | None = None):
    """The profile an outer-joined row (with_profiles, for `role`) holds for `account`'s role;
    None when the row was read for another role's record."""
    models = _joined(role)
    wanted = PROFILE_MODELS[Role(account.role)]
    return row[1 + models.index(wanted)] if wanted in models else None


def _joined(role: str | None) -> list[type]:
    return [PROFILE_MODELS[Role(role)]] if role is not None else list(PROFILE_MODELS.values())
