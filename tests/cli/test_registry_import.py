"""flask --app app registry import: nothing lost, nothing half-written, every error located."""

from __future__ import annotations

import json
from datetime import date

import pytest

from portal.core.identity import make_iban, make_matricule
from portal.extensions import db
from portal.models import AuditEvent, Patient
from tests.fixtures.cli import refused
from tests.fixtures.clients import page, sign_in

HEADER = "matricule,surname,given_name,birth_date,mobile,email,fund,iban"
TOM = make_matricule(date(1971, 2, 3), 777)
NEW_IBAN = make_iban("LU", "0019400644750000")


@pytest.fixture
def run_import(runner, tmp_path):
    """run_import(text, *options, encoding="utf-8") → the command's result."""

    def run(text: str, *options: str, encoding: str = "utf-8"):
        path = tmp_path / "registry.csv"
        path.write_bytes(text.encode(encoding))
        return runner.invoke(args=["registry", "import", str(path), *options])

    return run


@pytest.fixture
def kept(make_patient):
    """A registered person with a bank account, a mobile number and an e-mail address."""
    person = make_patient(given_name="Anne", surname="Kremer").profile
    person.email = "anne.kremer@example.lu"
    db.session.commit()
    return person


def row(person: Patient, **cells) -> str:
    values = {"matricule": person.matricule, "surname": person.surname, "given_name": person.given_name,
              "birth_date": person.birth_date.isoformat(), "mobile": "", "email": "", "fund": "", "iban": ""}
    values.update(cells)
    return ",".join(values[name] for name in HEADER.split(","))


def snapshot(person: Patient) -> tuple:
    db.session.refresh(person)
    return (person.surname, person.given_name, person.mobile, person.email, person.fund, person.iban)


def registry_events() -> list[AuditEvent]:
    return db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.event.like("registry.%")).order_by(AuditEvent.id)
    ).all()


def test_loads_valid_rows_in_their_normal_forms(run_import, app_ctx):
    result = run_import(f"{HEADER}\n{TOM},Feller,Tom,1971-02-03,621 123 456,Tom.Feller@EXAMPLE.lu,cmfec,"
                        "LU28 0019 4006 4475 0000\n")
    assert result.exit_code == 0, result.output
    person = db.session.scalar(db.select(Patient).where(Patient.matricule == TOM))
    assert (person.mobile, person.email, person.fund, person.iban) == (
        "+352621123456", "Tom.Feller@example.lu", "CMFEC", "LU280019400644750000")


def test_blank_cells_keep_the_stored_bank_account_mobile_and_email(run_import, kept, app_ctx):
    iban, mobile, email, fund = kept.iban, kept.mobile, kept.email, kept.fund
    result = run_import(f"{HEADER}\n{row(kept, surname='Kremer-Weis')}\n")
    assert result.exit_code == 0, result.output
    assert snapshot(kept) == ("Kremer-Weis", "Anne", mobile, email, fund, iban)


def test_a_file_without_the_optional_columns_keeps_them_too(run_import, kept, app_ctx):
    before = snapshot(kept)
    result = run_import(f"matricule,surname,given_name,birth_date\n{kept.matricule},{kept.surname},"
                        f"{kept.given_name},{kept.birth_date}\n")
    assert result.exit_code == 0, result.output
    assert snapshot(kept) == before


def test_clear_empties_only_the_named_fields_of_blank_cells(run_import, kept, make_patient, app_ctx):
    other = make_patient(given_name="Luc").profile
    result = run_import(f"{HEADER}\n{row(kept)}\n{row(other, iban=NEW_IBAN)}\n", "--clear", "iban", "--clear", "email")
    assert result.exit_code == 0, result.output
    assert snapshot(kept)[2:] == ("+352621123456", None, "CNS", None)  # the mobile was not named
    assert snapshot(other)[5] == NEW_IBAN  # a filled cell is written, not cleared


def test_clear_refuses_a_column_the_file_does_not_have(run_import, kept, app_ctx):
    before = snapshot(kept)
    result = run_import(f"matricule,surname,given_name,birth_date\n{row(kept)[:-4]}\n", "--clear", "iban")
    refused(result, "--clear iban: the file has no such column", "Nothing was written.")
    assert snapshot(kept) == before


