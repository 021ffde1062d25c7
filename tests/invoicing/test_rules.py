"""The channel rule and the reimbursement arithmetic, as tables."""

from datetime import date
from decimal import Decimal

import pytest

from portal.claims import reimbursement
from portal.invoicing import invoices, nomenclature
from portal.models import Channel, Patient


@pytest.mark.parametrize(
    ("digital_doctor", "paid_on_site", "payer_is_patient", "channel"),
    [
        (True, True, True, Channel.DIGITAL),
        (True, False, True, Channel.PAPER_QR),
        (True, True, False, Channel.PAPER),
        (True, False, False, Channel.PAPER),
        (False, True, True, Channel.PAPER),
        (False, False, True, Channel.PAPER),
        (False, True, False, Channel.PAPER),
        (False, False, False, Channel.PAPER),
    ],
)
def test_channel_rule(digital_doctor, paid_on_site, payer_is_patient, channel):
    assert invoices.channel_for(
        doctor_is_digital=digital_doctor, paid_on_site=paid_on_site, payer_is_patient=payer_is_patient
    ) == channel


def test_gp_consultation_fee_matches_the_reference():
    assert nomenclature.fee_cents("C", Decimal("12.80")) == 5770


def test_every_fee_follows_key_letter_times_coefficient():
    for row in nomenclature.read():
        assert row.fee_cents == nomenclature.fee_cents(row.key_letter, row.coefficient)
        assert row.description_fr and row.description_de and row.description_en


ADULT = Patient(birth_date=date(1980, 1, 1))
CHILD = Patient(birth_date=date(2015, 6, 2))
TURNS_18 = Patient(birth_date=date(2008, 3, 10))


@pytest.mark.parametrize(
    ("patient", "service", "lines", "total", "refund"),
    [
        (ADULT, date(2026, 1, 5), [("C1", 1, 5770)], 5770, 5078),  # 88 % of 57.70 = 50.776
        (CHILD, date(2026, 1, 5), [("C1", 1, 5770)], 5770, 5770),
        (ADULT, date(2026, 1, 5), [("C1", 1, 5770), ("K1", 2, 2752)], 11274, 9922),
        (CHILD, date(2026, 1, 5), [("C42", 1, 6852), ("K5", 3, 1548)], 11496, 11496),
        (TURNS_18, date(2026, 3, 9), [("C1", 1, 5770)], 5770, 5770),  # the day before turning 18
        (TURNS_18, date(2026, 3, 10), [("C1", 1, 5770)], 5770, 5078),  # on the birthday: adult
    ],
)
def test_reimbursement(patient, service, lines, total, refund):
    result = reimbursement.reimbursement(patient, service, lines)
    assert result.total_cents == total
    assert result.reimbursed_cents == refund
    assert result.personal_share_cents == total - refund
    assert sum(line.reimbursed_cents for line in result.lines) == refund
    # What the invoice lists print, from the lines' amounts alone.
    assert reimbursement.reimbursed_cents(patient, service, [unit * quantity for _, quantity, unit in lines]) == refund


def test_two_years_later_handles_the_leap_day():
    assert invoices.add_years(date(2024, 2, 29), 2) == date(2026, 2, 28)
