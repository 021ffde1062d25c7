"""Invoice and statement PDFs are rendered once and kept: in the patient's language when the
document is issued (a job), in another language the first time someone reads it in that one.
A download is then a read; a voided invoice is rendered again; erasure and retention take them."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from pypdf import PdfReader

from portal.accounts import registry_import
from portal.claims import statement_pdf
from portal.core import clock, jobs
from portal.documents import stored
from portal.extensions import db
from portal.invoicing import invoice_pdf, invoices
from portal.models import Claim, DocumentKind, Invoice, StoredDocument
from portal.privacy import erasure, retention
from tests.fixtures.clients import sign_in


def _stored(**where) -> list[StoredDocument]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(StoredDocument).filter_by(**where).order_by(StoredDocument.id)))


def _text(content: bytes) -> str:
    return PdfReader(io.BytesIO(content)).pages[0].extract_text()


@pytest.fixture
def rendered(monkeypatch):
    """Counts the renderings of each kind, and still renders."""
    counts = {"invoice": 0, "statement": 0}

    def counting(kind, real):
        def render(*args):
            counts[kind] += 1
            return real(*args)
        return render

    monkeypatch.setattr(invoice_pdf, "render", counting("invoice", invoice_pdf.render))
    monkeypatch.setattr(statement_pdf, "render", counting("statement", statement_pdf.render))
    return counts


@pytest.fixture
def german(people):
    patient = people["patient"]
    patient.account.preferred_language = "de"
    db.session.commit()
    return patient


def test_issuing_an_invoice_renders_it_once_in_the_patients_language(app, german, people, make_invoice, rendered):
    invoice = make_invoice(german, people["doctor"])
    assert _stored(invoice_id=invoice.id) == [] and rendered["invoice"] == 0  # not before the commit's jobs run
    assert jobs.run_ready() == 1
    (row,) = _stored(invoice_id=invoice.id)
    assert (row.kind, row.language, row.patient_id) == (DocumentKind.INVOICE, "de", german.profile.id)
    assert b"%PDF" not in row.content  # encrypted, like uploads
    assert "Honorarnote" in _text(invoice_pdf.pdf_of(invoice, "de"))
    assert rendered["invoice"] == 1

    client = app.test_client()
    sign_in(client, german)
    response = client.get(f"/patient/invoices/{invoice.id}.pdf")
    assert response.status_code == 200 and "Honorarnote" in _text(response.data)
    assert rendered["invoice"] == 1, "the download read the stored PDF"


def test_another_language_is_rendered_on_first_request_then_read(app, german, people, make_invoice, rendered):
    invoice = make_invoice(german, people["doctor"])
    jobs.run_ready()
    client = app.test_client()
    sign_in(client, people["doctor"])
    first = client.get(f"/doctor/invoices/{invoice.id}.pdf?lang=en")
    assert first.status_code == 200 and f"Invoice {invoice.number}" in _text(first.data)
    assert rendered["invoice"] == 2
    assert [row.language for row in _stored(invoice_id=invoice.id)] == ["de", "en"]
    again = client.get(f"/doctor/invoices/{invoice.id}.pdf?lang=en")
    assert again.data == first.data and rendered["invoice"] == 2


def test_a_voided_invoice_is_rendered_again_saying_so(app, people, make_invoice, rendered):
    invoice = make_invoice(people["patient"], people["doctor"])
    jobs.run_ready()
    assert len(_stored(invoice_id=invoice.id)) == 1
    assert invoices.void(invoice, "wrong act")
    db.session.commit()
    assert _stored(invoice_id=invoice.id) == []
    client = app.test_client()
    sign_in(client, people["patient"])
    response = client.get(f"/patient/invoices/{invoice.id}.pdf?lang=en")
    assert "This invoice was voided." in _text(response.data)
    assert rendered["invoice"] == 2


def test_accepting_a_claim_renders_its_statement_once(app, people, make_claim, rendered):
    claim = make_claim(people["patient"], people["doctor"], people["cns"], state="accepted")
    jobs.run_ready()  # the invoice's job, then the statement's
    (row,) = _stored(statement_id=claim.statement.id)
    assert (row.kind, row.language, row.patient_id) == (DocumentKind.STATEMENT, "fr", people["patient"].profile.id)
    client = app.test_client()
    sign_in(client, people["patient"])
    response = client.get(f"/patient/claims/{claim.id}/statement.pdf?lang=fr")
    assert response.status_code == 200 and claim.statement.number in _text(response.data)
    assert rendered["statement"] == 1


def test_two_readers_rendering_at_once_store_it_once(people, make_invoice):
    invoice = make_invoice(people["patient"], people["doctor"])
    key = invoice_pdf.key_of(invoice)
    stored.keep(key, "en", b"first")
    stored.keep(key, "en", b"second")  # the unique key refuses it; the caller still has its copy
    assert stored.read(key, "en") == b"first"


def test_erasure_takes_every_stored_pdf_of_the_patient_even_a_kept_claims(people, make_claim, make_invoice):
    patient = people["patient"]
    claim = make_claim(patient, people["doctor"], people["cns"], state="accepted")
    loose_id = make_invoice(patient, people["doctor"]).id
    claim_id = claim.id
    jobs.run_ready()
    assert len(_stored(patient_id=patient.profile.id)) == 3  # two invoices and the statement
    erased = erasure.erase(patient.profile, patient.account)
    db.session.commit()
    assert erased.tombstone.scope["stored_documents"] == 3
    assert _stored() == []
    assert db.session.get(Claim, claim_id).statement is not None  # the claim itself is kept
    assert db.session.get(Invoice, loose_id) is None


def test_retention_deletes_the_stored_pdf_with_its_invoice(people, make_invoice):
    invoice = make_invoice(people["patient"], people["doctor"])
    jobs.run_ready()
    assert len(_stored(invoice_id=invoice.id)) == 1
    clock.freeze(clock.now() + timedelta(days=2 * 366 + 1))
    try:
        counts = retention.purge()
        db.session.commit()
    finally:
        clock.freeze(None)
    assert counts["invoices"] == 1
    assert _stored() == []


def test_a_registry_change_of_the_name_forgets_the_patients_pdfs(people, make_invoice, tmp_path):
    patient = people["patient"]
    invoice = make_invoice(patient, people["doctor"])
    jobs.run_ready()
    profile = patient.profile
    source = tmp_path / "registry.csv"
    header = "matricule,surname,given_name,birth_date\n"
    source.write_text(header + f"{profile.matricule},{profile.surname},{profile.given_name},{profile.birth_date}\n")
    registry_import.apply(registry_import.plan(source))  # nothing printed changed
    assert len(_stored(invoice_id=invoice.id)) == 1
    source.write_text(header + f"{profile.matricule},Kremer-Schmit,{profile.given_name},{profile.birth_date}\n")
    registry_import.apply(registry_import.plan(source))
    db.session.commit()
    assert _stored(invoice_id=invoice.id) == []
    assert "Kremer-Schmit" in _text(invoice_pdf.pdf_of(db.session.get(Invoice, invoice.id), "en"))
