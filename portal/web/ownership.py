"""Whose request this is, and which objects it may touch.

"The signed-in patient" is the person whose space the account is in: their own, or a child's a
parent chose (portal.guardians keeps the household). "The signed-in doctor" and "the signed-in
agent" are the registry records behind the account. An object is the caller's when the rule of
their role in RULES says so; anything else (another person's object, another fund's claim, an
id that does not exist) gets the same 404 and the same `access.refused` audit row, so the answer
never confirms that someone else's object exists.

Every view asks here instead of comparing owners itself: a rule written twice is a bug waiting
for its second half.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from flask import abort
from flask_login import current_user
from sqlalchemy import Select, false

from portal import accounts
from portal.accounts import consent, guardians
from portal.claims import review
from portal.extensions import db
from portal.models import ActivationCode, Claim, CnsStaff, Doctor, Invoice, Patient
from portal.web.access import refuse

# --- Who is asking -----------------------------------------------------------------------------


def acting_patient() -> Patient | None:
    """Whose space the signed-in patient is in; None for an account with no registry record."""
    return guardians.acting_patient(current_user)


def current_patient() -> Patient:
    patient = acting_patient()
    if patient is None:
        abort(404)
    return patient


def current_space() -> tuple[Patient | None, bool]:
    """The acting person, and whether this is the signed-in account's own space (a parent in a
    child's space acts for the child, not for themselves)."""
    person = acting_patient()
    return person, consent.is_own_space(person, current_user)


def enter_space(patient_id: int | None) -> Patient:
    """Enter a child's space, or one's own with None; a child who is not theirs is refused."""
    entered = guardians.switch(current_user, patient_id)
    if entered is None:
        refuse("patient", patient_id if patient_id and patient_id > 0 else None)
    return entered


def current_doctor() -> Doctor:
    return accounts.profile(current_user)


def current_agent() -> CnsStaff:
    return accounts.profile(current_user)


# --- Whose objects -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    kind: str  # what the refusal's audit row calls the object
    scope: Callable[[Select], Select]  # a query narrowed to the caller's objects


def _patients(model) -> Callable[[Select], Select]:
    def scope(query: Select) -> Select:
        patient = acting_patient()  # an account with no registry record owns nothing
        return query.where(model.patient_id == patient.id if patient is not None else false())

    return scope


def _doctors(model) -> Callable[[Select], Select]:
    return lambda query: query.where(model.doctor_id == current_doctor().id)


# (role, model) -> rule. An agent's claims are their fund's (every fund's with the CNS's scope).
RULES: dict[tuple[str, type], Rule] = {
    ("patient", Invoice): Rule("invoice", _patients(Invoice)),
    ("patient", Claim): Rule("claim", _patients(Claim)),
    ("doctor", Invoice): Rule("invoice", _doctors(Invoice)),
    ("doctor", ActivationCode): Rule("code", _doctors(ActivationCode)),
    ("cns", Claim): Rule("claim", lambda query: review.scoped(query, current_agent())),
}


def _rule(model: type) -> Rule:
    return RULES[(current_user.role, model)]


def scoped(query: Select, model: type) -> Select:
    """The query narrowed to the caller's rows of `model`."""
    return _rule(model).scope(query)


def own(model: type, object_id: int, *options):
    """The object if it is the caller's, loaded with `options`; 404 and an audit row otherwise."""
    rule = _rule(model)
    found = db.session.execute(
        rule.scope(db.select(model).where(model.id == object_id).options(*options))
    ).unique().scalar_one_or_none()
    if found is None:
        refuse(rule.kind, object_id)
    return found


def found_or_refused(found, kind: str, object_id: int):
    """What a lookup already narrowed to the caller found; 404 and an audit row for nothing."""
    if found is None:
        refuse(kind, object_id)
    return found


def own_invoice(invoice_id: int, *options) -> Invoice:
    return own(Invoice, invoice_id, *options)


def own_claim(claim_id: int, *options) -> Claim:
    return own(Claim, claim_id, *options)


def own_code(code_id: int, *options) -> ActivationCode:
    return own(ActivationCode, code_id, *options)


def own_row(query: Select, model: type, object_id: int):
    """The first row of a query about one object of `model` (with what its page shows besides),
    if that object is the caller's; 404 and an audit row otherwise."""
    rule = _rule(model)
    row = db.session.execute(rule.scope(query)).unique().first()
    if row is None:
        refuse(rule.kind, object_id)
    return row


def own_all(query: Select, model: type, ids: Iterable[int]) -> list:
    """The objects of a query about several `ids`, if every one is the caller's; otherwise the
    first id that is not is refused (404 and an audit row)."""
    return _every_one(db.session.scalars, query, model, ids)


def own_rows(query: Select, model: type, ids: Iterable[int], params: dict | None = None) -> list:
    """own_all for a query of columns (one of them `id`): its rows."""
    return _every_one(lambda scoped: db.session.execute(scoped, params), query, model, ids)


def _every_one(run: Callable, query: Select, model: type, ids: Iterable[int]) -> list:
    rule = _rule(model)
    found = run(rule.scope(query)).all()
    missing = sorted(set(ids) - {row.id for row in found})
    if missing:
        refuse(rule.kind, missing[0])
    return list(found)
