"""A new mobile number or e-mail address is used only once a code sent to it came back: a typo
would otherwise send the owner's codes and alerts to a stranger, and someone holding a session
could point them at their own phone. Removing a contact needs no code (nothing is sent there)."""

from __future__ import annotations

from portal.accounts import contact_codes
from portal.models import Account, Patient
from portal.privacy import rights

WAITING = "new_contacts"  # the browser's cookie key while the codes are on their way
PURPOSES = {"mobile": ("sms", "new_mobile"), "email": ("email", "new_email")}


def to_confirm(patient: Patient, mobile: str | None, email: str | None) -> dict[str, str]:
    """The new addresses among these values (field name → address): each needs its code."""
    wanted = {"mobile": mobile, "email": email}
    return {name: value for name, value in wanted.items() if value and value != getattr(patient, name)}


def save(patient: Patient, *, mobile: str | None, email: str | None, language: str | None,
         by: Account) -> tuple[list[str], dict[str, str]]:
    """What the contact form asks: the language and a removal apply now, a new address waits for
    its code. Returns (the fields changed now, the new addresses a code was sent to). The caller
    commits."""
    new = to_confirm(patient, mobile, email)
    changed = rights.update_contact(patient, mobile=patient.mobile if new else mobile,
                                    email=patient.email if new else email, language=language, by=by)
    if new:
        account = patient.account
        send_codes(patient, new, mobile=mobile, email=email,
                   language=(account.preferred_language if account else None) or "fr")
    return changed, new


def send_codes(patient: Patient, new: dict[str, str], *, mobile: str | None, email: str | None,
               language: str) -> None:
    """Send a code to each new address and remember, in this browser, the change they confirm.
    The caller commits."""
    bound_to = contact_codes.wait_in_browser(WAITING, patient_id=patient.id, mobile=mobile, email=email,
                                             new=sorted(new))
    for name, address in new.items():
        channel, purpose = PURPOSES[name]
        contact_codes.send_to(patient, channel, address, purpose, bound_to=bound_to, language=language)


def waiting(patient: Patient) -> dict | None:
    """The change this browser waits to confirm for this person: its values and `new`, the fields
    that need a code."""
    step = contact_codes.waiting_in_browser(WAITING)
    return step if step and step.get("patient_id") == patient.id else None


def confirm(patient: Patient, step: dict, codes: dict[str, str], *, by: Account) -> bool:
    """Check the typed code of every new address (each try counts); when all are right the change
    applies, with its alerts to the old contacts too. The caller commits either way."""
    bound_to = contact_codes.binding_in_browser(WAITING)
    results = [contact_codes.check(PURPOSES[name][1], bound_to=bound_to, code=codes.get(name, ""))
               for name in step["new"]]
    if not all(results):
        return False
    rights.update_contact(patient, mobile=step["mobile"], email=step["email"], language=None, by=by)
    return True
