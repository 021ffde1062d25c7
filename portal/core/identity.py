"""Identifiers of the Luxembourg insured-persons registry: matricule and IBAN."""

from __future__ import annotations

from datetime import date
from typing import Protocol

from stdnum import iban as stdnum_iban
from stdnum import luhn, verhoeff
from stdnum.exceptions import ValidationError

from portal.core import clock


class InvalidIdentifier(ValueError):
    pass


def clean_matricule(value: str) -> str:
    return "".join(ch for ch in (value or "") if not ch.isspace())


def matricule_birth_date(matricule: str) -> date:
    return date(int(matricule[0:4]), int(matricule[4:6]), int(matricule[6:8]))


def validate_matricule(value: str) -> str:
    """Return the 13-digit matricule or raise InvalidIdentifier.

    Digits 1–8 are the birth date (YYYYMMDD); digit 12 is a Luhn and digit 13 a
    Verhoeff check digit, both computed over digits 1–11.
    """
    matricule = clean_matricule(value)
    if len(matricule) != 13 or not matricule.isascii() or not matricule.isdigit():
        raise InvalidIdentifier("length")
    try:
        matricule_birth_date(matricule)
    except ValueError as exc:
        raise InvalidIdentifier("date") from exc
    body = matricule[:11]
    if luhn.calc_check_digit(body) != matricule[11] or verhoeff.calc_check_digit(body) != matricule[12]:
        raise InvalidIdentifier("checksum")
    return matricule


def make_matricule(birth: date, serial: int) -> str:
    """Build a valid matricule from a birth date and a three-digit serial (demo and tests)."""
    body = f"{birth:%Y%m%d}{serial:03d}"
    return body + luhn.calc_check_digit(body) + verhoeff.calc_check_digit(body)


def validate_iban(value: str) -> str:
    """Return the IBAN in compact form or raise InvalidIdentifier."""
    try:
        return stdnum_iban.validate(value or "")
    except ValidationError as exc:
        raise InvalidIdentifier("iban") from exc


def format_iban(value: str | None) -> str:
    return stdnum_iban.format(value) if value else ""


def make_iban(country: str, bban: str) -> str:
    """Compute the check digits of an IBAN (demo and test data)."""
    rearranged = bban + country + "00"
    number = int("".join(str(int(ch, 36)) for ch in rearranged))
    return f"{country}{98 - number % 97:02d}{bban}"


ADULT_AGE = 18


def age_on(birth: date, day: date) -> int:
    """Whole years lived on `day`."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def is_minor_on(birth: date, day: date) -> bool:
    """Under 18 on `day`: a child's account is a guardian's to open, and the fund pays back all."""
    return age_on(birth, day) < ADULT_AGE


class Born(Protocol):
    birth_date: date


def is_minor(person: Born, on: date | None = None) -> bool:
    return is_minor_on(person.birth_date, on or clock.today())


def masked_iban(iban: str | None) -> str:
    """The IBAN with only the country, check digits and last four digits readable, in groups of four."""
    if not iban:
        return ""
    hidden = iban[:4] + "•" * max(len(iban) - 8, 0) + iban[-4:]
    return " ".join(hidden[i:i + 4] for i in range(0, len(hidden), 4))
