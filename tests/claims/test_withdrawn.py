"""A withdrawn claim says so, to the patient and to the staff, in the list and on its page;
the patient's list of claims says how many there are."""

from __future__ import annotations

import pytest

from tests.fixtures.clients import page, text_of


@pytest.mark.parametrize(("language", "state", "heading"), [
    ("fr", "Retirée", "Vous avez retiré cette demande"),
    ("de", "Zurückgezogen", "Sie haben diesen Erstattungsantrag zurückgezogen"),
    ("en", "Withdrawn", "You withdrew this claim"),
])
def test_the_patient_sees_a_withdrawn_claim_as_withdrawn(patient_client, people, make_claim, language, state, heading):
    claim = make_claim(people["patient"], people["doctor"], state="withdrawn")
    listing = page(patient_client.get(f"/patient/claims?lang={language}"))
    row = listing.select_one("#claim-rows tbody tr")
    badge = row.select_one(".state")
    assert badge.get_text(strip=True) == state and "tone-neutral" in badge["class"]
    detail = page(patient_client.get(f"/patient/claims/{claim.id}?lang={language}"))
    assert detail.h1.select_one(".state").get_text(strip=True) == state
    assert detail.select_one("#withdrawn-heading").get_text(strip=True) == heading
    assert detail.find("a", href=f"/patient/invoices/{claim.invoice_id}") is not None


def test_the_withdrawn_row_says_nothing_is_paid(english_patient_client, people, make_claim):
    make_claim(people["patient"], people["doctor"], state="withdrawn")
    row = page(english_patient_client.get("/patient/claims")).select_one("#claim-rows tbody tr")
    assert "none: you withdrew it" in row.get_text() and "not decided yet" not in row.get_text()


def test_the_agent_sees_a_withdrawn_claim_as_withdrawn(staff_client, people, make_claim):
    claim = make_claim(people["patient"], people["doctor"], state="withdrawn")
    queue = page(staff_client.get("/cns/claims?state=withdrawn&lang=en"))
    assert queue.select_one("table.queue tbody tr .state").get_text(strip=True) == "Withdrawn"
    shown = staff_client.get(f"/cns/claims/{claim.id}?lang=en")
    notice = page(shown).select_one(".withdrawn-notice")
    assert notice is not None and "Withdrawn by the patient on" in notice.get_text()
    assert "there is nothing to decide" in text_of(shown)


@pytest.mark.parametrize(("language", "one", "three"), [
    ("fr", "1 demande", "3 demandes"), ("de", "1 Erstattungsantrag", "3 Erstattungsanträge"),
    ("en", "1 claim", "3 claims"),
])
def test_the_patient_claim_list_counts_its_claims(patient_client, people, make_claim, language, one, three):
    make_claim(people["patient"], people["doctor"])
    count = page(patient_client.get(f"/patient/claims?lang={language}")).select_one(".result-count")
    assert count.get_text(strip=True) == one
    make_claim(people["patient"], people["doctor"], state="withdrawn")
    make_claim(people["patient"], people["doctor"])
    fragment = patient_client.get(f"/patient/claims?lang={language}", headers={"HX-Request": "true"})
    assert page(fragment).select_one(".result-count").get_text(strip=True) == three
