"""Every state a person reads in a list or on a page, in words and in one tone.

The words carry a translation context ("invoice state", "claim state"...), so French and
German read them as a state ("Émise", "Ausgestellt"), not as the start of a date ("Émis le").
The tone is one of five, the same wherever the state appears (templates/components/states.html,
the "States" block of static/css/portal.css): what waits never looks like what was accepted.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_pgettext

WAITING = "waiting"  # someone still has to act: the fund, the patient, the staff
GOOD = "good"  # done, in the person's favour
BAD = "bad"  # refused, voided, revoked
NEUTRAL = "neutral"  # over without a decision: withdrawn, expired, already sent
NEW = "new"  # fresh, nothing decided yet: an invoice ready to send, an unread notice
TONES = (WAITING, GOOD, BAD, NEUTRAL, NEW)


@dataclass(frozen=True)
class State:
    label: object  # a lazy string, translated when shown
    tone: str


# The keys are the values the models store (Invoice: portal/invoicing/invoices.state_of,
# ClaimState, ActivationCode, ActivationRequest.status, DataRequest.state, Export.state).
STATES: dict[str, dict[str, State]] = {
    "invoice": {
        "issued": State(lazy_pgettext("invoice state", "Issued"), NEW),
        "shared": State(lazy_pgettext("invoice state", "Sent to the fund"), NEUTRAL),
        "voided": State(lazy_pgettext("invoice state", "Voided"), BAD),
        "expired": State(lazy_pgettext("invoice state", "Expired"), NEUTRAL),
    },
    "claim": {
        "shared": State(lazy_pgettext("claim state", "Waiting for review"), WAITING),
        "in_review": State(lazy_pgettext("claim state", "Under review"), WAITING),
        "info_requested": State(lazy_pgettext("claim state", "Information requested"), WAITING),
        "accepted": State(lazy_pgettext("claim state", "Accepted"), GOOD),
        "rejected": State(lazy_pgettext("claim state", "Rejected"), BAD),
        "withdrawn": State(lazy_pgettext("claim state", "Withdrawn"), NEUTRAL),
    },
    "code": {
        "pending": State(lazy_pgettext("activation code state", "Not used yet"), WAITING),
        "used": State(lazy_pgettext("activation code state", "Used"), GOOD),
        "expired": State(lazy_pgettext("activation code state", "Expired"), NEUTRAL),
        "revoked": State(lazy_pgettext("activation code state", "Revoked"), BAD),
    },
    "identity request": {
        "pending": State(lazy_pgettext("request state", "Waiting for a check"), WAITING),
        "approved": State(lazy_pgettext("request state", "Approved"), GOOD),
        "rejected": State(lazy_pgettext("request state", "Rejected"), BAD),
    },
    "data request": {
        "open": State(lazy_pgettext("request state", "Open"), WAITING),
        "done": State(lazy_pgettext("request state", "Done"), GOOD),
        "refused": State(lazy_pgettext("request state", "Refused"), BAD),
    },
    "export": {
        "queued": State(lazy_pgettext("export state", "Waiting to start"), WAITING),
        "building": State(lazy_pgettext("export state", "Being prepared"), WAITING),
    },
    "notice": {
        "new": State(lazy_pgettext("notice state", "New"), NEW),
    },
}


def state(kind: str, key: str) -> State:
    """The words and tone of a state; an unknown key is a bug, so it fails loudly (KeyError)."""
    return STATES[kind][key]


def labels(kind: str) -> dict[str, object]:
    """The states of a kind in words, in the table's order (for filters, counts and charts)."""
    return {key: found.label for key, found in STATES[kind].items()}
