"""A parent's access to their children's spaces, which ends when the child turns 18."""

from __future__ import annotations

from flask import g, session

from portal import audit, clock
from portal.activation.codes import is_minor
from portal.extensions import db
from portal.models import Account, GuardianLink, Patient


def children_of(parent: Account) -> list[Patient]:
    """The children whose space this parent may open today; links past 18 are ended."""
    links = db.session.scalars(
        db.select(GuardianLink).where(GuardianLink.parent_account_id == parent.id, GuardianLink.ended_at.is_(None))
    ).all()
    children = []
    for link in links:
        if is_minor(link.child):
            children.append(link.child)
        else:
            link.ended_at = clock.now()
            link.ended_reason = "adult"
            audit.record(
                audit.GUARDIAN_LINK_ENDED, actor=parent, patient_id=link.child_patient_id,
                child_patient_id=link.child_patient_id, reason="adult",
            )
    if len(children) != len(links):
        db.session.commit()
    return sorted(children, key=lambda child: child.given_name)


def own_patient(account: Account) -> Patient | None:
    return db.session.scalar(db.select(Patient).where(Patient.account_id == account.id))


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
