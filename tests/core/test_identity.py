from datetime import date

import pytest

from portal.core.identity import InvalidIdentifier, make_iban, make_matricule, validate_iban, validate_matricule


def test_a_generated_matricule_is_valid():
    matricule = make_matricule(date(1985, 3, 14), 123)
    assert validate_matricule(f" {matricule[:4]} {matricule[4:]} ") == matricule


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("198503141238", "length"),  # 12 digits
        ("19850314123821", "length"),
        ("1985031412a82", "length"),
        ("1985023012345", "date"),  # 30 February
        ("", "length"),
    ],
)
def test_malformed_matricules_are_refused(value, reason):
    with pytest.raises(InvalidIdentifier, match=reason):
        validate_matricule(value)


@pytest.mark.parametrize("position", [11, 12])
def test_each_check_digit_is_verified(position):
    matricule = make_matricule(date(1990, 7, 21), 452)
    wrong = str((int(matricule[position]) + 1) % 10)
    with pytest.raises(InvalidIdentifier, match="checksum"):
        validate_matricule(matricule[:position] + wrong + matricule[position + 1 :])


def test_a_changed_body_digit_breaks_the_checksum():
    matricule = make_matricule(date(1990, 7, 21), 452)
    tampered = matricule[:9] + str((int(matricule[9]) + 1) % 10) + matricule[10:]
    with pytest.raises(InvalidIdentifier):
        validate_matricule(tampered)


def test_iban_validation():
    iban = make_iban("LU", "0019400644750000")
    assert validate_iban(iban) == iban
    assert validate_iban("LU28 0019 4006 4475 0000") == "LU280019400644750000"
    with pytest.raises(InvalidIdentifier):
        validate_iban("LU29 0019 4006 4475 0000")


@pytest.mark.parametrize(("birth", "day", "age"), [
    (date(2008, 5, 10), date(2026, 5, 9), 17),
    (date(2008, 5, 10), date(2026, 5, 10), 18),
    (date(2008, 2, 29), date(2026, 2, 28), 17),  # a leap-day birthday comes on 1 March
    (date(2008, 2, 29), date(2026, 3, 1), 18),
])
def test_age_and_minority_on_a_day(birth, day, age):
    from portal.core.identity import age_on, is_minor_on

    assert age_on(birth, day) == age
    assert is_minor_on(birth, day) is (age < 18)


@pytest.mark.parametrize(("iban", "shown"), [
    ("LU280019400644750000", "LU28 •••• •••• •••• 0000"),
    ("DE89370400440532013000", "DE89 •••• •••• •••• ••30 00"),
    (None, ""),
    ("", ""),
])
def test_masked_iban_shows_country_check_digits_and_last_four(iban, shown):
    from portal.core.identity import masked_iban

    masked = masked_iban(iban)
    assert masked == shown
    if iban and len(iban) > 8:
        assert iban[4:-4] not in masked.replace(" ", "")
