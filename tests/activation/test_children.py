"""A parent activates and opens a child's space, until the child turns 18."""

from datetime import date, timedelta

from portal.core import clock
from portal.extensions import db
from portal.models import GuardianLink
from tests.fixtures.activation import activate
from tests.fixtures.clients import page, sign_in, text_of


def _child_code(issue_code, child, parent, doctor):
    return issue_code(child.profile, doctor.profile, guardian=parent.profile)


def test_a_parent_links_a_child_and_switches_spaces(app, make_patient, make_doctor, issue_code):
    parent = make_patient(given_name="Anne", surname="Schmit")
    child = make_patient(given_name="Léa", surname="Schmit", birth=date(2015, 6, 2), with_account=False)
    doctor = make_doctor()
    _, token = _child_code(issue_code, child, parent, doctor)
    client = app.test_client()
    client.get(f"/activate/{token}")
    response = client.post("/activate/continue", data={"birth_date": "2015-06-02"})
    assert response.headers["Location"] == "/activate/continue"
    # Not signed in: the page asks the parent to sign in first, then come back.
    assert "Sign in" in text_of(client.get("/activate/continue?lang=en"))
    sign_in(client, parent)
    response = client.post("/activate/continue", data={"submit": "1"})
    assert response.headers["Location"] == "/patient/"
    home = client.get("/patient/?lang=en")
    assert "Léa Schmit" in text_of(home)
    options = [o.get_text() for o in page(home).select("#space-select option")]
    assert "Léa" in options
    client.post("/patient/space", data={"space": "self"})
    assert "Hello Anne" in text_of(client.get("/patient/?lang=en"))
    link = db.session.scalar(db.select(GuardianLink))
    client.post("/patient/space", data={"space": str(link.child_patient_id)})
    assert "Léa Schmit" in text_of(client.get("/patient/?lang=en"))
    db.session.refresh(child.profile)
    assert child.profile.account is not None and child.profile.account.id != parent.account.id


def test_another_adult_cannot_redeem_the_childs_code(app, make_patient, make_doctor, issue_code):
    parent, stranger = make_patient(), make_patient(given_name="Eve", surname="Other")
    child = make_patient(birth=date(2016, 1, 1), with_account=False)
    _, token = _child_code(issue_code, child, parent, make_doctor())
    client = app.test_client()
    sign_in(client, stranger)
    client.get(f"/activate/{token}")
    client.post("/activate/continue", data={"birth_date": "2016-01-01"})
    response = client.post("/activate/continue", data={"submit": "1"})
    assert response.status_code == 200
    assert db.session.scalar(db.select(GuardianLink)) is None


def test_the_link_ends_when_the_child_turns_18(app, make_patient, make_doctor, issue_code):
    parent = make_patient()
    child = make_patient(given_name="Tom", birth=date(2009, 1, 10), with_account=False)
    _, token = _child_code(issue_code, child, parent, make_doctor())
    client = app.test_client()
    sign_in(client, parent)
    client.get(f"/activate/{token}")
    client.post("/activate/continue", data={"birth_date": "2009-01-10"})
    client.post("/activate/continue", data={"submit": "1"})
    assert "Tom" in text_of(client.get("/patient/?lang=en"))
    clock.freeze(clock.now().replace(year=2027, month=1, day=10) + timedelta(hours=12))
    second = app.test_client()
    sign_in(second, parent)
    home = second.get("/patient/?lang=en")
    assert "Tom" not in text_of(home)
    assert second.post("/patient/space", data={"space": str(child.profile.id)}).status_code == 404
    link = db.session.scalar(db.select(GuardianLink))
    db.session.refresh(link)
    assert link.ended_reason == "adult"

    # Now an adult, Tom gets a code of his own and activates it himself: no parent involved.
    _, own_token = issue_code(child.profile, make_doctor().profile)
    activate(app.test_client(), own_token, date(2009, 1, 10), password="an orange kite over the valley")
    db.session.refresh(child.profile)
    assert child.profile.account.status == "active"
    assert "Tom" not in text_of(second.get("/patient/?lang=en"))


def test_a_child_code_needs_the_parent(app, make_patient, make_doctor):
    child = make_patient(birth=date(2014, 3, 3), with_account=False)
    doctor = make_doctor()
    client = app.test_client()
    sign_in(client, doctor)
    response = client.post("/doctor/activations?lang=en", data={
        "matricule": child.profile.matricule, "birth_date": child.profile.birth_date.isoformat(), "document_type": "identity_card", "document_last4": "AB12",
        "mobile": "+352621123456", "language": "fr", "identity_checked": "y",
    })
    assert response.status_code == 400
    assert page(response).select_one("#guardian_matricule-error") and page(response).select_one("#parental_link-error")
