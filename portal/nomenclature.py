"""The nomenclature of medical acts and the statutory reimbursement rates.

Fees follow the key-letter system: fee = value of the key letter × coefficient of the
act. The values below are indicative (a GP consultation, C1, cost 57.70 EUR on
1 September 2023); they are not the official tariff.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path

from portal.config import ROOT

SOURCE = ROOT / "portal" / "content" / "nomenclature.csv"

# Euro value of one unit of each key letter, from 1 September 2023 (indicative).
KEY_LETTER_VALUES = {
    "C": Decimal("4.5078"),  # doctors' consultations and visits
    "D": Decimal("4.5078"),  # dentists' consultations and acts
    "K": Decimal("0.8600"),  # technical acts
}

ADULT_RATE = Decimal("0.88")  # outpatient doctor acts, insured persons of 18 and over
MINOR_RATE = Decimal("1.00")  # insured persons under 18 on the date of service


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


def read(path: Path = SOURCE) -> list[ActRow]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = []
        for raw in csv.DictReader(handle):
            coefficient = Decimal(raw["coefficient"])
            rows.append(
                ActRow(
                    code=raw["code"].strip().upper(),
                    key_letter=raw["key_letter"].strip(),
                    coefficient=coefficient,
                    fee_cents=fee_cents(raw["key_letter"].strip(), coefficient),
                    effective_from=date.fromisoformat(raw["effective_from"]),
                    category=raw["category"].strip(),
                    description_en=raw["description_en"].strip(),
                    description_fr=raw["description_fr"].strip(),
                    description_de=raw["description_de"].strip(),
                )
            )
    return rows


def load(path: Path = SOURCE) -> tuple[int, int]:
    """Insert or update the acts of a fee schedule; returns (created, updated)."""
    from portal.extensions import db
    from portal.models import Act

    created = updated = 0
    for row in read(path):
        act = db.session.scalar(
            db.select(Act).where(Act.code == row.code, Act.effective_from == row.effective_from)
        )
        if act is None:
            act = Act(code=row.code, effective_from=row.effective_from)
            db.session.add(act)
            created += 1
        else:
            updated += 1
        for field in ("key_letter", "coefficient", "fee_cents", "category", "description_en",
                      "description_fr", "description_de"):
            setattr(act, field, getattr(row, field))
    catalogue.cache_clear()
    return created, updated


@dataclass(frozen=True)
class CatalogueEntry:
    id: int
    code: str
    fee_cents: int
    effective_from: date
    category: str
    descriptions: dict


@lru_cache(maxsize=1)
def catalogue() -> tuple[CatalogueEntry, ...]:
    """Every act of every schedule, read once per process (the table changes by deploy)."""
    from portal.extensions import db
    from portal.models import Act

    acts = db.session.scalars(db.select(Act).order_by(Act.code, Act.effective_from)).all()
    return tuple(
        CatalogueEntry(a.id, a.code, a.fee_cents, a.effective_from, a.category,
                       {"en": a.description_en, "fr": a.description_fr, "de": a.description_de})
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
