"""Importing the register of insured persons from a CSV file (`flask --app app registry import`).

All or nothing: every row is checked before anything is written, and one bad row refuses the
whole file. A blank cell keeps what is stored: a person's bank account, mobile number or
e-mail address goes only when the operator asks for it (`clear`), never because a cell was
empty. The audit trail says whose entry changed and which fields, never the values.

The optional `guardians` column names a child's guardians (one or two matricules, separated
by a space or "|"): the only parental links, with those CNS staff confirm, that a doctor may
name on a child's activation code. A filled cell replaces the register's guardians of that
child; a blank one keeps them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import email_validator
import phonenumbers

from portal import audit
from portal.core import clock, csv_input
from portal.core.identity import (
    InvalidIdentifier,
    is_minor_on,
    matricule_birth_date,
    validate_iban,
    validate_matricule,
)
from portal.core.refused import Problem, Refused
from portal.documents import stored
from portal.extensions import db
from portal.models import Fund, Patient, RegistryGuardian

# covered_from / covered_until: the period the person is insured (direct payment needs the date
# of service inside it); a blank covered_until with --clear covered_until makes it open-ended.
COLUMNS = ("matricule", "surname", "given_name", "birth_date", "mobile", "email", "fund", "iban", "guardians",
           "covered_from", "covered_until")
REQUIRED = ("matricule", "surname", "given_name", "birth_date")
CLEARABLE = ("mobile", "email", "iban", "covered_until")
NAME_LENGTH = 100  # Patient.surname and given_name
MOBILE_REGION = "LU"  # a number written without a country code is a Luxembourg one
MOBILE_TYPES = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)
MAX_GUARDIANS = 2
LOOKUP_BATCH = 500  # matricules per query when reading the stored entries

MATRICULE_PROBLEMS = {
    "length": "not a matricule (13 digits)",
    "date": "not a matricule (its first 8 digits are not a date)",
    "checksum": "not a matricule (its check digits are wrong)",
}


class ImportRefused(Refused):
    pass


@dataclass
class Entry:
    """One row of the file, checked; `values` holds what the row sets (None clears a field)."""

    line: int
    matricule: str
    values: dict[str, object]
    patient: Patient | None = None
    fields: list[str] = field(default_factory=list)  # the fields the import changes
    guardians: list[str] | None = None  # matricules; None keeps the stored guardians

    @property
    def is_new(self) -> bool:
        return self.patient is None


def _matricule(value: str) -> str:
    try:
        return validate_matricule(value)
    except InvalidIdentifier as error:
        raise ValueError(MATRICULE_PROBLEMS.get(str(error), "not a matricule")) from None


def _name(value: str) -> str:
    if len(value) > NAME_LENGTH:
        raise ValueError(f"longer than {NAME_LENGTH} characters")
    return value


def _mobile(value: str) -> str:
    try:
        number = phonenumbers.parse(value, MOBILE_REGION)
    except phonenumbers.NumberParseException:
        raise ValueError("not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number")
    if phonenumbers.number_type(number) not in MOBILE_TYPES:
        raise ValueError("not a mobile number (activation codes go by SMS)")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _email(value: str) -> str:
    try:
        return email_validator.validate_email(value, check_deliverability=False).normalized
    except email_validator.EmailNotValidError as error:
        raise ValueError(f"not a valid e-mail address ({error})") from None


def _fund(value: str) -> str:
    fund = value.upper()
    if fund not in {f.value for f in Fund}:
        raise ValueError(f"not a health fund ({', '.join(f.value for f in Fund)})")
    return fund


def _iban(value: str) -> str:
    try:
        return validate_iban(value)
    except InvalidIdentifier:
        raise ValueError("not a valid IBAN") from None


def _guardians(value: str) -> list[str]:
    named = [part for part in re.split(r"[\s|]+", value) if part]
    if not 1 <= len(named) <= MAX_GUARDIANS:
        raise ValueError(f"one or two matricules separated by a space or |, not {len(named)}")
    found = []
    for part in named:
        try:
            found.append(validate_matricule(part))
        except InvalidIdentifier:
            raise ValueError(f"{part!r} is not a matricule") from None
    if len(set(found)) != len(found):
        raise ValueError("the same guardian is named twice")
    return found


RULES = {
    "matricule": _matricule,
    "surname": _name,
    "given_name": _name,
    "birth_date": csv_input.iso_date,
    "mobile": _mobile,
    "email": _email,
    "fund": _fund,
    "iban": _iban,
    "covered_from": csv_input.iso_date,
    "covered_until": csv_input.iso_date,
}


def _entry(row: csv_input.Row, clear: tuple[str, ...]) -> tuple[Entry | None, list[Problem]]:
    values, problems = _values(row, clear)
    dated = "matricule" in values and "birth_date" in values
    if dated and values["birth_date"] != matricule_birth_date(values["matricule"]):
        problems.append(Problem(row.line, "birth_date", "does not match the birth date in the matricule"))
    start, end = values.get("covered_from"), values.get("covered_until")
    if start is not None and end is not None and end < start:
        problems.append(Problem(row.line, "covered_until", "ends before covered_from"))
    guardians, found = _named_guardians(row, values)
    problems.extend(found)
    if problems:
        return None, problems
    return Entry(row.line, values.pop("matricule"), values, guardians=guardians), []


def _values(row: csv_input.Row, clear: tuple[str, ...]) -> tuple[dict[str, object], list[Problem]]:
    """Each column's cell through its rule; a blank cell is kept out, or None when cleared."""
    values: dict[str, object] = {}
    problems = []
    for column, rule in RULES.items():
        cell = row.cells.get(column, "")
        if not cell:
            if column in REQUIRED:
                problems.append(Problem(row.line, column, "empty"))
            elif column in clear:
                values[column] = None
            continue
        try:
            values[column] = rule(cell)
        except ValueError as error:
            problems.append(Problem(row.line, column, str(error)))
    return values, problems


