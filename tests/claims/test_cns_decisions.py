"""CNS staff open a claim, take it up and decide: accept, reject or ask; first decision wins."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest

from portal.accounts import totp
from portal.claims import review, sharing
from portal.core import clock
from portal.extensions import db
from portal.models import AuditEvent, Claim, ClaimState, Fund, Statement
from tests.claims.test_cns_queue import MAX_QUERIES
from tests.claims.test_safe_decisions import posted
from tests.fixtures.clients import page, signed_in_as, text_of, url_for
from tests.fixtures.images import png as _png
from tests.fixtures.queries import count_queries

CONFLICT = "Another agent has already decided this claim"


@pytest.fixture
def desk(app, make_patient, make_doctor, make_staff):
    patient, doctor, staff = make_patient(), make_doctor(), make_staff()
    return patient, doctor, staff, signed_in_as(app, staff, lang="en")


def audits(name: str) -> list[AuditEvent]:
    return list(db.session.scalars(db.select(AuditEvent).where(AuditEvent.event == name)))


def fresh(claim: Claim) -> Claim:
    db.session.expire_all()
    return db.session.get(Claim, claim.id)


def test_the_claim_page_shows_the_invoice_the_amounts_and_the_history(desk, make_claim):
    patient, doctor, staff, client = desk
    claim = make_claim(patient, doctor, staff, state="in_review", acts=(("C1", 2),))
    url = url_for("cns.claim", claim_id=claim.id)
    with count_queries() as statements:
        response = client.get(url)
    assert response.status_code == 200
    assert len(statements) <= MAX_QUERIES, "\n".join(s[:90] for s in statements)
    text = text_of(response)
    for expected in (doctor.profile.name, doctor.profile.provider_code, "Marie Kremer", patient.profile.matricule,
                     "46 years old on the date of service: the adult rate applies", "115.40 €", "101.55 €",
                     "Taken up for review", "Agent Test", "Shared with the fund"):
        assert expected in text, expected
    assert patient.profile.iban not in text and patient.profile.iban[-4:] in text  # masked
    assert page(response).select("h1") and len(page(response).select("h1")) == 1
    assert page(response).select_one("input[name=version]")["value"] == str(claim.version)
    assert page(response).select_one("input[name=amount]")["value"] == "101.55"
    viewed = audits("claim.viewed")
    assert [(event.patient_id, event.data["claim_id"]) for event in viewed] == [(patient.profile.id, claim.id)]


def test_a_child_is_reimbursed_at_the_minor_rate(desk, make_patient, make_claim):
    _, doctor, staff, client = desk
    child = make_patient(birth=date.today().replace(year=date.today().year - 10), given_name="Tom")
    claim = make_claim(child, doctor, staff)
    text = text_of(client.get(url_for("cns.claim", claim_id=claim.id)))
    assert "the under-18 rate applies" in text


def test_take_up_then_accept_the_computed_amount_issues_the_statement(desk, make_claim):
    patient, doctor, staff, client = desk
    claim = make_claim(patient, doctor)
    detail = page(client.get(url_for("cns.claim", claim_id=claim.id)))
    assert detail.select_one(f"form[action='{url_for('cns.take_up_claim', claim_id=claim.id)}']")
    assert detail.select_one("form[action$='/accept']") is None  # take it up first
    taken = client.post(url_for("cns.take_up_claim", claim_id=claim.id))
    assert taken.status_code == 303 and taken.headers["Location"] == url_for("cns.claim", claim_id=claim.id)
    claim = fresh(claim)
    assert claim.state == ClaimState.IN_REVIEW and claim.taken_by_id == staff.profile.id

    detail = page(client.get(url_for("cns.claim", claim_id=claim.id)))
    form = detail.select_one("form[action$='/accept']")
    data = {field["name"]: field.get("value", "") for field in form.select("input[name]")}
    accepted = client.post(form["action"], data=data, follow_redirects=True)
    assert f"Claim {claim.reference} accepted" in text_of(accepted)
    claim = fresh(claim)
    assert claim.state == ClaimState.ACCEPTED and claim.reimbursed_cents == claim.computed_cents
    statement = db.session.scalar(db.select(Statement).where(Statement.claim_id == claim.id))
    assert statement.reimbursed_cents == claim.computed_cents
    assert accepted.request.path == url_for("cns.claims")  # nothing else waits: back to the queue
    assert "The statement is issued and the patient is told" in text_of(accepted)
    assert not page(accepted).select("form[action$='/undo']")  # an acceptance is not undone
    final = page(client.get(url_for("cns.claim", claim_id=claim.id)))
    assert not final.select("form[action*='/claims/']")  # decisions are final
    assert "The decision is final." in final.text


def test_an_adjusted_amount_needs_a_reason_and_nothing_is_saved_without_it(desk, make_claim):
    patient, doctor, staff, client = desk
    claim = make_claim(patient, doctor, staff, state="in_review")
    url = url_for("cns.accept_claim", claim_id=claim.id)
    detail = page(client.get(url_for("cns.claim", claim_id=claim.id)))
    choices = [option["value"] for option in detail.select("#adjustment_reason option")]
    assert choices == ["", *review.ADJUSTMENT_REASONS] and [o["value"] for o in detail.select("#adjustment_reason option[selected]")] in ([], [""])

    refused = client.post(url, data={"version": claim.version, "amount": "20,00", "reason": ""})
    assert refused.status_code == 400
    summary = page(refused).select_one(".error-summary")
    assert summary.select_one("a[href='#adjustment_reason']").get_text(strip=True).endswith(
        "Choose the reason for an amount different from the computed one.")
    assert page(refused).select_one("#adjustment_reason-error")
    assert page(refused).select_one("#amount")["value"] == "20,00"  # what the agent typed stays
    for forged in ("Only one act is covered.", "rejected"):  # words of one's own, another list's key
        assert client.post(url, data={"version": claim.version, "amount": "20,00", "reason": forged}).status_code == 400
    other = client.post(url, data={"version": claim.version, "amount": "20,00", "reason": "other", "note": "  "})
    assert other.status_code == 400
    assert page(other).select_one(".error-summary a[href='#adjustment_note']").get_text(strip=True).endswith(
        "Explain the different amount to the patient.")
    assert fresh(claim).state == ClaimState.IN_REVIEW
    assert db.session.scalar(db.select(db.func.count()).select_from(Statement)) == 0
    assert audits("claim.decided") == []

    typed = {"version": claim.version, "amount": "20,00", "reason": "other", "note": "Only one act is covered."}
    confirm = client.post(url, data=typed)
    assert confirm.status_code == 200 and "Nothing is saved yet" in text_of(confirm)
    facts = {dt.get_text(strip=True): " ".join(dt.find_next_sibling("dd").get_text().split())
             for dt in page(confirm).select("dl.facts dt")}
    assert facts["Claim"] == claim.reference and facts["Computed reimbursement"] == f"{claim.computed_cents / 100:.2f} €"
    assert facts["Amount reimbursed"] == "20.00 €"
    assert facts["Reason for the different amount"] == "Another reason, explained in the note"
    assert facts["Explanation for the patient"] == "Only one act is covered."
    assert fresh(claim).state == ClaimState.IN_REVIEW
    done = client.post(url, data={**typed, "confirmed": "y"})
    assert done.status_code == 303
    claim = fresh(claim)
    assert (claim.state, claim.reimbursed_cents, claim.adjustment_reason, claim.adjustment_note) == (
        "accepted", 2000, "other", "Only one act is covered.")
    assert audits("claim.decided")[0].data["reason"] == "other"


def test_a_reason_from_the_list_is_restated_and_kept(desk, make_claim):
    patient, doctor, staff, client = desk
    claim = make_claim(patient, doctor, staff, state="in_review")
    url = url_for("cns.accept_claim", claim_id=claim.id)
    typed = {"version": claim.version, "amount": "12.50", "reason": "ceiling"}
    confirm = page(client.post(url, data=typed))
    assert "A reimbursement ceiling applies" in confirm.select_one("dl.facts").get_text()
    assert "Explanation for the patient" not in confirm.select_one("dl.facts").get_text()  # no note written
    assert client.post(url, data=posted(confirm.select_one(f"form[action='{url}']"))).status_code == 303
    claim = fresh(claim)
    assert (claim.adjustment_reason, claim.adjustment_note, claim.reimbursed_cents) == ("ceiling", None, 1250)
    assert "A reimbursement ceiling applies" in text_of(client.get(url_for("cns.claim", claim_id=claim.id)))


def test_a_claim_paid_to_a_recently_changed_iban_needs_the_agent_s_confirmation(desk, make_claim):
    patient, doctor, staff, client = desk
    claim = make_claim(patient, doctor, staff, state="in_review")
    patient.profile.iban_changed_at = clock.now() - timedelta(hours=71)
    db.session.commit()
    detail = client.get(url_for("cns.claim", claim_id=claim.id))
    assert "The patient's bank account was changed on" in text_of(detail)
    assert page(detail).select_one("input[name=iban_checked][type=checkbox]")
    url = url_for("cns.accept_claim", claim_id=claim.id)
    amount = page(detail).select_one("input[name=amount]")["value"]
    refused = client.post(url, data={"version": claim.version, "amount": amount})
    assert refused.status_code == 400
    assert "check that it belongs to the patient" in page(refused).select_one("#iban_checked-error").text
    assert fresh(claim).state == ClaimState.IN_REVIEW
    assert db.session.scalar(db.select(db.func.count()).select_from(Statement)) == 0
    assert audits("claim.decided") == [] and audits("claim.iban_change_confirmed") == []

    done = client.post(url, data={"version": claim.version, "amount": amount, "iban_checked": "y"})
    assert done.status_code == 303 and fresh(claim).state == ClaimState.ACCEPTED
    confirmed = audits("claim.iban_change_confirmed")
    assert [(e.actor_account_id, e.data["claim_id"]) for e in confirmed] == [(staff.account.id, claim.id)]


def test_after_the_hold_the_claim_is_accepted_as_usual(desk, make_claim):
    patient, doctor, staff, client = desk
    claim = make_claim(patient, doctor, staff, state="in_review")
    patient.profile.iban_changed_at = clock.now() - timedelta(hours=73)
    db.session.commit()
    detail = client.get(url_for("cns.claim", claim_id=claim.id))
    assert "bank account was changed" not in text_of(detail)
    assert not page(detail).select_one("input[name=iban_checked]")
    amount = page(detail).select_one("input[name=amount]")["value"]
    done = client.post(url_for("cns.accept_claim", claim_id=claim.id), data={"version": claim.version, "amount": amount})
    assert done.status_code == 303 and audits("claim.iban_change_confirmed") == []


@pytest.mark.parametrize("amount", ["", "abc", "NaN", "Infinity", "1e999", "-1", "57.701", "999999999", "58.00"])
def test_absurd_amounts_are_refused_with_a_field_error(desk, make_claim, amount):
    patient, doctor, staff, client = desk
    claim = make_claim(patient, doctor, staff, state="in_review")
    response = client.post(url_for("cns.accept_claim", claim_id=claim.id),
                           data={"version": claim.version, "amount": amount, "reason": "other", "note": "because"})
    assert response.status_code == 400
    assert page(response).select_one("#amount-error").get_text(strip=True)
    assert fresh(claim).state == ClaimState.IN_REVIEW


def test_rejecting_needs_a_known_reason_and_an_explanation_for_other(desk, make_claim):
    patient, doctor, staff, client = desk
    claim = make_claim(patient, doctor, staff, state="in_review")
    url = url_for("cns.reject_claim", claim_id=claim.id)
    for data, field in (({"reason": ""}, "reason"), ({"reason": "bogus' OR 1=1"}, "reason"), ({"reason": "other"}, "note")):
        response = client.post(url, data={"version": claim.version, **data})
        assert response.status_code == 400
        assert page(response).select_one(f"#{field}-error").get_text(strip=True)
        assert fresh(claim).state == ClaimState.IN_REVIEW
    labels = [option.get_text() for option in page(response).select("#reason option")]
    assert "The invoice was already reimbursed" in labels and "duplicate" not in labels
    done = client.post(url, data={"version": claim.version, "reason": "other", "note": "Act done abroad.", "confirmed": "y"})
    assert done.status_code == 303
    claim = fresh(claim)
    assert (claim.state, claim.rejection_reason, claim.rejection_note) == ("rejected", "other", "Act done abroad.")


def test_asking_for_information_waits_for_the_patient(desk, make_claim):
    patient, doctor, staff, client = desk
    claim = make_claim(patient, doctor, staff, state="in_review")
    url = url_for("cns.request_info", claim_id=claim.id)
    empty = client.post(url, data={"version": claim.version, "question": "   "})
    assert empty.status_code == 400 and page(empty).select_one("#question-error")
    asked = client.post(url, data={"version": claim.version, "question": "Please send the prescription."},
                        follow_redirects=True)
    assert fresh(claim).state == ClaimState.INFO_REQUESTED
    assert "Please send the prescription." in text_of(asked)
    assert "Waiting for the patient's answer" in text_of(asked)


def test_a_stale_version_gets_the_conflict_message_and_the_first_decision_stands(desk, make_claim, make_staff, app):
    patient, doctor, staff, first = desk
    claim = make_claim(patient, doctor, staff, state="in_review")
    second = signed_in_as(app, make_staff(), lang="en")
    seen = claim.version
    assert first.post(url_for("cns.reject_claim", claim_id=claim.id),
                      data={"version": seen, "reason": "duplicate", "confirmed": "y"}).status_code == 303
    late = second.post(url_for("cns.accept_claim", claim_id=claim.id), data={"version": seen, "amount": "50.78"})
    assert late.status_code == 303 and late.headers["Location"] == url_for("cns.claim", claim_id=claim.id)
    assert CONFLICT in text_of(second.get(late.headers["Location"]))
    assert fresh(claim).state == ClaimState.REJECTED
    assert db.session.scalar(db.select(db.func.count()).select_from(Statement)) == 0
    taken_twice = second.post(url_for("cns.take_up_claim", claim_id=claim.id), follow_redirects=True)
    assert "Another agent has already taken up this claim." in text_of(taken_twice)


@pytest.mark.parametrize("version", ["", "x", "-1", "99999999999999999999", "1.5"])
def test_a_forged_version_changes_nothing(desk, make_claim, version):
    patient, doctor, staff, client = desk
    claim = make_claim(patient, doctor, staff, state="in_review")
    response = client.post(url_for("cns.reject_claim", claim_id=claim.id), data={"version": version, "reason": "duplicate"})
    assert response.status_code == 303
    assert fresh(claim).state == ClaimState.IN_REVIEW


def test_the_patients_document_is_served_to_staff_in_scope_only(desk, make_claim, make_staff, app):
    patient, doctor, staff, client = desk
    claim = make_claim(patient, doctor, staff, state="info_requested")
    sharing.answer(claim, "Here is the prescription.", by=patient.account, document=_png())
    db.session.commit()
    answer = claim.events[-1]
    detail = page(client.get(url_for("cns.claim", claim_id=claim.id)))
    link = url_for("cns.claim_document", claim_id=claim.id, event_id=answer.id)
    assert detail.find("a", href=link) is not None
    response = client.get(link)
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.data.startswith(b"\x89PNG")
    assert [event.data for event in audits("claim.viewed")][-1] == {"claim_id": claim.id, "document": True}

    shared = claim.events[0]  # carries no document
    assert client.get(url_for("cns.claim_document", claim_id=claim.id, event_id=shared.id)).status_code == 404
    other = make_claim(patient, doctor)
    assert client.get(url_for("cns.claim_document", claim_id=other.id, event_id=answer.id)).status_code == 404
    outsider = signed_in_as(app, make_staff(fund=Fund.CMFEP), lang="en")
    assert outsider.get(link).status_code == 404
    assert outsider.get(url_for("cns.claim", claim_id=claim.id)).status_code == 404
    assert outsider.post(url_for("cns.take_up_claim", claim_id=other.id)).status_code == 404


@pytest.mark.committing
@pytest.mark.parametrize("decisions", [("accept", "reject"), ("accept", "accept")])
def test_two_agents_deciding_at_once_make_one_decision(app, make_patient, make_doctor, make_staff, make_claim, decisions):
    patient, doctor, staff = make_patient(), make_doctor(), make_staff()
    claim = make_claim(patient, doctor, staff, state="in_review")
    claim_id, version = claim.id, claim.version
    people = [make_staff(), make_staff()]
    credentials = [(person.login, person.password, person.secret) for person in people]
    db.session.close()  # on SQLite an open transaction here would hold the write lock the requests need
    agents = [app.test_client(), app.test_client()]
    for agent, (login, password, secret) in zip(agents, credentials, strict=True):
        assert agent.post("/login", data={"login": login, "password": password}).status_code == 303
        assert agent.post("/login/code", data={"code": totp.code_for(secret)}).status_code == 303
        agent.get("/cns/?lang=en")  # CONFLICT is the English sentence
    forms = {
        "accept": (url_for("cns.accept_claim", claim_id=claim_id), {"version": version, "amount": "50.78"}),
        "reject": (url_for("cns.reject_claim", claim_id=claim_id),
                   {"version": version, "reason": "duplicate", "confirmed": "y"}),
    }
    barrier = threading.Barrier(len(agents))
    outcomes, errors = [], []

    def decide(agent, decision):
        url, data = forms[decision]
        try:
            barrier.wait()
            response = agent.post(url, data=data, follow_redirects=True)
            outcomes.append((response.status_code, CONFLICT in response.get_data(as_text=True)))
        except Exception as exc:  # collected: a thread's exception would otherwise vanish
            errors.append(repr(exc))

    threads = [threading.Thread(target=decide, args=pair) for pair in zip(agents, decisions, strict=True)]
    with app.app_context():
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    assert sorted(outcomes) == [(200, False), (200, True)], outcomes
    decided = db.session.get(Claim, claim_id)
    assert decided.state in ClaimState.DECIDED
    assert len(audits("claim.decided")) == 1
    statements = db.session.scalar(db.select(db.func.count()).select_from(Statement))
    assert statements == (1 if decided.state == ClaimState.ACCEPTED else 0)
