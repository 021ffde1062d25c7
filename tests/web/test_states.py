"""States in words and tones: one table (portal/web/states.py) for every list and page, and
the words carry a context, so French and German read them as states, not as dates."""

from __future__ import annotations

import re

import pytest

from portal.claims import sharing
from portal.extensions import db
from portal.models import ClaimState
from portal.web import states
from tests.fixtures.clients import page


def test_every_state_has_words_and_one_of_the_tones():
    assert set(states.STATES["claim"]) == set(ClaimState.ALL)
    assert set(states.STATES["invoice"]) == {"issued", "shared", "voided", "expired"}
    for kind in states.STATES.values():
        assert all(found.tone in states.TONES for found in kind.values())


def test_what_waits_never_has_the_tone_of_what_was_accepted():
    accepted = states.state("claim", "accepted").tone
    for waiting in ClaimState.OPEN:
        assert states.state("claim", waiting).tone == states.WAITING != accepted
    assert states.state("code", "pending").tone == states.WAITING != states.state("code", "used").tone


def test_an_unknown_state_fails_loudly():
    with pytest.raises(KeyError):
        states.state("claim", "lost")


def _badges(response) -> list[tuple[str, str]]:
    """(words, tone) of every state badge on the page."""
    found = []
    for badge in page(response).select("span.state"):
        tone = next(name.removeprefix("tone-") for name in badge["class"] if name.startswith("tone-"))
        found.append((badge.get_text(strip=True), tone))
    return found


@pytest.mark.parametrize(("language", "issued", "sent"), [
    ("fr", "Émis", "Envoyé à la caisse"),
    ("de", "Ausgestellt", "An die Kasse gesendet"),
    ("en", "Issued", "Sent to the fund"),
])
def test_invoice_states_read_as_states_in_each_language(patient_client, people, make_invoice, language, issued, sent):
    patient, doctor = people["patient"], people["doctor"]
    make_invoice(patient, doctor)
    shared = make_invoice(patient, doctor, days_ago=1)
    sharing.share(patient.profile, [shared], by=patient.account)
    db.session.commit()
    response = patient_client.get(f"/patient/invoices?lang={language}")
    assert _badges(response) == [(sent, "neutral"), (issued, "new")]
    # Not the label of a date ("Émis le", "Ausgestellt am"), which the context keeps apart.
    assert not re.search(r"Émis le|Ausgestellt am", page(response).select_one("#invoice-rows").get_text())


@pytest.mark.parametrize(("language", "waiting", "accepted", "withdrawn"), [
    ("fr", "En attente d'examen", "Acceptée", "Retirée"),
    ("de", "Wartet auf Prüfung", "Angenommen", "Zurückgezogen"),
    ("en", "Waiting for review", "Accepted", "Withdrawn"),
])
def test_claim_states_have_one_tone_for_patient_and_staff(patient_client, staff_client, people, make_claim, language,
                                                          waiting, accepted, withdrawn):
    patient, doctor, staff = people["patient"], people["doctor"], people["cns"]
    make_claim(patient, doctor, staff, state="accepted", days_ago=5)
    make_claim(patient, doctor, staff, state="withdrawn", days_ago=4)
    make_claim(patient, doctor, days_ago=3)
    expected = {(waiting, "waiting"), (accepted, "good"), (withdrawn, "neutral")}
    assert set(_badges(patient_client.get(f"/patient/claims?lang={language}"))) == expected
    assert set(_badges(staff_client.get(f"/cns/claims?state=&lang={language}"))) == expected
