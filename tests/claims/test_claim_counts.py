"""The queue's kept counts (portal/claims/counts.py) always equal a COUNT(*) of the claims:
after hundreds of random steps through every operation that creates, moves, freezes or
erases a claim, and after many agents deciding at once (both databases)."""

from __future__ import annotations

import random
import threading

import pytest

from portal.claims import counts, qr, review, sharing, undo
from portal.claims.states import ClaimConflict
from portal.core.refused import DomainError
from portal.extensions import db
from portal.models import Claim, ClaimState, CnsStaff, Fund
from portal.privacy import erasure, rights
from tests.fixtures.claims import new_claim
from tests.fixtures.invoices import new_invoice

STEPS = 300
SEED = 19


ANY = ("take_up", "ask", "answer", "accept", "reject", "undo", "withdraw", "freeze", "lift")
LIKELY = {
    ClaimState.SHARED: ("take_up", "take_up", "withdraw", "freeze"),
    ClaimState.IN_REVIEW: ("ask", "accept", "reject", "freeze"),
    ClaimState.INFO_REQUESTED: ("answer", "freeze"),
    ClaimState.REJECTED: ("undo",),
}


class World:
    def __init__(self, make_patient, make_doctor, make_staff):
        self.patients = [make_patient(fund=fund) for fund in (Fund.CNS, Fund.CNS, Fund.CMFEP, Fund.CMFEC, Fund.EMCFL)]
        self.doctor, self.staff = make_doctor(), make_staff()
        self.claims: list[tuple[Claim, object]] = []  # (claim, its patient Person)

    def share(self, rng):
        patient = rng.choice(self.patients)
        (claim,) = sharing.share(patient.profile, [new_invoice(patient, self.doctor)], by=patient.account)
        self.claims.append((claim, patient))

    def paper(self, rng):
        patient = rng.choice(self.patients)
        invoice = new_invoice(patient, self.doctor, paid_on_site=False)
        claim, problem = review.intake_paper(qr.qr_payload(invoice), self.staff.profile)
        assert problem is None
        self.claims.append((claim, patient))

    def step(self, rng, claim: Claim, patient):
        agent = self.staff.profile
        # Mostly a step the claim's state allows, so that claims go far; else any step, refused.
        likely = ("lift",) if claim.frozen_at else LIKELY.get(claim.state, ())
        action = rng.choice(likely if likely and rng.random() < 0.7 else ANY)
        if action == "take_up":
            review.take_up(claim, agent)
        elif action == "ask":
            review.request_info(claim, agent, "Which accident?", version=claim.version)
        elif action == "answer":
            sharing.answer(claim, "At home.", by=patient.account)
        elif action == "accept":
            review.accept(claim, agent, version=claim.version, iban_checked=True)
        elif action == "reject":
            review.reject(claim, agent, version=claim.version, reason="duplicate")
        elif action == "undo":
            undo.undo(claim, agent, version=claim.version)
        elif action == "withdraw":
            sharing.withdraw(claim, by=patient.account)
        elif action == "freeze":
            rights.freeze(claim, by=patient.account)
        else:
            rights.unfreeze(claim, by=patient.account)


def _agree():
    db.session.flush()
    assert counts.kept() == counts.counted()


def test_the_counts_equal_the_claims_after_random_steps(make_patient, make_doctor, make_staff):
    rng = random.Random(SEED)
    world = World(make_patient, make_doctor, make_staff)
    refused = done = 0
    seen: set[str] = set()  # the states claims went through, "frozen" for a freeze
    for number in range(1, STEPS + 1):
        if not world.claims or rng.random() < 0.25:
            (world.paper if rng.random() < 0.3 else world.share)(rng)
        else:
            claim, patient = rng.choice(world.claims[-12:])  # recent claims, so that they go far
            try:
                world.step(rng, claim, patient)
                done += 1
                seen.add("frozen" if claim.frozen_at else claim.state)
            except DomainError:  # not possible in the claim's state: nothing changed
                refused += 1
                db.session.refresh(claim)
        if number % 25 == 0:
            _agree()
        if number == STEPS * 2 // 3:  # a patient erased with claims in every state
            gone = world.patients.pop(0)
            erasure.erase(gone.profile, gone.account)
            world.claims = [(claim, patient) for claim, patient in world.claims if patient is not gone]
            _agree()
    _agree()
    # The walk went through real changes and real refusals, in every state.
    assert done > 30 and refused > 30
    assert seen >= {*ClaimState.ALL, "frozen"} - {ClaimState.SHARED}  # shared: where every claim starts


def test_recount_repairs_counts_that_drifted(make_patient, make_doctor, make_staff, make_claim):
    patient, doctor, staff = make_patient(), make_doctor(), make_staff()
    for state in ("shared", "in_review", "accepted"):
        make_claim(patient, doctor, staff, state=state)
    truth = counts.counted()
    counts.shift({(Fund.CNS, ClaimState.SHARED, "digital"): 5, (Fund.EMCFL, ClaimState.ACCEPTED, "paper_qr"): 2})
    assert counts.kept() != truth
    counts.recount()
    assert counts.kept() == truth == {
        (Fund.CNS, state, "digital"): 1 for state in (ClaimState.SHARED, ClaimState.IN_REVIEW, ClaimState.ACCEPTED)
    }


PARALLEL = 12


@pytest.mark.committing
def test_agents_deciding_at_once_keep_the_counts_exact(app, make_patient, make_doctor, make_staff):
    """Each agent takes up and decides their own claim, two agents race for one more: the
    counts lose no step and count no step twice."""
    patient, doctor = make_patient(), make_doctor()
    agents = [make_staff().profile.id for _ in range(PARALLEL)]
    claim_ids = [new_claim(patient, doctor).id for _ in range(PARALLEL)]
    contested = new_claim(patient, doctor).id
    db.session.close()
    barrier = threading.Barrier(PARALLEL, timeout=30)
    errors, lost = [], []

    def decide(number: int):
        barrier.wait()  # before touching the database (SQLite: the first write takes the lock)
        with app.app_context():
            try:
                agent = db.session.get(CnsStaff, agents[number])
                for claim_id in (claim_ids[number], contested):
                    claim = db.session.get(Claim, claim_id)
                    try:
                        review.take_up(claim, agent)
                    except ClaimConflict:
                        lost.append(claim_id)
                        db.session.rollback()
                        continue
                    if number % 2:
                        review.accept(claim, agent, version=claim.version)
                    else:
                        review.reject(claim, agent, version=claim.version, reason="duplicate")
                    db.session.commit()
            except Exception as exc:  # collected: a thread's exception would otherwise vanish
                errors.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=decide, args=(number,)) for number in range(PARALLEL)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert lost == [contested] * (PARALLEL - 1)
    assert counts.kept() == counts.counted() == {
        (Fund.CNS, ClaimState.ACCEPTED, "digital"): PARALLEL // 2 + (1 if _decided_by_odd(contested, agents) else 0),
        (Fund.CNS, ClaimState.REJECTED, "digital"): PARALLEL // 2 + (0 if _decided_by_odd(contested, agents) else 1),
    }


def _decided_by_odd(claim_id: int, agents: list[int]) -> bool:
    taker = db.session.scalar(db.select(Claim.taken_by_id).where(Claim.id == claim_id))
    return agents.index(taker) % 2 == 1
