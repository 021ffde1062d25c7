"""Versioned terms of use: a new version stops every role until it is accepted."""

import pytest

from portal.accounts import terms
from portal.extensions import db
from portal.models import Fund, TermsDecision, TermsVersion
from tests.fixtures.clients import fresh_code, in_english, page, sign_in, text_of

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


FORM = {"text_fr": "Version deux", "text_de": "Version zwei", "text_en": "Version two", "confirm": "y"}


@pytest.fixture
def administrator(app, make_staff, published):
    person = make_staff(administrator=True)
    client = app.test_client()
    sign_in(client, person)
    client.post("/terms/accept", data={"accept": "y", "submit": "1"})
    return client, person


def test_publishing_from_the_staff_page(administrator, published):
    staff, person = administrator
    response = staff.post("/cns/terms", data={**FORM, "code": fresh_code(person)})
    assert response.status_code == 303
    assert terms.current_version().number == published.number + 1
    # The staff member who published it must accept it too.
    assert staff.get("/cns/").headers["Location"].startswith("/terms/accept")


def test_publishing_needs_all_three_languages(administrator, published):
    staff, person = administrator
    response = staff.post("/cns/terms", data={
        "text_fr": "Version deux", "text_de": "", "text_en": "x", "confirm": "y", "code": fresh_code(person)})
    assert response.status_code == 400
    assert terms.current_version().number == published.number


@pytest.mark.parametrize("fund", [Fund.CNS, Fund.CMFEP])
def test_an_agent_who_is_not_an_administrator_cannot_publish(app, make_staff, published, fund):
    person = make_staff(fund=fund)
    staff = app.test_client()
    sign_in(staff, person)
    staff.post("/terms/accept", data={"accept": "y", "submit": "1"})
    assert "Publish the new version" not in in_english(staff).get("/cns/terms").get_data(as_text=True)
    response = staff.post("/cns/terms", data={**FORM, "code": fresh_code(person)})
    assert response.status_code == 403
    assert terms.current_version().number == published.number


def test_a_cmfep_agent_flagged_administrator_still_cannot_publish(app, make_staff, published):
    person = make_staff(fund=Fund.CMFEP, administrator=True)  # set behind the operator command's back
    staff = app.test_client()
    sign_in(staff, person)
    staff.post("/terms/accept", data={"accept": "y", "submit": "1"})
    assert staff.post("/cns/terms", data={**FORM, "code": fresh_code(person)}).status_code == 403
    assert terms.current_version().number == published.number


def test_publishing_without_a_fresh_code_publishes_nothing(administrator, published):
    staff, person = administrator
    assert staff.post("/cns/terms", data=FORM).status_code == 400
    assert staff.post("/cns/terms", data={**FORM, "code": "000000"}).status_code == 400
    assert terms.current_version().number == published.number
    db.session.refresh(person.account.credential)
    assert person.account.credential.failed_attempts == 1  # the wrong code counts, the missing one not


def test_a_replayed_code_publishes_nothing(administrator, published):
    staff, person = administrator
    code = fresh_code(person)
    assert staff.post("/cns/terms", data={**FORM, "code": code}).status_code == 303
    staff.post("/terms/accept", data={"accept": "y", "submit": "1"})
    again = {**FORM, "text_en": "Version three", "code": code}
    assert staff.post("/cns/terms", data=again).status_code == 400
    assert terms.current_version().number == published.number + 1


def test_rendering_escapes_markup():
    html = terms.render("## Title <b>\n\n<script>alert(1)</script>\n\n- one\n- two")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<h2>Title &lt;b&gt;</h2>" in html and "<ul><li>one</li><li>two</li></ul>" in html


def test_the_public_page_shows_the_current_version(client, published):
    response = client.get("/terms?lang=en")
    assert "Purpose" in text_of(response)


def test_a_version_published_by_another_instance_is_met_within_the_cache_window(app, people, published, monkeypatch):
    """Each process keeps the current number for terms.CURRENT_SECONDS instead of asking on every page."""
    client = app.test_client()
    sign_in(client, people["patient"])
    assert client.get("/patient/").status_code == 303  # the fixture's version, to accept
    client.post("/terms/accept", data={"accept": "y", "submit": "1"})
    assert client.get("/patient/").status_code == 200
    with app.app_context():
        # Another instance publishes: this process does not hear of it (no forget_current here).
        db.session.add(TermsVersion(number=published.number + 1, text_fr="fr", text_de="de", text_en="en"))
        db.session.commit()
    assert client.get("/patient/").status_code == 200  # still within the window
    clock_now = terms.time.monotonic() + terms.CURRENT_SECONDS + 1
    monkeypatch.setattr(terms.time, "monotonic", lambda: clock_now)
    response = client.get("/patient/")
    assert response.status_code == 303 and response.headers["Location"].startswith("/terms/accept")


def test_a_publication_rolled_back_is_not_kept_as_the_current_version(app_ctx, published):
    terms.publish({"fr": "a", "de": "b", "en": "c"})
    assert terms.current_number() == published.number + 1  # seen inside its own transaction
    db.session.rollback()
    assert terms.current_number() == published.number


def test_accepting_records_the_newest_accepted_number_with_the_account(app_ctx, people, published):
    account = people["doctor"].account
    terms.decide(account, published, accepted=True)
    db.session.commit()
    assert account.terms_accepted == published.number and not terms.needs_decision(account)
    newer = terms.publish({"fr": "a", "de": "b", "en": "c"})
    db.session.commit()
    terms.decide(account, newer, accepted=False)
    db.session.commit()
    assert account.terms_accepted == published.number and terms.needs_decision(account)
