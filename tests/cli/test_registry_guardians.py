"""flask --app app registry import, the `guardians` column: the register says who a child's
guardians are; a file with one bad guardian cell is refused whole."""

from __future__ import annotations

from datetime import date

import pytest

from portal.core.identity import make_matricule
from portal.extensions import db
from portal.models import AuditEvent, Patient, RegistryGuardian
from tests.fixtures.cli import refused

HEADER = "matricule,surname,given_name,birth_date,guardians"
ANNE = make_matricule(date(1985, 3, 14), 123)
MARC = make_matricule(date(1983, 7, 1), 124)
LEA = make_matricule(date(2015, 6, 2), 211)
TOM = make_matricule(date(2013, 1, 9), 212)


@pytest.fixture
def run_import(runner, tmp_path):
    def run(text: str, *options: str):
        path = tmp_path / "registry.csv"
        path.write_text(text, encoding="utf-8")
        return runner.invoke(args=["registry", "import", str(path), *options])

    return run


def _links() -> set[tuple[str, str, str]]:
    rows = db.session.execute(
        db.select(RegistryGuardian.child_patient_id, RegistryGuardian.guardian_patient_id, RegistryGuardian.source)
    ).all()
    matricule = {p.id: p.matricule for p in db.session.scalars(db.select(Patient))}
    return {(matricule[child], matricule[guardian], source) for child, guardian, source in rows}


FAMILY = (
    f"{HEADER}\n"
    f"{ANNE},Schmit,Anne,1985-03-14,\n"
    f"{MARC},Schmit,Marc,1983-07-01,\n"
    f"{LEA},Schmit,Léa,2015-06-02,{ANNE} | {MARC}\n"
    f"{TOM},Schmit,Tom,2013-01-09,{ANNE}\n"
)


def test_guardians_are_loaded_with_the_people(run_import, app_ctx):
    result = run_import(FAMILY)
    assert result.exit_code == 0, result.output
    assert _links() == {(LEA, ANNE, "registry"), (LEA, MARC, "registry"), (TOM, ANNE, "registry")}
    events = db.session.scalars(db.select(AuditEvent).where(AuditEvent.event == "registry.entry_created")).all()
    assert sorted(e.data["fields"] for e in events)[-1] == ["surname", "given_name", "birth_date", "fund", "guardians"]
    # Nothing changes the second time; a blank cell keeps the stored guardians.
    again = run_import(FAMILY.replace(f"{TOM},Schmit,Tom,2013-01-09,{ANNE}", f"{TOM},Schmit,Tom,2013-01-09,"))
    assert "(4 unchanged)" in again.output, again.output
    assert len(_links()) == 3


def test_a_filled_cell_replaces_the_registers_guardians(run_import, app_ctx):
    run_import(FAMILY)
    result = run_import(f"{HEADER}\n{LEA},Schmit,Léa,2015-06-02,{MARC}\n")
    assert result.exit_code == 0, result.output
    assert {link for link in _links() if link[0] == LEA} == {(LEA, MARC, "registry")}


def test_dry_run_shows_the_guardians_and_writes_nothing(run_import, app_ctx):
    run_import(FAMILY.replace(f"{ANNE} | {MARC}", ANNE))
    result = run_import(f"{HEADER}\n{LEA},Schmit,Léa,2015-06-02,{ANNE} {MARC}\n", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "guardians" in result.output and MARC not in result.output.replace(f"{LEA}:", "")
    assert (LEA, MARC, "registry") not in _links()


@pytest.mark.parametrize(("cell", "error"), [
    ("12345", "line 3, column guardians: '12345' is not a matricule"),
    (f"{ANNE} {MARC} {TOM}", "line 3, column guardians: one or two matricules"),
    (f"{ANNE}|{ANNE}", "line 3, column guardians: the same guardian is named twice"),
    (make_matricule(date(1970, 1, 1), 999), "is neither in this file nor in the register"),
    (TOM, f"line 3, column guardians: {TOM} is under 18"),
    (LEA, "line 3, column guardians: a person cannot be their own guardian"),
])
def test_a_bad_guardian_refuses_the_whole_file(run_import, app_ctx, cell, error):
    text = (f"{HEADER}\n{ANNE},Schmit,Anne,1985-03-14,\n{LEA},Schmit,Léa,2015-06-02,{cell}\n"
            f"{TOM},Schmit,Tom,2013-01-09,\n")
    refused(run_import(text), error, "Nothing was written.")
    assert db.session.scalar(db.select(Patient)) is None
    assert _links() == set()


def test_an_adult_has_no_guardians_in_the_register(run_import, app_ctx):
    text = f"{HEADER}\n{ANNE},Schmit,Anne,1985-03-14,\n{MARC},Schmit,Marc,1983-07-01,{ANNE}\n"
    refused(run_import(text), "line 3, column guardians: only a person under 18 has guardians")
    assert db.session.scalar(db.select(Patient)) is None
