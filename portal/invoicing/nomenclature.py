"""The nomenclature of medical acts and the statutory reimbursement rates.

Fees follow the key-letter system: fee = value of the key letter × coefficient of the
act. The values below are indicative (a GP consultation, C1, cost 57.70 EUR on
1 September 2023); they are not the official tariff.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path

from portal.config import ROOT
from portal.core import csv_input
from portal.core.refused import Problem, Refused
from portal.extensions import db
from portal.models import Act

SOURCE = ROOT / "portal" / "content" / "nomenclature.csv"

# Euro value of one unit of each key letter, from 1 September 2023 (indicative).
KEY_LETTER_VALUES = {
    "C": Decimal("4.5078"),  # doctors' consultations and visits
    "D": Decimal("4.5078"),  # dentists' consultations and acts
    "K": Decimal("0.8600"),  # technical acts
}


def fee_cents(key_letter: str, coefficient: Decimal) -> int:
    euros = KEY_LETTER_VALUES[key_letter] * coefficient
    return int((euros * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class ActRow:
    code: str
    key_letter: str
    coefficient: Decimal
    fee_cents: int
    effective_from: date
    category: str
    description_en: str
    description_fr: str
    description_de: str


class ScheduleRefused(Refused):
    pass


COLUMNS = ("code", "key_letter", "coefficient", "effective_from", "category",
           "description_en", "description_fr", "description_de")
TEXT_LENGTHS = {"code": 10, "category": 20, "description_en": 200, "description_fr": 200, "description_de": 200}
# A new act of these categories is paid directly to the doctor (migration 0018 marked the
# existing ones); the flag of an act already in the table is the fund's, and a load keeps it.
DIRECT_PAYMENT_CATEGORIES = ("general_practice", "specialist", "dentistry")
FIELDS = ("key_letter", "coefficient", "fee_cents", "category", "description_en", "description_fr", "description_de")
MAX_COEFFICIENT = Decimal("999999.99")  # Act.coefficient is NUMERIC(8, 2)


def _coefficient(value: str) -> Decimal:
    try:
        coefficient = Decimal(value)
    except ArithmeticError:
        raise ValueError("not a number (write 12.80, with a dot)") from None
    if not coefficient.is_finite():
        raise ValueError("not a number (write 12.80, with a dot)")
    if coefficient <= 0:
        raise ValueError("must be greater than zero")
    if coefficient.as_tuple().exponent < -2:
        raise ValueError("at most two decimals")
    if coefficient > MAX_COEFFICIENT:
        raise ValueError(f"larger than {MAX_COEFFICIENT}")
    return coefficient


def _row(row: csv_input.Row) -> tuple[ActRow | None, list[Problem]]:
    cells, problems = row.cells, []
    for column, limit in TEXT_LENGTHS.items():
        if not cells[column]:
            problems.append(Problem(row.line, column, "empty"))
        elif len(cells[column]) > limit:
            problems.append(Problem(row.line, column, f"longer than {limit} characters"))
    key_letter = cells["key_letter"].upper()
    if key_letter not in KEY_LETTER_VALUES:
        problems.append(Problem(row.line, "key_letter", f"not a key letter ({', '.join(KEY_LETTER_VALUES)})"))
    parsed = {}
    for column, parse in (("coefficient", _coefficient), ("effective_from", csv_input.iso_date)):
        try:
            parsed[column] = parse(cells[column])
        except ValueError as error:
            problems.append(Problem(row.line, column, str(error)))
    if problems:
        return None, problems
    return ActRow(
        code=cells["code"].upper(),
        key_letter=key_letter,
        coefficient=parsed["coefficient"],
        fee_cents=fee_cents(key_letter, parsed["coefficient"]),
        effective_from=parsed["effective_from"],
        category=cells["category"],
        description_en=cells["description_en"],
        description_fr=cells["description_fr"],
        description_de=cells["description_de"],
    ), []


def read(path: Path = SOURCE, *, encoding: str = "utf-8") -> list[ActRow]:
    """Every act of a fee schedule, checked; raises ScheduleRefused naming every bad cell."""
    table = csv_input.read(path, encoding=encoding, columns=COLUMNS, required=COLUMNS)
    problems, rows, first_line = list(table.problems), [], {}
    for raw in table.rows:
        row, found = _row(raw)
        problems.extend(found)
        if row is None:
            continue
        key = (row.code, row.effective_from)
        if key in first_line:
            problems.append(Problem(raw.line, "code", f"{row.code} from {row.effective_from} is also on line {first_line[key]}"))
            continue
        first_line[key] = raw.line
        rows.append(row)
    if problems:
        raise ScheduleRefused(*problems)
    return rows


@dataclass
class Change:
    row: ActRow
    act: Act | None  # the stored act, None for a new one
    fields: list[str]  # what would change in a stored act


def changes(rows: list[ActRow]) -> list[Change]:
    """What loading these rows would do: each act new, changed (which fields) or the same."""
    stored = {(a.code, a.effective_from): a for a in db.session.scalars(db.select(Act))}
    found = []
    for row in rows:
        act = stored.get((row.code, row.effective_from))
        fields = [] if act is None else [f for f in FIELDS if getattr(act, f) != getattr(row, f)]
        found.append(Change(row, act, fields))
    return found


def load(path: Path = SOURCE, *, encoding: str = "utf-8", dry_run: bool = False) -> list[Change]:
    """Insert or update the acts of a fee schedule, all or none; returns what changed (or would)."""
    planned = changes(read(path, encoding=encoding))
    if dry_run:
        return planned
    for change in planned:
        act = change.act
        if act is None:
            act = Act(code=change.row.code, effective_from=change.row.effective_from,
                      is_direct_payment_eligible=change.row.category in DIRECT_PAYMENT_CATEGORIES)
            db.session.add(act)
        for name in FIELDS:
            setattr(act, name, getattr(change.row, name))
    catalogue.cache_clear()
    return planned


@dataclass(frozen=True)
class CatalogueEntry:
    id: int
    code: str
    fee_cents: int
    effective_from: date
    category: str
    descriptions: dict
    is_direct_payment_eligible: bool = False


@lru_cache(maxsize=1)
def catalogue() -> tuple[CatalogueEntry, ...]:
    """Every act of every schedule, read once per process (the table changes by deploy)."""
    acts = db.session.scalars(db.select(Act).order_by(Act.code, Act.effective_from)).all()
    return tuple(
        CatalogueEntry(a.id, a.code, a.fee_cents, a.effective_from, a.category,
                       {"en": a.description_en, "fr": a.description_fr, "de": a.description_de},
                       a.is_direct_payment_eligible)
        for a in acts
    )


def act_on(code: str, on: date) -> CatalogueEntry | None:
    """The act with this code in force on a date (the latest schedule not after it)."""
    code = (code or "").strip().upper()
    matches = [a for a in catalogue() if a.code == code and a.effective_from <= on]
    return matches[-1] if matches else None


def current(on: date) -> list[CatalogueEntry]:
    latest: dict[str, CatalogueEntry] = {}
    for act in catalogue():
        if act.effective_from <= on:
            latest[act.code] = act
    return sorted(latest.values(), key=lambda a: (a.category, a.code))


def search(query: str, on: date, language: str, limit: int = 12) -> list[CatalogueEntry]:
    words = (query or "").strip().lower().split()
    found = [
        act for act in current(on)
        if all(word in act.code.lower() or word in act.descriptions.get(language, "").lower() for word in words)
    ]
    return found[:limit]
