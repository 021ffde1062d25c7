"""flask --app app nomenclature load: all acts or none, every error located, and a dry run."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from portal.extensions import db
from portal.models import Act
from tests.fixtures.cli import refused

HEADER = "code,key_letter,coefficient,effective_from,category,description_en,description_fr,description_de"
NEW = "Z9,C,10.00,2030-01-01,general_practice,Test act,Acte de test,Testleistung"


@pytest.fixture
def load(runner, tmp_path):
    def run(text: str | None, *options: str):
        args = ["nomenclature", "load", *options]
        if text is not None:
            path = tmp_path / "schedule.csv"
            path.write_text(text, encoding="utf-8")
            args.insert(2, str(path))
        return runner.invoke(args=args)

    return run


def acts() -> list[tuple]:
    return db.session.execute(
        db.select(Act.code, Act.effective_from, Act.coefficient, Act.fee_cents, Act.description_en).order_by(Act.id)
    ).all()


def test_the_shipped_schedule_loads_again_without_change(load, app_ctx):
    before = acts()
    result = load(None)
    assert result.exit_code == 0, result.output
    assert f"0 acts added, 0 updated, {len(before)} unchanged" in result.output
    assert acts() == before


def test_new_and_changed_acts_are_written(load, app_ctx):
    result = load(f"{HEADER}\n{NEW}\nC1,C,13.00,2023-09-01,general_practice,GP consultation,Consultation,Konsultation\n")
    assert result.exit_code == 0, result.output
    assert "1 acts added, 1 updated, 0 unchanged" in result.output
    c1 = db.session.scalar(db.select(Act).where(Act.code == "C1", Act.effective_from == date(2023, 9, 1)))
    assert (c1.coefficient, c1.fee_cents) == (Decimal("13.00"), 5860)


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("Z9,C,-1,2030-01-01,gp,a,b,c", "column coefficient: must be greater than zero"),
        ("Z9,C,0,2030-01-01,gp,a,b,c", "column coefficient: must be greater than zero"),
        ("Z9,C,1.234,2030-01-01,gp,a,b,c", "column coefficient: at most two decimals"),
        ('Z9,C,"12,80",2030-01-01,gp,a,b,c', "column coefficient: not a number"),
        ("Z9,C,NaN,2030-01-01,gp,a,b,c", "column coefficient: not a number"),
        ("Z9,C,1000000,2030-01-01,gp,a,b,c", "column coefficient: larger than 999999.99"),
        (",C,1,2030-01-01,gp,a,b,c", "column code: empty"),
        ("ABCDEFGHIJK,C,1,2030-01-01,gp,a,b,c", "column code: longer than 10 characters"),
        ("Z9,X,1,2030-01-01,gp,a,b,c", "column key_letter: not a key letter (C, D, K)"),
        ("Z9,C,1,01/01/2030,gp,a,b,c", "column effective_from: not a date in the form YYYY-MM-DD"),
        ("Z9,C,1,2030-02-30,gp,a,b,c", "column effective_from: not a date in the form YYYY-MM-DD"),
        ("Z9,C,1,2030-01-01,gp,a,,c", "column description_fr: empty"),
    ],
)
def test_a_bad_row_refuses_the_whole_schedule(load, app_ctx, line, error):
    before = acts()
    refused(load(f"{HEADER}\n{NEW.replace('Z9', 'Z8')}\n{line}\n"), f"line 3, {error}", "Nothing was written.")
    assert acts() == before


def test_every_bad_row_is_listed_in_line_order(load, app_ctx):
    output = refused(load(f"{HEADER}\nZ1,C,0,2030-01-01,gp,a,b,c\n{NEW}\nZ2,C,1,2030-13-01,gp,a,b,c\n{NEW}\n"))
    lines = output.splitlines()
    assert lines[0] == "Error: line 2, column coefficient: must be greater than zero"
    assert lines[1:] == [
        "line 4, column effective_from: not a date in the form YYYY-MM-DD",
        "line 5, column code: Z9 from 2030-01-01 is also on line 3",
        "Nothing was written.",
    ]


def test_a_dry_run_names_the_changes_and_writes_nothing(load, app_ctx):
    before = acts()
    result = load(f"{HEADER}\n{NEW}\nC1,C,13.00,2023-09-01,general_practice,GP consultation,Consultation,Konsultation\n",
                  "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "Z9 from 2030-01-01: would be added",
        "C1 from 2023-09-01: would change coefficient, fee_cents, description_en, description_fr, description_de",
        "Dry run, nothing written: 1 to add, 1 to update, 0 unchanged.",
    ]
    assert acts() == before
