"""After sharing invoices, asking for an export and erasing the account, the next page opens on a
confirmation panel: a heading, the reference, what happens next. It takes the focus once (autofocus
on the page, data-focus-after-swap for htmx) and is not shown again on a reload."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.core import jobs
from portal.extensions import db
from portal.models import Claim, DataRequest, ErasureTombstone
from tests.fixtures.clients import fresh_code, page, signed_in_as, text_of

HTMX = {"HX-Request": "true"}


def _focused(panel) -> bool:
    return panel.has_attr("autofocus") and panel.has_attr("data-focus-after-swap") and panel["tabindex"] == "-1"


def test_sharing_opens_the_claims_page_on_a_panel_naming_each_claim(app, people, make_invoice):
    patient, doctor = people["patient"], people["doctor"]
    first, second = make_invoice(patient, doctor), make_invoice(patient, doctor, days_ago=10)
    browser = signed_in_as(app, patient, lang="en")
    response = browser.post("/patient/invoices/share", data={"invoice": [str(first.id), str(second.id)]})
    assert response.status_code == 303 and response.headers["Location"].endswith("/patient/claims")

    # An htmx request for the list's rows (paging) leaves the panel for the page itself.
    assert page(browser.get("/patient/claims", headers=HTMX)).select_one("#shared-done") is None
    shown = page(browser.get("/patient/claims"))
    panel = shown.select_one("main #shared-done")
    assert panel is not None and _focused(panel)
    assert panel["aria-labelledby"] == "shared-done-title"
    assert panel.h2.get_text(strip=True) == "Your 2 invoices have been sent to your health fund"
    text = " ".join(panel.get_text(" ").split())
    for claim in db.session.scalars(select(Claim).where(Claim.patient_id == patient.profile.id)):
        assert f"Claim {claim.reference}: invoice {claim.invoice.number} from {doctor.profile.name}" in text
    assert "What happens next" in text and "you get a notice in the portal" in text
    assert "2 working days after its decision, into your bank account LU" in text
    assert patient.profile.iban[-4:] in text and patient.profile.iban[4:-4] not in text.replace(" ", "")  # masked
    assert panel.select_one("a[href='/patient/settings/messages']") is not None

    again = page(browser.get("/patient/claims"))  # a reload: nothing new happened
    assert again.select_one("#shared-done") is None


def test_a_single_shared_invoice_reads_in_the_singular(app, people, make_invoice):
    patient, doctor = people["patient"], people["doctor"]
    invoice = make_invoice(patient, doctor)
    browser = signed_in_as(app, patient, lang="fr")
    browser.post("/patient/invoices/share", data={"invoice": str(invoice.id)})
    panel = page(browser.get("/patient/claims")).select_one("#shared-done")
    assert panel.h2.get_text(strip=True) == "Votre mémoire d'honoraires a été transmis à votre caisse de maladie"


@pytest.fixture
def held(monkeypatch):
    """The export job waits, as it does behind a worker, so the page sees it under way."""
    waiting = []
    monkeypatch.setattr(jobs, "enqueue", lambda func, *args, **kwargs: waiting.append((func, args, kwargs)))
    return waiting


def test_an_export_request_opens_on_a_panel_then_the_ready_file_takes_the_focus(app, people, held):
    patient = people["patient"]
    browser = signed_in_as(app, patient, lang="en")
    response = browser.post("/patient/my-data/export")
    assert response.status_code == 303
    reference = db.session.scalar(select(DataRequest.reference).where(
        DataRequest.patient_id == patient.profile.id, DataRequest.kind == "export"))

    shown = page(browser.get(response.headers["Location"]))
    panel = shown.select_one("#export #export-requested")
    assert panel is not None and _focused(panel)
    assert panel.h3.get_text(strip=True) == "Your export is requested"
    assert panel.select_one(".panel-reference strong").get_text() == reference
    text = " ".join(panel.get_text(" ").split())
    assert "What happens next" in text and "for one hour, from this browser only" in text
    assert shown.select_one("#export-ready") is None  # not built yet
    assert page(browser.get("/patient/my-data")).select_one("#export-requested") is None  # once

    ((job, args, kwargs),) = held
    job(*args, **kwargs)
    polled = page(browser.get("/patient/my-data/export/progress", headers=HTMX))
    ready = polled.select_one("#export-ready")
    assert ready is not None and ready.has_attr("data-focus-after-swap")  # focus.js moves the focus there
    assert ready.h3.get_text(strip=True) == "Your export is ready"
    assert "The link works until" in ready.get_text()
    # Coming back to the page later: the panel is there to read, but does not pull the focus.
    later = page(browser.get("/patient/my-data")).select_one("#export-ready")
    assert later is not None and not later.has_attr("autofocus")


def test_the_erased_page_is_a_panel_with_the_reference_and_what_follows(app, make_patient, make_claim, people):
    person = make_patient()
    make_claim(person, people["doctor"])  # sent, not decided: the fund still decides it
    browser = signed_in_as(app, person, lang="en")
    browser.get("/patient/my-data/erase")
    response = browser.post("/patient/my-data/erase?lang=en", data={
        "password": person.password, "code": fresh_code(person), "confirmation": "ERASE"})
    assert response.status_code == 303
    reference = db.session.scalar(select(ErasureTombstone.reference))

    shown = browser.get("/erased?lang=en")
    panel = page(shown).select_one("main #erased-done")
    assert panel is not None and _focused(panel)
    assert panel.h1.get_text(strip=True) == "Your account has been erased"
    assert panel.select_one(".panel-reference strong").get_text() == reference
    text = text_of(shown)
    assert "What happens next" in text
    assert "The health fund still decides the claim it had not decided yet" in text

    again = browser.get("/erased?lang=en")
    panel = page(again).select_one("#erased-done")
    assert reference not in text_of(again) and not panel.has_attr("autofocus")
    assert "still decides" not in text_of(again)
