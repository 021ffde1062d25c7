"""The personal-data page shows everything the portal holds, group by group, with why,
from where, for whom and how long; and it stays open to a patient who refused the terms."""

from __future__ import annotations

from datetime import date

from portal.accounts import terms
from portal.extensions import db
from portal.privacy import personal_data, rights
from tests.fixtures.clients import page, sign_in, text_of
from tests.fixtures.queries import PAGE_BUDGET, count_queries


def test_every_group_is_shown_in_order_with_purpose_source_recipients_and_retention(english_patient_client, people):
    response = english_patient_client.get("/patient/my-data")
    assert response.status_code == 200
    html = page(response)
    assert len(html.find_all("h1")) == 1
    shown = [heading["id"].removeprefix("group-") for heading in html.select("section.data-group > h3")]
    assert shown == list(personal_data.GROUPS)
    for name in personal_data.GROUPS:
        about = html.select_one(f"section[aria-labelledby='group-{name}'] dl.about-data")
        terms_ = [dt.get_text(strip=True) for dt in about.find_all("dt")]
        assert terms_ == ["Why", "Where it comes from", "Who receives it", "How long it is kept"], name
        assert all(dd.get_text(strip=True) for dd in about.find_all("dd")), name
    text = text_of(response)
    for expected in ("Two years from the day the invoice was written", "legal record", "13 months, then deleted",
                     "CNPD", "Commission nationale pour la protection des données"):
        assert expected in text, expected
    assert html.find("a", href="https://cnpd.public.lu")


def test_identity_contact_and_masked_bank_account(english_patient_client, people):
    patient = people["patient"].profile
    html = page(english_patient_client.get("/patient/my-data"))
    identity = html.select_one("section[aria-labelledby='group-identity']").get_text(" ")
    for expected in (patient.full_name, patient.matricule, "CNS", "+352621123456", "English"):
        assert expected in identity, expected
    assert patient.iban not in identity and patient.iban[-4:] in identity
    assert html.select_one("section[aria-labelledby='group-identity'] a[href^='/patient/bank-account']")


def test_the_rights_each_have_a_heading_and_the_fragments_are_included(english_patient_client):
    html = page(english_patient_client.get("/patient/my-data"))
    for section in ("rectification", "restriction", "export", "consent", "erasure", "complaint"):
        assert html.select_one(f"section#{section} h2"), section
    links = {a["href"] for a in html.select("#rectification a")}
    assert {"/patient/my-data/contact", "/patient/my-data/correction"} <= links
    assert html.select_one("#restriction form[action='/patient/my-data/objection']")
    levels = [int(tag.name[1]) for tag in html.find_all(["h1", "h2", "h3", "h4"])]
    assert all(b - a <= 1 for a, b in zip(levels, levels[1:], strict=False)), levels


def test_counts_lists_and_links_of_what_is_held(english_patient_client, people, make_claim, make_invoice):
    patient, doctor = people["patient"], people["doctor"]
    claim = make_claim(patient, doctor)
    make_invoice(patient, doctor)
    rights.request_correction(patient.profile, "name", "My surname has an umlaut.", by=patient.account)
    db.session.commit()
    response = english_patient_client.get("/patient/my-data")
    text = text_of(response)
    assert "2 invoices." in text and "1 claim." in text
    consents = page(response).select_one("section[aria-labelledby='group-consents'] table")
    assert claim.reference in consents.get_text() and "Chosen by hand" in consents.get_text()
    requests = page(response).select_one("section[aria-labelledby='group-data_requests'] table").get_text(" ")
    assert "Correction: Name" in requests and "Not answered yet." in requests
    account = page(response).select_one("section[aria-labelledby='group-account']").get_text(" ")
    assert "Signed in" in account  # the sign-in of this very test, from the account's security history
    html = page(response)
    for href in ("/patient/invoices", "/patient/claims", "/patient/notifications", "/patient/my-data/access-log"):
        assert html.find("a", href=href), href


def test_the_page_stays_within_the_query_budget(english_patient_client, people, make_claim):
    for _ in range(3):
        make_claim(people["patient"], people["doctor"])
    english_patient_client.get("/patient/my-data")
    with count_queries() as statements:
        assert english_patient_client.get("/patient/my-data").status_code == 200
    assert len(statements) <= PAGE_BUDGET, statements


def test_a_patient_who_refused_the_terms_still_reaches_the_page_and_its_rights(app, people):
    terms.publish({"fr": "Texte.", "de": "Text.", "en": "Text."})
    db.session.commit()
    client = app.test_client()
    sign_in(client, people["patient"])
    client.post("/terms/accept", data={"refuse": "1"})
    sign_in(client, people["patient"])
    assert client.get("/patient/invoices").headers["Location"].startswith("/terms/accept")
    for url in ("/patient/my-data", "/patient/my-data/contact", "/patient/my-data/correction",
                "/patient/my-data/access-log"):
        assert client.get(url).status_code == 200, url
    assert "refused" in text_of(client.get("/patient/my-data?lang=en"))


def test_a_parent_sees_the_childs_data_in_the_childs_space(app, make_patient, make_child):
    parent = make_patient(given_name="Anne", surname="Schmit")
    child = make_child(parent, given_name="Léa", surname="Schmit", birth=date(2015, 6, 2), with_account=False)
    client = app.test_client()
    sign_in(client, parent)
    client.post("/patient/space", data={"space": str(child.profile.id)})
    response = client.get("/patient/my-data?lang=en")
    assert "Personal data of Léa Schmit" in text_of(response)
    assert child.profile.matricule in text_of(response)
    assert "No account of its own" in text_of(response)
    form = page(client.get("/patient/my-data/contact"))
    assert form.select_one("#mobile") and not form.select_one("#language")