def test_one_bad_row_refuses_the_file_and_changes_no_row(run_import, kept, app_ctx):
    before = snapshot(kept)
    result = run_import(
        f"{HEADER}\n"
        f"{row(kept, surname='Changed', iban=NEW_IBAN, mobile='691 000 000')}\n"
        f"{TOM},Feller,Tom,1971-02-03,,,,\n"
        f"{make_matricule(date(1990, 1, 1), 123)},Bad,Row,1990-01-01,,,,LU00 1234\n"
    )
    refused(result, "line 4, column iban: not a valid IBAN", "Nothing was written.")
    assert snapshot(kept) == before
    assert db.session.scalar(db.select(Patient).where(Patient.matricule == TOM)) is None
    assert registry_events() == []


@pytest.mark.parametrize(
    ("cells", "error"),
    [
        ({"matricule": "1971020377700"}, "column matricule: not a matricule (its check digits are wrong)"),
        ({"matricule": "12345"}, "column matricule: not a matricule (13 digits)"),
        ({"surname": ""}, "column surname: empty"),
        ({"given_name": "x" * 101}, "column given_name: longer than 100 characters"),
        ({"birth_date": "03/02/1971"}, "column birth_date: not a date in the form YYYY-MM-DD"),
        ({"birth_date": "1971-02-04"}, "column birth_date: does not match the birth date in the matricule"),
        ({"mobile": "12"}, "column mobile: not a"),
        ({"mobile": "+352 26 12 34"}, "column mobile: not a mobile number"),
        ({"email": "tom.example.lu"}, "column email: not a valid e-mail address"),
        ({"fund": "AXA"}, "column fund: not a health fund (CNS, CMFEP, CMFEC, EMCFL)"),
        ({"iban": "LU28 0019 4006 4475 0001"}, "column iban: not a valid IBAN"),
    ],
)
def test_every_error_names_its_line_and_column(run_import, app_ctx, cells, error):
    values = {"matricule": TOM, "surname": "Feller", "given_name": "Tom", "birth_date": "1971-02-03"} | cells
    line = ",".join(values.get(name, "") for name in HEADER.split(","))
    refused(run_import(f"{HEADER}\n\n{line}\n"), f"line 3, {error}")  # the blank line 2 still counts
    assert db.session.scalar(db.select(Patient).where(Patient.surname == "Feller")) is None


def test_a_matricule_twice_names_both_lines(run_import, app_ctx):
    line = f"{TOM},Feller,Tom,1971-02-03,,,,"
    refused(run_import(f"{HEADER}\n{line}\n{line.replace('Tom,', 'Thomas,')}\n"),
            "line 3, column matricule: the same matricule is on line 2")
    assert db.session.scalar(db.select(Patient).where(Patient.matricule == TOM)) is None


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (f"{HEADER},notes\n", "line 1: unknown column notes"),
        ("matricule,surname,birth_date\n", "line 1: missing column given_name"),
        (f"{HEADER}\n{TOM},Feller,Tom,1971-02-03\n", "line 2: 4 cells, but the header names 8 columns"),
        (f'{HEADER}\n{TOM},"Fel"ler,Tom,1971-02-03,,,,\n', "line 2: not readable as CSV"),
        (f"{HEADER}\n{TOM},Fel\x07ler,Tom,1971-02-03,,,,\n", "line 2, column surname: contains a line break or a control character"),
        ("", "The file is empty"),
    ],
)
def test_a_malformed_file_is_refused_with_its_line(run_import, app_ctx, text, error):
    refused(run_import(text), error)


def test_semicolons_and_a_byte_order_mark_are_read(run_import, kept, app_ctx):
    text = f"\ufeff{HEADER.replace(',', ';')}\n{TOM};Feller;Tom;1971-02-03;;;CMFEP;\n{row(kept, fund='EMCFL').replace(',', ';')}\n"
    result = run_import(text)
    assert result.exit_code == 0, result.output
    assert db.session.scalar(db.select(Patient.fund).where(Patient.matricule == TOM)) == "CMFEP"
    assert snapshot(kept)[4] == "EMCFL"


def test_a_latin_1_file_needs_its_encoding_named(run_import, app_ctx):
    text = f"{HEADER}\n{TOM},Müller,Zoé,1971-02-03,,,,\n"
    refused(run_import(text, encoding="latin-1"), "line 2: the file is not utf-8 text", "--encoding latin-1")
    assert db.session.scalar(db.select(Patient).where(Patient.matricule == TOM)) is None

    result = run_import(text, "--encoding", "latin-1", encoding="latin-1")
    assert result.exit_code == 0, result.output
    person = db.session.scalar(db.select(Patient).where(Patient.matricule == TOM))
    assert (person.surname, person.given_name) == ("Müller", "Zoé")


