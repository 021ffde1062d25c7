"""English pages write dates day-month-year, as people in Luxembourg read them, and amounts with
the euro sign after them: never 11/29/26, Nov 29, 2026 or 2:05 PM."""

from __future__ import annotations

import re

import pytest

from tests.fixtures.clients import signed_in_as, text_of

US_DATE = re.compile(
    r"\b\d{1,2}/\d{1,2}/\d{2}\b"  # 11/29/26
    r"|\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]* \d{1,2}, \d{4}"  # Nov 29, 2026
    r"|\b\d{1,2}:\d{2}\s?[AP]M\b"  # 2:05 PM
    r"|€\d"  # €57.70
)
EUROPEAN_DATE = re.compile(r"\b\d{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]* \d{4}\b|\b\d{2}/\d{2}/\d{4}\b")


@pytest.fixture
def decided(people, make_claim):
    patient, doctor, staff = people["patient"], people["doctor"], people["cns"]
    make_claim(patient, doctor, staff, state="in_review")
    return make_claim(patient, doctor, staff, state="accepted"), make_claim(patient, doctor)  # one waiting in the queue


@pytest.mark.parametrize("role, paths", [
    ("patient", ["/patient/", "/patient/invoices", "/patient/claims", "/patient/claims/{accepted}",
                 "/patient/notifications"]),
    ("cns", ["/cns/claims", "/cns/claims/{open}"]),
])
def test_english_pages_write_dates_the_european_way(app, people, decided, role, paths):
    accepted, open_claim = decided
    browser = signed_in_as(app, people[role], lang="en")
    for path in paths:
        response = browser.get(path.format(accepted=accepted.id, open=open_claim.id))
        assert response.status_code == 200, path
        shown = text_of(response)
        assert not US_DATE.search(shown), (path, US_DATE.search(shown).group(0))
        assert EUROPEAN_DATE.search(shown), path  # the page does show dates


def test_the_claim_page_shows_the_day_of_service_day_first(app, people, decided):
    accepted, _open = decided
    browser = signed_in_as(app, people["patient"], lang="en")
    day = accepted.invoice.service_date
    shown = text_of(browser.get(f"/patient/claims/{accepted.id}"))
    assert f"{day.day} {day:%B} {day.year}" in shown or f"{day.day} {day:%b} {day.year}" in shown
