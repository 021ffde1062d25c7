"""Contact the fund: patients and doctors write from their space, people who cannot sign in
from /help; staff of the right fund read and answer; the person reads the answer."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from pathlib import Path

import pytest

from portal.core import clock
from portal.extensions import db
from portal.helpdesk import requests as helpdesk
from portal.invoicing.invoices import add_years
from portal.models import AuditEvent, Fund, HelpRequest, OutboxMessage
from tests.conftest import make_app
from tests.fixtures.clients import page, signed_in_as, text_of, url_for
from tests.fixtures.images import png


def _send(client, endpoint: str, **fields):
    data = {"category": "claim", "message": "When will my claim be paid?", **fields}
    return client.post(url_for(endpoint), data=data, content_type="multipart/form-data")


def _only(**where) -> HelpRequest:
    return db.session.scalars(db.select(HelpRequest).filter_by(**where)).one()


def _events(name: str, **data) -> list[AuditEvent]:
    rows = db.session.scalars(db.select(AuditEvent).where(AuditEvent.event == name)).all()
    return [row for row in rows if all(row.data.get(k) == v for k, v in data.items())]


def test_a_patient_writes_staff_answer_and_the_patient_reads_the_answer(app, make_patient, make_staff):
    patient, staff = make_patient(), make_staff(fund=Fund.CNS)
    client = signed_in_as(app, patient, lang="en")
    form = page(client.get(url_for("patient.help"))).select_one("form[enctype='multipart/form-data']")
    for name in ("category", "message", "document"):
        assert form.select_one(f"label[for={form.select_one(f'[name={name}]')['id']}]")

    sent = _send(client, "patient.help", document=(io.BytesIO(png()), "scan.png"))
    assert sent.status_code == 303, text_of(sent)
    filed = _only(patient_id=patient.profile.id)
    assert (filed.fund, filed.state, filed.document_type) == (Fund.CNS, "open", "image/png")
    assert f"Your message {filed.reference} was sent" in text_of(client.get(sent.headers["Location"]))
    assert _events("help_request.filed", request_id=filed.id, source="patient")[0].patient_id == patient.profile.id

    desk = signed_in_as(app, staff, lang="en")
    queue = text_of(desk.get(url_for("cns.help_queue")))
    assert filed.reference in queue and "Waiting for an answer" in queue
    opened = desk.get(url_for("cns.help_request", request_id=filed.id))
    assert "When will my claim be paid?" in text_of(opened) and patient.profile.matricule in text_of(opened)
    assert _events("help_request.viewed", request_id=filed.id)[0].patient_id == patient.profile.id
    document = desk.get(url_for("cns.help_document", request_id=filed.id))
    assert document.status_code == 200 and document.headers["Content-Disposition"].startswith("attachment")
    assert document.data.startswith(b"\x89PNG")

    empty = desk.post(url_for("cns.help_request", request_id=filed.id), data={"body": "  "})
    assert empty.status_code == 400 and "Write the answer." in text_of(empty)
    answered = desk.post(url_for("cns.help_request", request_id=filed.id),
                         data={"body": "It was paid on Monday."})
    assert answered.status_code == 303
    db.session.refresh(filed)
    assert filed.state == "answered" and filed.last_activity_at >= filed.created_at
    assert _events("help_request.answered", request_id=filed.id)

    mine = text_of(client.get(url_for("patient.help")))
    assert "It was paid on Monday." in mine and "Answered" in mine
    told = db.session.scalars(db.select(OutboxMessage).where(OutboxMessage.kind == "help_reply")).all()
    assert told and all("paid on Monday" not in message.body for message in told)


def test_a_message_sent_twice_is_filed_once(app, make_patient):
    patient = make_patient()
    client = signed_in_as(app, patient)
    token = "a" * 32
    assert _send(client, "patient.help", once=token).status_code == 303
    assert _send(client, "patient.help", once=token).status_code == 303
    assert db.session.scalar(db.select(db.func.count(HelpRequest.id))) == 1


def test_a_file_that_is_not_a_picture_is_refused_and_nothing_is_filed(app, make_patient):
    client = signed_in_as(app, make_patient(), lang="en")
    refused = _send(client, "patient.help", document=(io.BytesIO(b"MZ\x90\x00 not a picture"), "x.exe"))
    assert refused.status_code == 400
    assert "JPEG or PNG photo or a PDF scan" in text_of(refused)
    assert db.session.scalar(db.select(db.func.count(HelpRequest.id))) == 0


def test_another_funds_agent_gets_404_and_the_refusal_is_audited(app, make_patient, make_staff):
    patient = make_patient(fund=Fund.CNS)
    _send(signed_in_as(app, patient), "patient.help")
    filed = _only(patient_id=patient.profile.id)
    other = signed_in_as(app, make_staff(fund=Fund.CMFEP), lang="en")
    assert filed.reference not in text_of(other.get(url_for("cns.help_queue")))
    for endpoint in ("cns.help_request", "cns.help_document"):
        assert other.get(url_for(endpoint, request_id=filed.id)).status_code == 404
    assert other.post(url_for("cns.help_request", request_id=filed.id), data={"body": "x"}).status_code == 404
    assert _events("access.refused", object="request", object_id=filed.id)
    assert filed.replies == []


def test_a_cmfep_patients_message_goes_to_the_cmfep(app, make_patient, make_staff):
    patient = make_patient(fund=Fund.CMFEP)
    _send(signed_in_as(app, patient), "patient.help")
    filed = _only(patient_id=patient.profile.id)
    assert filed.fund == Fund.CMFEP
    assert filed.reference in text_of(signed_in_as(app, make_staff(fund=Fund.CMFEP)).get(url_for("cns.help_queue")))
    assert filed.reference in text_of(signed_in_as(app, make_staff(fund=Fund.CNS)).get(url_for("cns.help_queue")))


def test_patients_see_only_their_own_messages(app, make_patient):
    first, second = make_patient(), make_patient()
    _send(signed_in_as(app, first), "patient.help", message="First person's question")
    assert "First person's question" not in text_of(signed_in_as(app, second).get(url_for("patient.help")))


def test_a_doctor_writes_to_the_cns_and_reads_the_answer(app, make_doctor, make_staff):
    doctor = make_doctor()
    doctor.profile.email = "dr@example.lu"
    db.session.commit()
    client = signed_in_as(app, doctor, lang="en")
    assert _send(client, "doctor.help", category="invoice", message="A code is missing").status_code == 303
    filed = _only(account_id=doctor.account.id)
    assert (filed.fund, filed.patient_id) == (Fund.CNS, None)
    desk = signed_in_as(app, make_staff(), lang="en")
    assert doctor.login in text_of(desk.get(url_for("cns.help_request", request_id=filed.id)))
    desk.post(url_for("cns.help_request", request_id=filed.id), data={"body": "Use code C1."})
    assert "Use code C1." in text_of(client.get(url_for("doctor.help")))
    (mail,) = db.session.scalars(db.select(OutboxMessage).where(OutboxMessage.recipient == "dr@example.lu",
                                                                   OutboxMessage.kind == "help_reply")).all()
    assert filed.reference in mail.body and "Use code C1." not in mail.body


# --- Without signing in ------------------------------------------------------------------------

def _question(response) -> str:
    """The sum the page asks, worked out as a person would."""
    help_text = page(response).select_one("#answer-help").get_text(" ")
    first, second = (int(n) for n in re.findall(r"\d+", help_text)[:2])
    return str(first + second)


def _public_fields(**fields) -> dict:
    return {"name": "Anne Muller", "email": "anne@example.lu", "category": "account",
            "message": "I lost my phone and cannot sign in.", **fields}


def test_someone_who_cannot_sign_in_writes_and_gets_the_answer_by_email(app, client, make_staff):
    shown = client.get(url_for("public.help", lang="en"))
    assert shown.status_code == 200
    answer_field = page(shown).select_one("#answer")
    assert page(shown).select_one("label[for=answer]") and answer_field["aria-describedby"] == "answer-help"
    # The answer is nowhere in the page, nor readable from the cookie.
    expected = _question(shown)
    assert f'value="{expected}"' not in shown.get_data(as_text=True)

    sent = client.post(url_for("public.help"), data=_public_fields(answer=expected))
    assert sent.status_code == 303, text_of(sent)
    filed = _only(contact_email="anne@example.lu")
    assert (filed.fund, filed.patient_id, filed.account_id) == (Fund.CNS, None, None)
    assert _events("help_request.filed", request_id=filed.id, source="public")

    desk = signed_in_as(app, make_staff(), lang="en")
    opened = text_of(desk.get(url_for("cns.help_request", request_id=filed.id)))
    assert "not signed in" in opened and "Do not write any personal data" in opened
    desk.post(url_for("cns.help_request", request_id=filed.id), data={"body": "Please call us."})
    (mail,) = db.session.scalars(db.select(OutboxMessage).where(OutboxMessage.recipient == "anne@example.lu")).all()
    assert mail.body == "Please call us." and filed.reference in mail.subject


def test_a_wrong_answer_files_nothing_and_asks_a_new_question(client):
    client.get(url_for("public.help", lang="en"))
    refused = client.post(url_for("public.help"), data=_public_fields(answer="999"))
    assert refused.status_code == 400 and "not right" in text_of(refused)
    assert page(refused).select_one("#answer-help")
    # The question cannot be answered twice: replaying the right answer to a used question fails.
    again = client.post(url_for("public.help"), data=_public_fields(answer=_question(refused)))
    assert again.status_code == 303
    replay = client.post(url_for("public.help"), data=_public_fields(answer=_question(refused)))
    assert replay.status_code == 400
    assert db.session.scalar(db.select(db.func.count(HelpRequest.id))) == 1


def test_without_a_question_drawn_nothing_is_filed(client):
    refused = client.post(url_for("public.help", lang="en"), data=_public_fields(answer="5"))
    assert refused.status_code == 400
    assert db.session.scalar(db.select(db.func.count(HelpRequest.id))) == 0


@pytest.fixture
def limited_app(app):
    return make_app(HELP_RATE_LIMIT="2/minute")


def test_sending_is_rate_limited_per_address(limited_app):
    browser = limited_app.test_client()
    statuses = [browser.post("/help?lang=en", data=_public_fields(answer="1")).status_code for _ in range(3)]
    assert statuses == [400, 400, 429]
    assert browser.get("/help?lang=en").status_code == 200  # reading the page is not limited


# --- Retention ------------------------------------------------------------------------------------

def _purge(app) -> dict[str, int]:
    output = app.test_cli_runner().invoke(args=["purge"]).output.strip()
    return {name: int(count) for name, count in (part.split(": ") for part in output.split(", "))}


def test_messages_go_three_years_after_their_last_answer_with_their_document(app, make_patient, make_staff):
    patient, staff = make_patient(), make_staff()
    start = clock.now()
    old = helpdesk.file("claim", "An old question.", account=patient.account, patient=patient.profile,
                        document=(png(), "scan.png"))
    answered_later = helpdesk.file("claim", "A question answered a year later.", account=patient.account,
                                   patient=patient.profile)
    db.session.commit()
    stored = Path(app.instance_path) / "uploads" / old.document_name
    assert stored.exists()
    clock.freeze(add_years(start, 1))
    helpdesk.reply(answered_later, staff.profile, "Here is the answer.")
    db.session.commit()
    old_id, later_id = old.id, answered_later.id

    clock.freeze(add_years(start, 3) - timedelta(days=1))
    assert _purge(app)["help_requests"] == 0
    clock.freeze(add_years(start, 3) + timedelta(days=1))
    assert _purge(app)["help_requests"] == 1
    db.session.expire_all()
    assert db.session.get(HelpRequest, old_id) is None and not stored.exists()
    assert db.session.get(HelpRequest, later_id) is not None  # its answer came a year later
    assert _events("help_requests.purged", requests=1)
    clock.freeze(add_years(start, 4) + timedelta(days=1))
    assert _purge(app)["help_requests"] == 1
    assert _purge(app)["help_requests"] == 0  # idempotent