def test_an_unknown_encoding_is_refused(run_import, app_ctx):
    refused(run_import(f"{HEADER}\n", "--encoding", "klingon"), "Unknown encoding 'klingon'")


def test_dry_run_names_the_fields_that_would_change_and_writes_nothing(run_import, kept, app_ctx):
    before = snapshot(kept)
    result = run_import(
        f"{HEADER}\n{row(kept, mobile='691 000 000', iban=NEW_IBAN)}\n{TOM},Feller,Tom,1971-02-03,,tom@example.lu,,\n",
        "--dry-run",
    )
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"{kept.matricule}: would change mobile, iban",
        f"{TOM}: would be created",
        "Dry run, nothing written: 1 to create, 1 to update, 0 unchanged.",
    ]
    assert snapshot(kept) == before
    assert db.session.scalar(db.select(Patient).where(Patient.matricule == TOM)) is None
    assert registry_events() == []


def test_the_audit_trail_names_whose_fields_changed_never_the_values(run_import, kept, app_ctx):
    result = run_import(
        f"{HEADER}\n{row(kept, mobile='691 000 000', iban=NEW_IBAN)}\n"
        f"{TOM},Feller,Tom,1971-02-03,,tom@example.lu,,\n"
    )
    assert result.exit_code == 0, result.output
    tom = db.session.scalar(db.select(Patient).where(Patient.matricule == TOM))
    events = [(e.event, e.patient_id, e.data) for e in registry_events()]
    assert events == [
        ("registry.entry_created", tom.id, {"fields": ["surname", "given_name", "birth_date", "email", "fund"]}),
        ("registry.entry_updated", kept.id, {"fields": ["mobile", "iban"]}),
        ("registry.imported", None, {"created": 1, "updated": 1}),
    ]
    trail = json.dumps([e.data for e in registry_events()])
    for value in (NEW_IBAN, "+352691000000", "tom@example.lu", "Feller", TOM, kept.matricule):
        assert value not in trail


def test_an_unchanged_file_writes_no_entry_event(run_import, kept, app_ctx):
    result = run_import(f"{HEADER}\n{row(kept)}\n")
    assert result.exit_code == 0, result.output
    assert "Imported 0 new and 0 updated insured persons (1 unchanged)." in result.output
    assert [e.event for e in registry_events()] == ["registry.imported"]


def test_the_person_sees_the_update_in_their_access_log(run_import, make_patient, app, app_ctx):
    person = make_patient()
    assert run_import(f"{HEADER}\n{row(person.profile, iban=NEW_IBAN)}\n").exit_code == 0
    client = app.test_client()
    sign_in(client, person)
    html = page(client.get("/patient/my-data/access-log?lang=en"))
    entries = [[cell.get_text(" ", strip=True) for cell in tr.find_all(["th", "td"])]
               for tr in html.select("table.access-log tbody tr")]
    assert ["The portal (automatically)", "Updated your entry from the register of insured persons"] in [
        entry[1:3] for entry in entries]


# --- The coverage period (direct payment needs the date of service inside it) -----------------

COVERED = f"{HEADER},covered_from,covered_until"


def test_the_coverage_period_is_imported_and_can_be_opened_again(run_import, kept, app_ctx):
    line = row(kept) + ",2020-01-01,2026-06-30"
    assert run_import(f"{COVERED}\n{line}\n").exit_code == 0
    db.session.refresh(kept)
    assert (kept.covered_from, kept.covered_until) == (date(2020, 1, 1), date(2026, 6, 30))
    result = run_import(f"{COVERED}\n{row(kept)},2020-01-01,\n", "--clear", "covered_until")
    assert result.exit_code == 0, result.output
    db.session.refresh(kept)
    assert (kept.covered_from, kept.covered_until) == (date(2020, 1, 1), None)


@pytest.mark.parametrize(("cells", "error"), [
    ("2020-01-01,2019-12-31", "line 2, column covered_until: ends before covered_from"),
    ("01/01/2020,", "line 2, column covered_from: not a date in the form YYYY-MM-DD"),
])
def test_a_bad_coverage_period_is_refused(run_import, kept, app_ctx, cells, error):
    before = (kept.covered_from, kept.covered_until)
    refused(run_import(f"{COVERED}\n{row(kept)},{cells}\n"), error, "Nothing was written.")
    db.session.refresh(kept)
    assert (kept.covered_from, kept.covered_until) == before
