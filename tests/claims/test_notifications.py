"""Notices in the patient's spaces: the page that reads them and the polled counter."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from portal.claims import sharing, states
from portal.core import clock
from portal.extensions import db
from portal.models import Notification
from portal.web.patient import notifications
from tests.fixtures.clients import page, sign_in, text_of
from tests.fixtures.queries import count_queries


def _counter(response):
    return page(response).find(id="notification-count")


def test_the_counter_counts_the_new_notices_of_the_space_it_links_to(app, people, make_child, make_claim):
    parent, doctor, staff = people["patient"], people["doctor"], people["cns"]
    make_claim(parent, doctor, staff, state="accepted")
    child = make_child(parent, given_name="Léa", birth=date(2016, 4, 1), with_account=False)
    make_claim(child, doctor, staff, state="accepted")
    make_claim(child, doctor, staff, state="info_requested")
    grown_up = make_child(parent, given_name="Tom", birth=date(2000, 1, 1), with_account=False)
    make_claim(grown_up, doctor, staff, state="accepted")  # the link ends at 18: not counted
    client = app.test_client()
    sign_in(client, parent)

    counter = _counter(client.get("/patient/notifications/count?lang=en", headers={"HX-Request": "true"}))
    assert counter.find(class_="badge").get_text(strip=True) == "1"  # the parent's own space
    assert "1 unread" in counter.find(class_="visually-hidden").get_text()
    # The child's new notices are told in the space menu, beside the child's name.
    options = page(client.get("/patient/?lang=en")).select("#space-select option")
    assert [option.get_text(strip=True) for option in options] == ["Mine", "Léa (2 new)"]

    client.get("/patient/notifications")  # reads the notices of the parent's own space only
    counter = _counter(client.get("/patient/notifications/count?lang=en"))
    assert counter.find(class_="badge") is None
    client.post("/patient/space", data={"space": str(child.profile.id)})
    counter = _counter(client.get("/patient/notifications/count?lang=en"))
    assert counter.find(class_="badge").get_text(strip=True) == "2"
    client.get("/patient/notifications")
    counter = _counter(client.get("/patient/notifications/count?lang=en"))
    assert counter.find(class_="badge") is None and "0 unread" in counter.get_text()


def _badge(client) -> int:
    found = _counter(client.get("/patient/notifications/count?lang=en")).find(class_="badge")
    return int(found.get_text(strip=True)) if found else 0


def _marked_new(response) -> int:
    return len(page(response).select("ul.notices > li.is-new"))


def test_the_badge_counts_what_the_list_marks_new_after_reading_some(patient_client, people, make_claim):
    patient, doctor, staff = people["patient"], people["doctor"], people["cns"]
    for _ in range(3):
        make_claim(patient, doctor, staff, state="rejected")
    assert _badge(patient_client) == 3
    assert _marked_new(patient_client.get("/patient/notifications?lang=en")) == 3
    assert _badge(patient_client) == 0
    assert _marked_new(patient_client.get("/patient/notifications?lang=en")) == 0

    make_claim(patient, doctor, staff, state="accepted")  # one more arrives after reading the others
    make_claim(patient, doctor, staff, state="info_requested")
    assert _badge(patient_client) == 2
    shown = patient_client.get("/patient/notifications?lang=en")
    assert _marked_new(shown) == 2
    assert [mark.get_text(strip=True) for mark in page(shown).select("li.is-new .state")] == ["New", "New"]


def test_notices_of_a_later_page_stay_new_until_that_page_is_shown(patient_client, people, make_claim):
    patient, doctor, staff = people["patient"], people["doctor"], people["cns"]
    for _ in range(notifications.PAGE_SIZE + 3):
        make_claim(patient, doctor, staff, state="rejected")
    assert _badge(patient_client) == notifications.PAGE_SIZE + 3
    assert _marked_new(patient_client.get("/patient/notifications?lang=en")) == notifications.PAGE_SIZE
    assert _badge(patient_client) == 3
    assert _marked_new(patient_client.get("/patient/notifications?page=2&lang=en")) == 3
    assert _badge(patient_client) == 0


@pytest.mark.parametrize(("language", "word"), [("fr", "Nouvelle"), ("de", "Neu"), ("en", "New")])
def test_the_new_mark_is_a_state_word_in_each_language(patient_client, people, make_claim, language, word):
    make_claim(people["patient"], people["doctor"], people["cns"], state="rejected")
    mark = page(patient_client.get(f"/patient/notifications?lang={language}")).select_one("li.is-new .state")
    assert mark.get_text(strip=True) == word and "tone-new" in mark["class"]


def test_every_patient_page_shows_the_counter_that_polls(patient_client, people, make_claim):
    make_claim(people["patient"], people["doctor"], people["cns"], state="rejected")
    menu = page(patient_client.get("/patient/?lang=en")).find("nav", class_="main-nav")
    assert menu.find("a", href="/patient/claims").get_text(strip=True) == "My claims"
    link = menu.find("a", href="/patient/notifications")
    assert "Notifications" in link.get_text()
    counter = link.find(id="notification-count")
    assert counter["hx-get"] == "/patient/notifications/count"
    assert counter["hx-trigger"] == "every 30s" and counter["hx-swap"] == "outerHTML"
    assert counter.find(class_="badge").get_text(strip=True) == "1"


def test_other_roles_have_no_counter(app, people):
    client = app.test_client()
    sign_in(client, people["doctor"])
    shown = page(client.get("/doctor/"))
    assert shown.find(id="notification-count") is None and shown.find("a", href="/patient/claims") is None


def test_the_page_lists_notices_in_words_and_marks_them_read(patient_client, people, make_invoice, make_claim):
    patient, doctor, staff = people["patient"], people["doctor"], people["cns"]
    accepted = make_claim(patient, doctor, staff, state="accepted")
    asked = make_claim(patient, doctor, staff, state="info_requested")
    rejected = make_claim(patient, doctor, staff, state="rejected")
    sharing.set_auto_share(patient.profile, True, by=patient.account)
    automatic = states.active_claim_of(make_invoice(patient, doctor).id)
    db.session.commit()

    response = patient_client.get("/patient/notifications?lang=en")
    items = page(response).select("ul.notices > li")
    assert len(items) == 4 and all("New" in item.get_text() for item in items)
    words = [" ".join(item.get_text(" ").split()) for item in items]
    assert f"A new invoice was sent to the health fund automatically (claim {automatic.reference})" in words[0]
    assert f"The health fund rejected claim {rejected.reference}" in words[1]
    assert f"asks for more information about claim {asked.reference}" in words[2]
    assert f"Claim {accepted.reference} was accepted" in words[3]
    links = [item.find("a")["href"] for item in items]
    assert links == [f"/patient/claims/{automatic.id}", f"/patient/claims/{rejected.id}",
                     f"/patient/claims/{asked.id}", f"/patient/claims/{accepted.id}/statement"]
    assert all(item.find("time") for item in items)

    unread = db.session.scalar(db.select(db.func.count()).select_from(Notification)
                               .where(Notification.read_at.is_(None)))
    assert unread == 0
    again = page(patient_client.get("/patient/notifications?lang=en"))
    assert not again.select("ul.notices > li.is-new")


def test_a_child_notice_is_read_in_the_childs_space(app, people, make_child, make_claim):
    parent = people["patient"]
    child = make_child(parent, given_name="Léa", birth=date(2016, 4, 1), with_account=False)
    claim = make_claim(child, people["doctor"], people["cns"], state="rejected")
    client = app.test_client()
    sign_in(client, parent)
    assert claim.reference not in text_of(client.get("/patient/notifications?lang=en"))
    client.post("/patient/space", data={"space": str(child.profile.id)})
    shown = text_of(client.get("/patient/notifications?lang=en"))
    assert claim.reference in shown and "Notifications of Léa" in shown


def test_polling_the_counter_does_not_keep_the_session_alive(patient_client):
    for _ in range(7):
        clock.freeze(clock.now() + timedelta(seconds=10))
        assert patient_client.get("/patient/notifications/count", headers={"HX-Request": "true"}).status_code == 200
    response = patient_client.get("/patient/")
    assert response.headers["Location"].startswith("/unlock")
    locked_poll = patient_client.get("/patient/notifications/count", headers={"HX-Request": "true"})
    assert locked_poll.headers["HX-Redirect"].startswith("/unlock")


def test_the_counter_costs_one_count_query(patient_client, people, make_claim):
    make_claim(people["patient"], people["doctor"], people["cns"], state="accepted")
    with count_queries() as found:
        patient_client.get("/patient/notifications/count")
    assert sum("FROM notification" in statement for statement in found) == 1



def test_without_a_child_the_header_counts_with_the_session_read(patient_client, people, make_claim, make_child):
    """Most patients have no child: the session's statement brings their unread count, and no
    page reads the household apart; a parent's pages do, for the children's spaces."""
    patient = people["patient"]
    make_claim(patient, people["doctor"], people["cns"], state="accepted")
    make_claim(patient, people["doctor"], people["cns"], state="info_requested")
    with count_queries() as found:
        counter = _counter(patient_client.get("/patient/?lang=en"))
    assert counter.find(class_="badge").get_text(strip=True) == "2"
    assert not any("UNION" in statement for statement in found)

    make_child(patient, given_name="Léa", birth=date(2016, 4, 1), with_account=False)
    with count_queries() as found:
        shown = page(patient_client.get("/patient/?lang=en"))
    assert [option.get_text(strip=True) for option in shown.select("#space-select option")] == ["Mine", "Léa"]
    assert shown.find(id="notification-count").find(class_="badge").get_text(strip=True) == "2"
    assert sum("UNION" in statement for statement in found) == 1