def _named_guardians(row: csv_input.Row, values: dict[str, object]) -> tuple[list[str] | None, list[Problem]]:
    guardians = None
    problems = []
    if cell := row.cells.get("guardians", ""):
        try:
            guardians = _guardians(cell)
        except ValueError as error:
            problems.append(Problem(row.line, "guardians", str(error)))
    if guardians and "birth_date" in values and not is_minor_on(values["birth_date"], clock.today()):
        problems.append(Problem(row.line, "guardians", "only a person under 18 has guardians in the register"))
    if guardians and values.get("matricule") in guardians:
        problems.append(Problem(row.line, "guardians", "a person cannot be their own guardian"))
    return guardians, problems


def _compare(entries: list[Entry]) -> None:
    """Find each person's stored entry and what the row would change in it."""
    stored: dict[str, Patient] = {}
    matricules = [entry.matricule for entry in entries]
    for start in range(0, len(matricules), LOOKUP_BATCH):
        batch = matricules[start : start + LOOKUP_BATCH]
        stored.update((p.matricule, p) for p in db.session.scalars(db.select(Patient).where(Patient.matricule.in_(batch))))
    for entry in entries:
        entry.patient = stored.get(entry.matricule)
        if entry.is_new:
            entry.values.setdefault("fund", Fund.CNS.value)
            entry.fields = [c for c in COLUMNS if entry.values.get(c) is not None]
        else:
            entry.fields = [c for c in COLUMNS if c in entry.values and getattr(entry.patient, c) != entry.values[c]]


def plan(path: Path, *, encoding: str = "utf-8", clear: tuple[str, ...] = ()) -> list[Entry]:
    """Read and check the whole file; raises ImportRefused naming every bad cell. Writes nothing."""
    unknown = [name for name in clear if name not in CLEARABLE]
    if unknown:
        raise ImportRefused(f"Only {', '.join(CLEARABLE)} can be cleared, not {', '.join(unknown)}.")
    table = csv_input.read(path, encoding=encoding, columns=COLUMNS, required=REQUIRED)
    absent = [name for name in clear if name not in table.columns]
    if absent:
        # Every cell of a missing column is blank: clearing would empty that field for everyone.
        raise ImportRefused(f"--clear {', '.join(absent)}: the file has no such column.")
    problems = list(table.problems)
    entries: list[Entry] = []
    first_line: dict[str, int] = {}
    for row in table.rows:
        entry, found = _entry(row, clear)
        problems.extend(found)
        if entry is None:
            continue
        if entry.matricule in first_line:
            problems.append(Problem(row.line, "matricule", f"the same matricule is on line {first_line[entry.matricule]}"))
            continue
        first_line[entry.matricule] = row.line
        entries.append(entry)
    if problems:
        raise ImportRefused(*problems)
    _compare(entries)
    _check_guardians(entries)
    return entries


