"""A parent's access to their children's spaces, which ends when the child turns 18."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import g, session
from sqlalchemy import Integer, cast, null, union_all

from portal import audit
from portal.accounts import profiles
from portal.core import clock
from portal.core.identity import is_minor
from portal.extensions import db
from portal.models import Account, GuardianLink, Notification, Patient


@dataclass
class Household:
    """A patient account's own registry record, the children whose space it may open
    today, and the unread notices of each space."""

    account_id: int
    own: Patient | None = None
    children: list[Patient] = field(default_factory=list)
    unread: dict[int, int] = field(default_factory=dict)  # patient id -> unread notices


def with_summary(query, account_id, patient_id):
    """`query` (the session's row) with what the header shows of a household that is the
    patient alone: whether a child's space is open to the account, and the patient's unread
    notices. Most accounts have no child, so most pages need no household query."""
    linked = db.select(GuardianLink.id).where(
        GuardianLink.parent_account_id == account_id, GuardianLink.ended_at.is_(None)
    ).exists()
    return query.add_columns(linked.label("has_children"), _unread_of(patient_id).label("own_unread"))


def remember_summary(account: Account, has_children: bool, own_unread: int) -> None:
    g.household_summary = (account.id, bool(has_children), own_unread)


def forget_summary() -> None:
    """What was read with the session is stale once a change is about to be made."""
    g.pop("household_summary", None)
    g.pop("household", None)


def _unread_of(patient_id):
    return (
        db.select(db.func.count()).select_from(Notification)
        .where(Notification.patient_id == patient_id, Notification.is_new)
        .scalar_subquery()
    )


def household(account: Account) -> Household:
    """Every patient page needs it (the space, the account menu, the notice counter), so
    it comes in one query, once per request: the own record and the children by a UNION,
    each with its unread count. Links past the child's 18th birthday are ended here.
    Without any child, what the session's statement read is the whole household."""
    cached = g.get("household")
    if cached is not None and cached.account_id == account.id:
        return cached
    summary = g.get("household_summary")
    if summary is not None and summary[0] == account.id and not summary[1]:
        own = profiles.profile(account)
        g.household = Household(account.id, own=own, unread={own.id: summary[2]} if own is not None else {})
        return g.household
    members = union_all(
        db.select(Patient.id.label("patient_id"), cast(null(), Integer).label("link_id"))
        .where(Patient.account_id == account.id),
        db.select(GuardianLink.child_patient_id, GuardianLink.id)
        .where(GuardianLink.parent_account_id == account.id, GuardianLink.ended_at.is_(None)),
    ).subquery()
    rows = db.session.execute(
        db.select(Patient, members.c.link_id, _unread_of(Patient.id)).join(members, members.c.patient_id == Patient.id)
    ).all()
    found = Household(account.id)
    grown_up = []
    for patient, link_id, count in rows:
        found.unread[patient.id] = count
        if link_id is None:
            found.own = patient
        elif is_minor(patient):
            found.children.append(patient)
        else:
            grown_up.append(link_id)
    found.children.sort(key=lambda child: child.given_name)
    if grown_up:
        _end_links(account, grown_up)
    g.household = found
    return found


def _end_links(parent: Account, link_ids: list[int]) -> None:
    for link in db.session.scalars(db.select(GuardianLink).where(GuardianLink.id.in_(link_ids))):
        link.ended_at = clock.now()
        link.ended_reason = "adult"
        audit.record(
            audit.GUARDIAN_LINK_ENDED, actor=parent, patient_id=link.child_patient_id,
            child_patient_id=link.child_patient_id, reason="adult",
        )
    db.session.commit()


def children_of(parent: Account) -> list[Patient]:
    """The children whose space this parent may open today; links past 18 are ended."""
    return household(parent).children


def own_patient(account: Account) -> Patient | None:
    # The account's own record came with the session's row: no need for the household here.
    return profiles.profile(account)


def unread_count(account: Account, patient: Patient | None) -> int:
    """New notices of one of the account's spaces: what its list of notices marks "New"."""
    if patient is None:
        return 0
    return household(account).unread.get(patient.id, 0)


def notices_read(patient_id: int, count: int) -> None:
    """`count` of the space's notices were just read: the counter rendered next says so."""
    found = g.get("household")
    if found is not None and patient_id in found.unread:
        found.unread[patient_id] = max(found.unread[patient_id] - count, 0)


def acting_patient(account: Account) -> Patient | None:
    """Whose space the signed-in patient is in: their own, or a child's they chose."""
    if "acting_patient" in g:
        return g.acting_patient
    chosen = session.get("space")
    patient = None
    if chosen:
        patient = next((child for child in children_of(account) if child.id == chosen), None)
        if patient is None:
            session.pop("space", None)
    g.acting_patient = patient or own_patient(account)
    return g.acting_patient


def switch(account: Account, patient_id: int | None) -> Patient | None:
    """Enter a child's space (or one's own with None); returns the patient now acted for."""
    # A link made earlier in this request (a parent activating a child) must count.
    forget_summary()
    if patient_id is None:
        session.pop("space", None)
        g.pop("acting_patient", None)
        return own_patient(account)
    child = next((c for c in children_of(account) if c.id == patient_id), None)
    if child is None:
        return None
    session["space"] = child.id
    g.pop("acting_patient", None)
    audit.record(audit.SPACE_SWITCHED, patient_id=child.id, to_patient_id=child.id)
    return child
