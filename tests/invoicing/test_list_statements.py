"""The lists' statements are built once per shape (which filters are given) and run with each
request's own values: a statement kept from one request must never answer with another's."""

from __future__ import annotations

from datetime import timedelta

from portal.claims import counts, review
from portal.core import clock
from portal.invoicing import invoices, rows
from portal.models import ClaimState, Fund


def _misses(statement) -> int:
    return statement.cache_info().misses


def test_a_patient_list_kept_for_one_doctor_answers_for_another(make_patient, make_doctor, make_invoice):
    patient, first, second = make_patient(), make_doctor(name="Dr Anne First"), make_doctor(name="Dr Ben Second")
    make_invoice(patient, first)
    make_invoice(patient, second)
    make_invoice(patient, second, days_ago=5)
    other = make_patient(given_name="Luc")
    make_invoice(other, first)

    found = {}
    for doctor in (first, second):
        before = _misses(rows._patient_statement)
        filters = invoices.Filters(doctor_id=doctor.profile.id)
        listed, _more = rows.for_patient(patient.profile, filters=filters)
        found[doctor.profile.name] = {row.doctor_name for row in listed}, len(listed), invoices.tally(patient.profile.id, filters)
        assert _misses(rows._patient_statement) - before <= 1  # built on the first call at most

    assert found["Dr Anne First"][:2] == ({"Dr Anne First"}, 1)  # the other patient's invoice is not theirs
    assert found["Dr Ben Second"][:2] == ({"Dr Ben Second"}, 2)
    assert (found["Dr Anne First"][2].matching, found["Dr Ben Second"][2].matching) == (1, 2)
    assert found["Dr Anne First"][2].version == found["Dr Ben Second"][2].version  # all three of them


def test_dates_and_pages_are_bound_per_request(make_patient, make_doctor, make_invoice, monkeypatch):
    patient, doctor = make_patient(), make_doctor()
    for days in range(5):
        make_invoice(patient, doctor, days_ago=days)
    monkeypatch.setattr(invoices, "PAGE_SIZE", 2)
    pages = [rows.for_patient(patient.profile, filters=invoices.Filters(), page=n) for n in (1, 2, 3)]
    assert [len(found) for found, _more in pages] == [2, 2, 1]
    assert [more for _found, more in pages] == [True, True, False]
    for days, expected in ((1, 2), (3, 4)):
        since = invoices.Filters(date_from=clock.today() - timedelta(days=days))
        assert invoices.count(patient_id=patient.profile.id, filters=since) == expected
        assert invoices.count(doctor_id=doctor.profile.id, filters=since) == expected


def test_the_state_filter_reads_the_time_of_each_request(make_patient, make_doctor, make_invoice):
    patient, doctor = make_patient(), make_doctor()
    invoice = make_invoice(patient, doctor)
    expired = invoices.Filters(state="expired")
    assert invoices.count(patient_id=patient.profile.id, filters=expired) == 0
    clock.freeze(invoice.expires_at + timedelta(seconds=1))
    assert invoices.count(patient_id=patient.profile.id, filters=expired) == 1
    assert [row.state for row in rows.for_doctor(doctor.profile.id, filters=expired)[0]] == ["expired"]


def test_a_queue_kept_for_one_fund_answers_for_another(make_patient, make_doctor, make_staff, make_claim):
    doctor = make_doctor()
    made = {fund: make_claim(make_patient(fund=fund), doctor) for fund in (Fund.CMFEP, Fund.CMFEC)}
    for fund, claim in made.items():
        listed, _after = review.queue(make_staff(fund=fund).profile, review.QueueFilters())
        assert [row.id for row in listed] == [claim.id]
        assert counts.by_state(fund=fund)[ClaimState.SHARED] == 1
    everyone, _after = review.queue(make_staff(fund=Fund.CNS).profile, review.QueueFilters(state=ClaimState.SHARED))
    assert sorted(row.id for row in everyone) == sorted(claim.id for claim in made.values())


def test_queue_counts_kept_for_one_doctor_answer_for_another(make_patient, make_doctor, make_staff, make_claim):
    first, second, agent = make_doctor(name="Dr Anne First"), make_doctor(name="Dr Ben Second"), make_staff()
    patient = make_patient()
    make_claim(patient, first)
    for _ in range(2):
        make_claim(patient, second)
    found = [review.counts(agent.profile, review.QueueFilters(doctor_id=doctor.profile.id))[ClaimState.SHARED]
             for doctor in (first, second)]
    assert found == [1, 2]
    cheap = review.QueueFilters(amount_max_cents=0)  # every claim here costs more than nothing
    assert review.counts(agent.profile, cheap)[ClaimState.SHARED] == 0
