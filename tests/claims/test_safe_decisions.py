"""Decisions an agent cannot make by accident: a reason chosen on purpose, the decision restated
for confirmation before anything is saved, the next waiting claim after it, and a rejection the
agent can undo for a few minutes, while the patient has not read it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from portal.claims import undo
from portal.core import clock
from portal.extensions import db
from portal.models import AuditEvent, Claim, ClaimState, Fund, NoticeKind, Notification
from tests.fixtures.clients import page, signed_in_as, text_of, url_for

TOO_LATE = "This decision can no longer be undone"


@pytest.fixture
def desk(app, make_patient, make_doctor, make_staff):
    patient, doctor, staff = make_patient(), make_doctor(), make_staff()
    return patient, doctor, staff, signed_in_as(app, staff, lang="en")


def fresh(claim: Claim) -> Claim:
    db.session.expire_all()
    return db.session.get(Claim, claim.id)


def audited(name: str) -> list[dict]:
    return [event.data for event in db.session.scalars(db.select(AuditEvent).where(AuditEvent.event == name))]


def notices(claim: Claim) -> list[Notification]:
    return list(db.session.scalars(db.select(Notification).where(Notification.claim_id == claim.id)))


def nothing_saved(claim: Claim) -> None:
    claim = fresh(claim)
    assert claim.state == ClaimState.IN_REVIEW and claim.decided_at is None
    assert audited("claim.decided") == [] and notices(claim) == []


def posted(form) -> dict:
    """What a browser sends for `form` as the page fills it in."""
    data = {field["name"]: field.get("value", "") for field in form.select("input[name]")
            if field.get("type") not in ("submit", "checkbox")}
    for select in form.select("select[name]"):
        chosen = select.select_one("option[selected]") or select.select_one("option")
        data[select["name"]] = chosen.get("value", "")
    return data


def test_no_reason_is_chosen_in_advance_and_the_form_sent_as_it_came_saves_nothing(desk, make_claim):
    patient, doctor, staff, client = desk
    claim = make_claim(patient, doctor, staff, state="in_review")
    detail = page(client.get(url_for("cns.claim", claim_id=claim.id)))
    options = detail.select("#reason option")
    assert options[0]["value"] == "" and options[0].get_text() == "Choose a reason"
    assert [option for option in options if option.has_attr("selected")] in ([], [options[0]])
    form = detail.select_one("form[action$='/reject']")
    refused = client.post(form["action"], data=posted(form))
    assert refused.status_code == 400
    summary = page(refused).select_one(".error-summary")
    assert summary is not None and summary.has_attr("autofocus") and summary["tabindex"] == "-1"
    link = summary.select_one("a[href='#reason']")
    assert link is not None and "Choose the reason for the rejection." in link.get_text()
    assert page(refused).select_one("#reason")  # the link's target exists
    nothing_saved(claim)


def test_a_rejection_is_restated_and_saved_only_once_confirmed(desk, make_claim):
    patient, doctor, staff, client = desk
    claim = make_claim(patient, doctor, staff, state="in_review")
    url = url_for("cns.reject_claim", claim_id=claim.id)
    asked = client.post(url, data={"version": claim.version, "reason": "other", "note": "Act done abroad."})
    assert asked.status_code == 200
    text = text_of(asked)
    for expected in (f"Reject claim {claim.reference}?", "Nothing is saved yet", "Marie Kremer",
                     patient.profile.matricule, "0.00 €", "Other reason (explain below)", "Act done abroad."):
        assert expected in text, expected
    nothing_saved(claim)

    confirm = page(asked).select_one(f"form[action='{url}']")
    assert confirm.select_one("input[name=confirmed]")["value"] == "y"
    done = client.post(url, data=posted(confirm))
    assert done.status_code == 303
    claim = fresh(claim)
    assert (claim.state, claim.rejection_reason, claim.rejection_note) == ("rejected", "other", "Act done abroad.")
    assert audited("claim.decided") == [{"claim_id": claim.id, "decision": "rejected", "reason": "other"}]


@pytest.mark.parametrize("confirmed", [None, "", "n", "false"])
def test_a_forged_post_without_confirmation_gets_the_confirmation_page(desk, make_claim, confirmed):
    patient, doctor, staff, client = desk
    claim = make_claim(patient, doctor, staff, state="in_review")
    data = {"version": claim.version, "reason": "duplicate"}
    if confirmed is not None:
        data["confirmed"] = confirmed
    response = client.post(url_for("cns.reject_claim", claim_id=claim.id), data=data)
    assert response.status_code == 200
    assert page(response).select_one("input[type=submit][value='Confirm: reject the claim']")
    nothing_saved(claim)


def test_a_rule_the_domain_checks_is_shown_before_the_confirmation(desk, make_claim):
    patient, doctor, staff, client = desk
    claim = make_claim(patient, doctor, staff, state="in_review")
    refused = client.post(url_for("cns.reject_claim", claim_id=claim.id), data={"version": claim.version, "reason": "other"})
    assert refused.status_code == 400
    assert page(refused).select_one(".error-summary a[href='#note']")
    nothing_saved(claim)


def test_another_amount_is_confirmed_with_its_reason_the_computed_one_is_not(desk, make_claim):
    patient, doctor, staff, client = desk
    claim = make_claim(patient, doctor, staff, state="in_review")
    url = url_for("cns.accept_claim", claim_id=claim.id)
    asked = client.post(url, data={"version": claim.version, "amount": "20,00", "reason": "other",
                                   "note": "Only one act."})
    assert asked.status_code == 200
    text = text_of(asked)
    for expected in (f"Accept claim {claim.reference} with another amount?", "20.00 €", "Only one act.",
                     "Another reason, explained in the note",
                     "an acceptance cannot be undone"):
        assert expected in text, expected
    nothing_saved(claim)
    done = client.post(url, data=posted(page(asked).select_one(f"form[action='{url}']")))
    assert done.status_code == 303
    assert (fresh(claim).state, fresh(claim).reimbursed_cents) == ("accepted", 2000)

    other = make_claim(patient, doctor, staff, state="in_review")
    direct = client.post(url_for("cns.accept_claim", claim_id=other.id),
                         data={"version": other.version, "amount": f"{other.computed_cents / 100:.2f}"})
    assert direct.status_code == 303 and fresh(other).state == ClaimState.ACCEPTED


def test_after_a_decision_the_agent_lands_on_the_claim_waiting_longest_in_their_scope(
        app, make_patient, make_doctor, make_staff, make_claim):
    doctor, agent = make_doctor(), make_staff(fund=Fund.CMFEP)
    member, outsider = make_patient(fund=Fund.CMFEP), make_patient(fund=Fund.CNS, given_name="Paul")
    client = signed_in_as(app, agent, lang="en")
    decided = make_claim(member, doctor, agent, state="in_review", days_ago=1)
    make_claim(outsider, doctor, days_ago=30)  # waits longest, but another fund's
    newer = make_claim(member, doctor, days_ago=2)
    older = make_claim(member, doctor, days_ago=5)
    newer.shared_at, older.shared_at = clock.now() - timedelta(days=1), clock.now() - timedelta(days=3)
    db.session.commit()
    done = client.post(url_for("cns.reject_claim", claim_id=decided.id),
                       data={"version": decided.version, "reason": "duplicate", "confirmed": "y"})
    assert done.headers["Location"] == url_for("cns.claim", claim_id=older.id, decided=decided.id)
    landed = client.get(done.headers["Location"])
    panel = page(landed).select_one("#decision-done")
    assert panel is not None and panel.has_attr("autofocus")
    assert f"Claim {decided.reference} rejected" in panel.get_text()

    for claim in (older, newer):
        claim.state = ClaimState.WITHDRAWN
    db.session.commit()
    last = make_claim(member, doctor, agent, state="in_review")
    done = client.post(url_for("cns.reject_claim", claim_id=last.id),
                       data={"version": last.version, "reason": "duplicate", "confirmed": "y"})
    assert done.headers["Location"] == url_for("cns.claims", decided=last.id)  # nothing waits: the queue


def test_a_decided_panel_for_a_claim_out_of_scope_shows_nothing(app, desk, make_patient, make_staff, make_claim):
    patient, doctor, staff, _client = desk
    claim = make_claim(patient, doctor, staff, state="rejected")
    outsider = signed_in_as(app, make_staff(fund=Fund.CMFEP), lang="en")
    response = outsider.get(url_for("cns.claims", decided=claim.id))
    assert response.status_code == 200 and claim.reference not in text_of(response)


def _rejected_by(client, claim) -> Claim:
    response = client.post(url_for("cns.reject_claim", claim_id=claim.id),
                           data={"version": claim.version, "reason": "duplicate", "confirmed": "y"})
    assert response.status_code == 303
    return fresh(claim)


def test_the_agent_undoes_a_rejection_within_the_window(desk, make_claim):
    patient, doctor, staff, client = desk
    claim = _rejected_by(client, make_claim(patient, doctor, staff, state="in_review"))
    assert [notice.kind for notice in notices(claim)] == [NoticeKind.CLAIM_REJECTED]
    landed = page(client.get(url_for("cns.claims", decided=claim.id)))
    form = landed.select_one(f"form[action='{url_for('cns.undo_decision', claim_id=claim.id)}']")
    assert form is not None and "You can undo this rejection until" in landed.select_one("#decision-done").get_text()
    undone = client.post(form["action"], data=posted(form), follow_redirects=True)
    assert "is undone: the claim is back in review with you" in text_of(undone)
    claim = fresh(claim)
    assert (claim.state, claim.decided_at, claim.rejection_reason) == (ClaimState.IN_REVIEW, None, None)
    assert notices(claim) == []  # the patient is no longer told of a rejection that is not
    assert [event.kind for event in claim.events][-2:] == ["rejected", "decision_undone"]
    assert audited("claim.decision_undone") == [{"claim_id": claim.id, "decision": "rejected", "reason": "duplicate"}]
    assert page(undone).select_one("form[action$='/reject']")  # to decide again


def _undo(client, claim):
    return client.post(url_for("cns.undo_decision", claim_id=claim.id), data={"version": claim.version},
                       follow_redirects=True)


def test_no_undo_after_the_window(desk, make_claim):
    patient, doctor, staff, client = desk
    claim = _rejected_by(client, make_claim(patient, doctor, staff, state="in_review"))
    clock.freeze(clock.now() + undo.WINDOW + timedelta(seconds=1))
    try:
        assert not page(client.get(url_for("cns.claim", claim_id=claim.id))).select("form[action$='/undo']")
        assert TOO_LATE in text_of(_undo(client, claim))
    finally:
        clock.freeze(None)
    assert fresh(claim).state == ClaimState.REJECTED and audited("claim.decision_undone") == []


def test_no_undo_once_the_patient_read_the_notice(desk, make_claim):
    patient, doctor, staff, client = desk
    claim = _rejected_by(client, make_claim(patient, doctor, staff, state="in_review"))
    for notice in notices(claim):
        notice.read_at = clock.now()
    db.session.commit()
    assert TOO_LATE in text_of(_undo(client, claim))
    assert fresh(claim).state == ClaimState.REJECTED and len(notices(claim)) == 1


def test_no_undo_of_a_claim_the_patient_froze_meanwhile(desk, make_claim):
    """The undo is a change to the claim like any other: a freeze stops it too."""
    patient, doctor, staff, client = desk
    claim = _rejected_by(client, make_claim(patient, doctor, staff, state="in_review"))
    claim.frozen_at = clock.now()
    db.session.commit()
    refused = _undo(client, claim)
    assert "The patient has frozen this claim" in text_of(refused)
    assert fresh(claim).state == ClaimState.REJECTED and audited("claim.decision_undone") == []


def test_no_undo_by_another_agent_nor_of_an_acceptance(app, desk, make_claim, make_staff):
    patient, doctor, staff, client = desk
    claim = _rejected_by(client, make_claim(patient, doctor, staff, state="in_review"))
    colleague = signed_in_as(app, make_staff(), lang="en")
    assert not page(colleague.get(url_for("cns.claim", claim_id=claim.id))).select("form[action$='/undo']")
    assert TOO_LATE in text_of(_undo(colleague, claim))
    assert fresh(claim).state == ClaimState.REJECTED

    accepted = make_claim(patient, doctor, staff, state="in_review")
    client.post(url_for("cns.accept_claim", claim_id=accepted.id),
                data={"version": accepted.version, "amount": f"{accepted.computed_cents / 100:.2f}"})
    accepted = fresh(accepted)
    assert accepted.state == ClaimState.ACCEPTED
    assert not page(client.get(url_for("cns.claims", decided=accepted.id))).select("form[action$='/undo']")
    assert TOO_LATE in text_of(_undo(client, accepted))
    assert fresh(accepted).state == ClaimState.ACCEPTED


def test_a_stale_undo_form_changes_nothing(desk, make_claim):
    patient, doctor, staff, client = desk
    claim = _rejected_by(client, make_claim(patient, doctor, staff, state="in_review"))
    stale = client.post(url_for("cns.undo_decision", claim_id=claim.id), data={"version": claim.version - 1},
                        follow_redirects=True)
    assert TOO_LATE in text_of(stale)
    assert fresh(claim).state == ClaimState.REJECTED and len(notices(claim)) == 1


def test_changing_the_decision_goes_back_to_the_form_as_it_was_filled(desk, make_claim):
    patient, doctor, staff, client = desk
    claim = make_claim(patient, doctor, staff, state="in_review")
    url = url_for("cns.reject_claim", claim_id=claim.id)
    asked = client.post(url, data={"version": claim.version, "reason": "other", "note": "Act done abroad."})
    data = posted(page(asked).select_one(f"form[action='{url}']"))
    back = client.post(url, data={**data, "change": "Change the decision"})
    assert back.status_code == 200
    form = page(back).select_one("form[action$='/reject']")
    assert form.select_one("#reason option[selected]")["value"] == "other"
    assert form.select_one("#note").get_text().strip() == "Act done abroad."  # a textarea opens with a newline
    nothing_saved(claim)