def _stored(matricules: list[str]) -> dict[str, Patient]:
    stored: dict[str, Patient] = {}
    for start in range(0, len(matricules), LOOKUP_BATCH):
        batch = matricules[start : start + LOOKUP_BATCH]
        stored.update((p.matricule, p) for p in db.session.scalars(db.select(Patient).where(Patient.matricule.in_(batch))))
    return stored


def _check_guardians(entries: list[Entry]) -> None:
    """Each guardian is an adult in this file or already in the register; marks what changes."""
    in_file = {entry.matricule: entry for entry in entries}
    named = sorted({m for entry in entries for m in entry.guardians or () if m not in in_file})
    stored = _stored(named)
    problems = []
    for entry in entries:
        for matricule in entry.guardians or ():
            birth = _birth_date(matricule, in_file, stored)
            if birth is None:
                problems.append(Problem(entry.line, "guardians", f"{matricule} is neither in this file nor in the register"))
            elif is_minor_on(birth, clock.today()):
                problems.append(Problem(entry.line, "guardians", f"{matricule} is under 18"))
    if problems:
        raise ImportRefused(*problems)
    for entry in entries:
        if entry.guardians is not None and set(entry.guardians) != _registered(entry.patient):
            entry.fields.append("guardians")


def _birth_date(matricule: str, in_file: dict[str, Entry], stored: dict[str, Patient]) -> date | None:
    birth = in_file[matricule].values.get("birth_date") if matricule in in_file else None
    if birth is None and matricule in stored:
        birth = stored[matricule].birth_date
    return birth


def _registered(child: Patient | None) -> set[str]:
    if child is None:
        return set()
    return set(db.session.scalars(
        db.select(Patient.matricule).join(RegistryGuardian, RegistryGuardian.guardian_patient_id == Patient.id)
        .where(RegistryGuardian.child_patient_id == child.id, RegistryGuardian.source == "registry")
    ))


def _write_guardians(entries: list[Entry]) -> None:
    """The register's guardians of each child the file names them for; staff-confirmed links stay."""
    changing = [entry for entry in entries if "guardians" in entry.fields]
    if not changing:
        return
    people = _stored(sorted({m for entry in changing for m in entry.guardians} | {e.matricule for e in changing}))
    for entry in changing:
        child = people[entry.matricule]
        wanted = {people[m].id for m in entry.guardians}
        links = db.session.scalars(db.select(RegistryGuardian).where(RegistryGuardian.child_patient_id == child.id))
        have = set()
        for link in links:
            if link.guardian_patient_id in wanted:
                have.add(link.guardian_patient_id)
            elif link.source == "registry":
                db.session.delete(link)
        db.session.add_all(
            RegistryGuardian(child_patient_id=child.id, guardian_patient_id=guardian_id, source="registry")
            for guardian_id in wanted - have
        )


# What the invoice and statement PDFs print about the person (the birth date sets the rate).
PRINTED = frozenset({"surname", "given_name", "birth_date"})


def apply(entries: list[Entry]) -> tuple[int, int]:
    """Write a checked plan in the caller's transaction; returns (created, updated)."""
    created = [(Patient(matricule=e.matricule, **e.values), e) for e in entries if e.is_new]
    db.session.add_all(patient for patient, _entry in created)
    db.session.flush()  # the new ids, for the audit rows
    for patient, entry in created:
        audit.record(audit.REGISTRY_ENTRY_CREATED, actor=None, patient_id=patient.id, fields=entry.fields)
    updated = [e for e in entries if not e.is_new and e.fields]
    for entry in updated:
        for name in entry.fields:
            if name != "guardians":
                setattr(entry.patient, name, entry.values[name])
        if PRINTED.intersection(entry.fields):
            stored.forget_patient(entry.patient.id)  # its PDFs print the old name or rate
        audit.record(audit.REGISTRY_ENTRY_UPDATED, actor=None, patient_id=entry.patient.id, fields=entry.fields)
    db.session.flush()
    _write_guardians(entries)
    audit.record(audit.REGISTRY_IMPORTED, actor=None, created=len(created), updated=len(updated))
    return len(created), len(updated)
