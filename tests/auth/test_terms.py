"""Versioned terms of use: a new version stops every role until it is accepted."""

import pytest

from portal import terms
from portal.extensions import db
from portal.models import TermsDecision
from tests.fixtures.clients import page, sign_in, text_of

TEXTS = {"fr": "## Objet\n\nTexte.", "de": "## Gegenstand\n\nText.", "en": "## Purpose\n\nText."}
HOMES = {"patient": "/patient/", "doctor": "/doctor/", "cns": "/cns/"}


@pytest.fixture
def published(app_ctx):
    version = terms.publish(TEXTS)
    db.session.commit()
    return version


@pytest.mark.parametrize("role", ["patient", "doctor", "cns"])
def test_a_new_version_blocks_every_role_until_accepted(app, people, published, role):
    client = app.test_client()
    response = sign_in(client, people[role])
    home = HOMES[role]
    response = client.get(home)
    assert response.status_code == 303
    assert response.headers["Location"] == f"/terms/accept?next={home}"
    form = client.get(response.headers["Location"] + "&lang=en")
    assert "Purpose" in text_of(form)
    untick = client.post(f"/terms/accept?next={home}", data={"submit": "1"})
    assert untick.status_code == 200 and page(untick).select_one("#accept-error")
    accepted = client.post(f"/terms/accept?next={home}", data={"accept": "y", "submit": "1"})
    assert accepted.headers["Location"] == home
    assert client.get(home).status_code == 200
    decision = db.session.scalar(db.select(TermsDecision).where(TermsDecision.account_id == people[role].account.id))
    assert decision.is_accepted and decision.terms_version_id == published.id


def test_htmx_requests_are_sent_to_the_terms_page(app, people, published):
    client = app.test_client()
    sign_in(client, people["doctor"])
    response = client.get("/doctor/invoices", headers={"HX-Request": "true"})
    assert response.headers["HX-Redirect"].startswith("/terms/accept")


def test_refusing_signs_out_and_keeps_the_data_page_reachable(app, people, published):
    patient = people["patient"]
    client = app.test_client()
    sign_in(client, patient)
    response = client.post("/terms/accept", data={"refuse": "1"})
    assert response.headers["Location"] == "/terms/refused"
    assert "Manage my personal data" in text_of(client.get("/terms/refused?lang=en"))
    assert client.get("/patient/").headers["Location"].startswith("/login")
    decision = db.session.scalar(db.select(TermsDecision).where(TermsDecision.account_id == patient.account.id))
    assert decision.is_accepted is False
    # Signing in again: the portal is closed, but the personal-data page is open.
    sign_in(client, patient)
    assert client.get("/patient/invoices").headers["Location"].startswith("/terms/accept")
    assert client.get("/patient/my-data").status_code == 200


def test_publishing_from_the_staff_page(app, people, published):
    staff = app.test_client()
    sign_in(staff, people["cns"])
    staff.post("/terms/accept", data={"accept": "y", "submit": "1"})
    response = staff.post(
        "/cns/terms",
        data={"text_fr": "Version deux", "text_de": "Version zwei", "text_en": "Version two", "confirm": "y"},
    )
    assert response.status_code == 303
    assert terms.current_version().number == published.number + 1
    # The staff member who published it must accept it too.
    assert staff.get("/cns/").headers["Location"].startswith("/terms/accept")


def test_publishing_needs_all_three_languages(app, people, published):
    staff = app.test_client()
    sign_in(staff, people["cns"])
    staff.post("/terms/accept", data={"accept": "y", "submit": "1"})
    response = staff.post("/cns/terms", data={"text_fr": "Version deux", "text_de": "", "text_en": "x", "confirm": "y"})
    assert response.status_code == 400
    assert terms.current_version().number == published.number


def test_rendering_escapes_markup():
    html = terms.render("## Title <b>\n\n<script>alert(1)</script>\n\n- one\n- two")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<h2>Title &lt;b&gt;</h2>" in html and "<ul><li>one</li><li>two</li></ul>" in html


def test_the_public_page_shows_the_current_version(client, published):
    response = client.get("/terms?lang=en")
    assert "Purpose" in text_of(response)
