"""The home pages say what each person has to do: counts, each scoped to the person (or the
fund), each linking to the work."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from portal.claims import overview, review, sharing
from portal.core import clock
from portal.extensions import db
from portal.invoicing import invoices
from portal.models import Claim, Fund, Invoice, UserSession
from portal.privacy import rights
from tests.fixtures.claims import new_claim
from tests.fixtures.clients import page, sign_in, signed_in_as, url_for
from tests.fixtures.invoices import direct_doctor, new_invoice

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _release_clock():
    yield
    clock.freeze(None)


def tasks(response) -> dict[str, str]:
    """Each task of the home page: its words (count first) -> where its link leads."""
    assert response.status_code == 200
    return {" ".join(a.get_text(" ").split()): a["href"] for a in page(response).select("ul.tasks a")}


def task(response, words: str) -> tuple[str, str]:
    """The one task whose words contain `words`, as (words, link)."""
    found = [(text, href) for text, href in tasks(response).items() if words in text]
    assert len(found) == 1, (words, tasks(response))
    return found[0]


# --- Invoices that can be sent: the SQL says what why_not_shareable says -------------------------


def test_the_count_of_shareable_invoices_follows_the_sharing_rule(make_patient, make_doctor, make_staff):
    patient, doctor, staff = make_patient(), make_doctor(), make_staff()
    made = {
        "plain": new_invoice(patient, doctor),
        "paper": new_invoice(patient, doctor, paid_on_site=False),
        "third_party": new_invoice(patient, doctor, payer_is_patient=False),
        "voided": new_invoice(patient, doctor),
        "expired": new_invoice(patient, doctor),
        "shared": new_claim(patient, doctor).invoice,
        "withdrawn": new_claim(patient, doctor, state="withdrawn").invoice,  # can be sent again
        "accepted": new_claim(patient, doctor, staff, state="accepted").invoice,
        "direct": new_invoice(patient, direct_doctor(), settlement="direct"),
    }
    invoices.void(made["voided"], "wrong act")
    made["expired"].expires_at = clock.now() - timedelta(seconds=1)
    db.session.commit()
    by_rule = {name for name, invoice in made.items() if sharing.why_not_shareable(invoice) is None}
    assert by_rule == {"plain", "withdrawn"}
    by_sql = set(db.session.scalars(
        db.select(Invoice.id).where(Invoice.patient_id == patient.profile.id,
                                    *sharing.shareable_conditions(clock.now()))
    ))
    assert by_sql == {made[name].id for name in by_rule}


# --- The patient ---------------------------------------------------------------------------------


def test_the_patients_home_counts_only_their_own_things(app, make_patient, make_doctor, make_staff):
    patient, doctor, staff = make_patient(), make_doctor(), make_staff()
    other = make_patient(given_name="Luc", surname="Weber")
    for person in (patient, other):
        new_invoice(person, doctor)
        new_invoice(person, doctor)
        asked = new_claim(person, doctor, staff, state="info_requested")
        new_claim(person, doctor, staff, state="in_review")
        new_claim(person, doctor)
        paid = new_claim(person, doctor, staff, state="accepted", acts=(("C1", 2),))
    new_claim(other, doctor, staff, state="info_requested")  # one more, on the other side only

    home = signed_in_as(app, patient, lang="en").get(url_for("patient.home"))

    words, link = task(home, "can be sent")
    assert words == "2 invoices can be sent to the health fund" and link == url_for("patient.invoices")
    asked = db.session.scalar(db.select(Claim).where(Claim.patient_id == patient.profile.id,
                                                     Claim.state == "info_requested"))
    # A single question links to its claim, where the answer is written.
    assert task(home, "question") == ("1 question from the health fund waits for an answer",
                                      url_for("patient.claim", claim_id=asked.id))
    assert task(home, "with the health fund")[0] == "2 claims are with the health fund"
    paid = db.session.scalar(db.select(Claim).where(Claim.patient_id == patient.profile.id,
                                                    Claim.state == "accepted"))
    # First sign-in: every statement is new; a single one links to itself.
    assert task(home, "statement") == ("1 reimbursement statement", url_for("patient.statement", claim_id=paid.id))
    coming = task(home, "on the way")[0]
    assert coming.startswith(f"{paid.statement.reimbursed_cents / 100:.2f} € on the way to the bank account (1 reimbursement)")


def test_statements_count_from_the_previous_sign_in(app, make_patient, make_doctor, make_staff):
    patient, doctor, staff = make_patient(), make_doctor(), make_staff()
    clock.freeze(START)
    old = new_claim(patient, doctor, staff, state="accepted")
    waiting = [new_claim(patient, doctor, staff, state="in_review") for _ in range(2)]
    clock.freeze(START + timedelta(hours=1))
    sign_in(app.test_client(), patient)  # the previous visit
    clock.freeze(START + timedelta(days=1))
    for claim in waiting:
        review.accept(claim, staff.profile, version=claim.version)
    db.session.commit()
    clock.freeze(START + timedelta(days=3))

    home = signed_in_as(app, patient, lang="en").get(url_for("patient.home"))

    assert task(home, "statement") == ("2 reimbursement statements since your previous sign-in", url_for("patient.claims"))
    assert "Your previous sign-in:" in page(home).get_text()
    facts = overview.for_patient(patient.profile, _session_of(patient))
    assert facts.previous_signin == START + timedelta(hours=1)
    assert facts.new_statements == 2 and facts.new_statement_claim_id == max(c.id for c in waiting)
    # Paid out two business days after the decision: the first statement's money has left.
    assert old.statement.payment_date < clock.today() <= waiting[0].statement.payment_date
    assert (facts.coming, facts.coming_cents) == (2, sum(c.statement.reimbursed_cents for c in waiting))


def _session_of(person) -> UserSession:
    return db.session.scalars(
        db.select(UserSession).where(UserSession.account_id == person.account.id)
        .order_by(UserSession.created_at.desc())
    ).first()


def test_a_parent_in_a_childs_space_sees_the_childs_counts(app, make_patient, make_child, make_doctor, make_staff):
    parent, doctor, staff = make_patient(), make_doctor(), make_staff()
    child = make_child(parent, given_name="Emma", birth=clock.today().replace(year=clock.today().year - 8))
    new_invoice(parent, doctor)
    new_claim(child, doctor, staff, state="info_requested")
    client = signed_in_as(app, parent, lang="en")

    own = client.get(url_for("patient.home"))
    assert task(own, "can be sent")[0].startswith("1 invoice") and task(own, "question")[0].startswith("0 ")
    client.post(url_for("patient.switch_space"), data={"space": str(child.profile.id)})
    space = client.get(url_for("patient.home"))
    assert task(space, "can be sent")[0].startswith("0 invoices") and task(space, "question")[0].startswith("1 ")


# --- The doctor ----------------------------------------------------------------------------------


def test_the_doctors_home_counts_their_reports_and_codes(app, make_patient, make_doctor, issue_code):
    doctor, colleague = make_doctor(), make_doctor(name="Dr Paul Schmit")
    patients = [make_patient(given_name=name) for name in ("Anne", "Ben", "Carla", "Dan")]
    for who in (doctor, colleague):
        invoice = new_invoice(patients[0], who)
        sharing.report_invoice(invoice, "Wrong date", by=patients[0].account)
    closed = sharing.report_invoice(new_invoice(patients[1], doctor), "Wrong act", by=patients[1].account)
    closed.closed_at = clock.now()
    waiting, _ = issue_code(patients[0].profile, doctor.profile)
    used, _ = issue_code(patients[1].profile, doctor.profile)
    used.used_at = clock.now() - timedelta(days=2)
    revoked, _ = issue_code(patients[2].profile, doctor.profile)
    revoked.revoked_at = clock.now()
    issue_code(patients[3].profile, colleague.profile)
    db.session.commit()

    home = signed_in_as(app, doctor, lang="en").get(url_for("doctor.home"))

    assert task(home, "report") == ("1 report from a patient about an invoice waits for you", url_for("doctor.reports"))
    assert task(home, "can still be used") == ("1 activation code you issued can still be used",
                                               url_for("doctor.activations"))
    assert task(home, "activated with")[0] == "1 account activated with one of your codes in the last 30 days"
    assert task(home, "issued today") == ("2 invoices issued today", url_for("doctor.invoices"))


# --- CNS staff -----------------------------------------------------------------------------------


@pytest.fixture
def queue_world(make_patient, make_doctor, make_staff):
    patient, civil_servant = make_patient(), make_patient(fund=Fund.CMFEP, given_name="Luc", surname="Weber")
    doctor, agent, colleague = make_doctor(), make_staff(), make_staff()
    made = {}
    for day, (name, who, state, by) in enumerate([
        ("cns_old", patient, "shared", None),
        ("cmfep_old", civil_servant, "shared", None),
        ("cns_new", patient, "shared", None),
        ("mine", patient, "in_review", agent),
        ("theirs", patient, "in_review", colleague),
        ("cmfep_asked", civil_servant, "info_requested", agent),
        ("frozen", civil_servant, "shared", None),
        ("done", civil_servant, "accepted", agent),
    ]):
        clock.freeze(START + timedelta(days=day))
        made[name] = new_claim(who, doctor, by, state=state)
    rights.freeze(made["frozen"], by=civil_servant.account)  # the patient's own step, as the portal takes it
    db.session.commit()
    clock.freeze(START + timedelta(days=10))
    return made, agent


def test_the_agents_home_counts_the_queue_of_their_fund_scope(app, queue_world, make_staff):
    made, agent = queue_world
    home = signed_in_as(app, agent, lang="en").get(url_for("cns.home"))
    assert task(home, "for review") == ("3 claims wait for review", url_for("cns.claims", state="shared"))
    assert task(home, "you took up")[0] == "1 claim you took up waits for your decision"
    assert task(home, "under review")[0] == "2 claims are under review"
    assert task(home, "patient's answer") == ("1 claim waits for the patient's answer",
                                             url_for("cns.claims", state="info_requested"))
    rows = page(home).select("section[aria-labelledby=oldest-heading] tbody tr")
    assert [row.th.get_text(strip=True) for row in rows] == [
        made[name].reference for name in ("cns_old", "cmfep_old", "cns_new")
    ]
    assert "10 days" in rows[0].get_text()

    cmfep = make_staff(fund=Fund.CMFEP)
    home = signed_in_as(app, cmfep, lang="en").get(url_for("cns.home"))
    # The frozen claim is out of the queue; CNS claims are out of this agent's scope.
    assert task(home, "for review")[0] == "1 claim waits for review"
    assert task(home, "patient's answer")[0].startswith("1 claim")
    assert task(home, "under review")[0].startswith("0 claims")
    rows = page(home).select("section[aria-labelledby=oldest-heading] tbody tr")
    assert [row.th.get_text(strip=True) for row in rows] == [made["cmfep_old"].reference]


def test_the_counts_agree_with_the_queue(queue_world):
    _, agent = queue_world
    facts = overview.for_staff(agent.profile)
    counts = review.counts(agent.profile)
    assert facts.counts == {state: counts[state] for state in facts.counts}


def test_an_empty_queue_says_so(app, make_staff):
    home = signed_in_as(app, make_staff(), lang="en").get(url_for("cns.home"))
    assert task(home, "for review")[0] == "0 claims wait for review"
    assert "No claim is waiting for review." in page(home).get_text()
