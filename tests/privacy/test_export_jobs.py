"""The export is built by a job: asked for, it is "queued", the job moves it to "building" and
then "ready" (or "failed"); the section of "Manage my personal data" shows where it stands, polled
by htmx every 2 seconds, and without JavaScript a link loads the page again."""

from __future__ import annotations

from datetime import timedelta

import pytest

from portal.core import clock, jobs
from portal.extensions import db
from portal.models import DataExport, ExportState, StoredDocument
from portal.privacy import export
from portal.web.patient.export import LINK_GRACE
from tests.fixtures.clients import in_english, page, signed_in_as, text_of

HTMX = {"HX-Request": "true"}
PROGRESS = "/patient/my-data/export/progress"


@pytest.fixture
def patient(make_patient):
    return make_patient()


def _queued(patient) -> tuple[DataExport, str]:
    """An export asked for whose job has not run yet (it would run after a request ends)."""
    made, token = export.create(patient.profile, by=patient.account, language="en")
    db.session.commit()
    return made, token


@pytest.fixture
def held(monkeypatch):
    """Jobs asked for wait here instead: the test client's own steps (a session cookie set through
    a request context) would otherwise run them before the page is seen."""
    waiting = []
    monkeypatch.setattr(jobs, "enqueue", lambda func, *args, **kwargs: waiting.append((func, args, kwargs)))
    return waiting


def _state(made: DataExport) -> str:
    db.session.expire_all()
    return db.session.get(DataExport, made.id).state


def test_the_job_moves_the_export_from_queued_through_building_to_ready(patient, monkeypatch):
    made, _token = _queued(patient)
    assert (made.state, made.file_name) == (ExportState.QUEUED, None)
    seen = []
    real = export.build_zip

    def watching(person, language):
        seen.append(_state(made))  # committed before the work starts: the page can say so
        return real(person, language)

    monkeypatch.setattr(export, "build_zip", watching)
    assert jobs.run_ready() == 1
    assert seen == [ExportState.BUILDING]
    db.session.expire_all()
    built = db.session.get(DataExport, made.id)
    assert built.state == ExportState.READY and built.file_name is not None


def test_a_job_run_twice_builds_the_export_once(patient, monkeypatch):
    made, _token = _queued(patient)
    jobs.run_ready()
    name = db.session.get(DataExport, made.id).file_name
    monkeypatch.setattr(export, "build_zip", lambda *args: pytest.fail("built a second time"))
    export.build(made.id, "en")  # a worker that died after the work runs it again
    assert db.session.get(DataExport, made.id).file_name == name


def test_a_build_that_fails_is_marked_failed_and_the_page_says_so(app, patient, monkeypatch, caplog):
    made, _token = _queued(patient)

    def broken(person, language):
        raise RuntimeError(f"cannot read {person.full_name}")

    monkeypatch.setattr(export, "build_zip", broken)
    jobs.run_ready()
    assert _state(made) == ExportState.FAILED
    assert patient.profile.surname not in caplog.text  # the log names the error's type only
    client = in_english(signed_in_as(app, patient))
    section = page(client.get("/patient/my-data")).select_one("#export")
    assert "could not be prepared" in section.get_text()
    assert section.select_one("[hx-trigger]") is None  # nothing to wait for
    assert client.get(PROGRESS, headers=HTMX).status_code == 286


def test_while_it_builds_the_section_polls_and_offers_a_reload_link(app, patient, held):
    made, token = _queued(patient)
    client = in_english(signed_in_as(app, patient))
    with client.session_transaction() as cookie:
        cookie["export_token"] = token
    section = page(client.get("/patient/my-data")).select_one("#export")
    progress = section.select_one("#export-progress")
    assert progress["role"] == "status"
    assert (progress["hx-get"], progress["hx-trigger"], progress["hx-swap"]) == (PROGRESS, "every 2s", "innerHTML")
    assert "Your export is being prepared" in progress.get_text()
    assert section.select_one("a.button") is None  # no download before it is built
    # Without JavaScript: a plain link that loads the page again.
    assert progress.select_one("a")["href"] == "/patient/my-data#export"

    polled = client.get(PROGRESS, headers=HTMX)
    assert polled.status_code == 200 and "Waiting to start" in text_of(polled)
    # The download address of an export not built yet leads back to the page.
    early = client.get(f"/patient/my-data/export/{token}")
    assert early.status_code == 303 and early.headers["Location"].endswith("/patient/my-data#export")

    ((job, args, kwargs),) = held
    assert job is export.build
    job(*args, **kwargs)
    done = client.get(PROGRESS, headers=HTMX)
    assert done.status_code == 286  # htmx stops polling
    assert page(done).select_one("a.button")["href"] == f"/patient/my-data/export/{token}"
    assert client.get(f"/patient/my-data/export/{token}").mimetype == "application/zip"


def test_without_javascript_the_request_and_a_reload_reach_the_download(app, patient):
    """No htmx: the form posts, the 303 leads to the page, and the page (loaded again) offers
    the link once the job is done (here it ran after the request, as it does without Redis)."""
    client = in_english(signed_in_as(app, patient))
    response = client.post("/patient/my-data/export")
    assert response.status_code == 303 and response.headers["Location"].endswith("/patient/my-data")  # no fragment: it would cancel the panel's autofocus
    shown = page(client.get(response.headers["Location"]))
    # Built already: the page opens on the confirmation panel, with the request's reference.
    ready = shown.select_one("#export #export-ready")
    assert ready.has_attr("autofocus") and ready["tabindex"] == "-1"
    assert "Your export is ready" in ready.h3.get_text()
    assert ready.select_one(".panel-reference strong").get_text().startswith("D-")
    assert shown.select_one("#export-requested") is None  # nothing left to wait for
    link = shown.select_one("#export a.button")
    assert link is not None and client.get(link["href"]).mimetype == "application/zip"
    # The progress address itself, opened without htmx, is the page.
    plain = client.get(PROGRESS)
    assert plain.status_code == 303 and plain.headers["Location"].endswith("/patient/my-data#export")


def test_a_browser_still_waiting_for_the_link_s_cookie_keeps_polling_a_little(app, patient):
    """Without Redis the job runs inside the request that asked, before that request's answer
    brings the cookie with the link: a poll in between finds the export ready and no link yet."""
    made, _token = _queued(patient)
    export.build(made.id, "en")
    client = in_english(signed_in_as(app, patient))  # its cookie does not hold this export's link
    waiting = client.get(PROGRESS, headers=HTMX)
    assert waiting.status_code == 200 and page(waiting).select_one("a.button") is None
    clock.freeze(clock.now() + LINK_GRACE + timedelta(seconds=1))
    assert client.get(PROGRESS, headers=HTMX).status_code == 286  # the link went to another browser


def test_progress_with_no_export_stops_polling(app, patient):
    client = in_english(signed_in_as(app, patient))
    assert client.get(PROGRESS, headers=HTMX).status_code == 286


def test_many_pdfs_to_render_are_split_over_turns_of_the_job(patient, make_doctor, make_invoice, monkeypatch):
    """Each turn renders for RENDER_SECONDS at most (here: one PDF a turn) and queues the next, so no
    turn outlives the worker's time limit; the last one builds the ZIP from the stored PDFs."""
    doctor = make_doctor()
    for _ in range(3):
        make_invoice(patient, doctor)
    jobs.run_ready()  # the PDFs the issues queued, then dropped:
    db.session.execute(db.delete(StoredDocument))  # none stored yet: as for documents issued long ago
    db.session.commit()
    monkeypatch.setattr(export, "RENDER_SECONDS", 0)
    turns = []
    real = export._claim

    def counted(export_id, resumed):
        turns.append(resumed)
        return real(export_id, resumed)

    monkeypatch.setattr(export, "_claim", counted)
    made, _token = _queued(patient)
    while jobs.run_ready():
        pass
    assert turns == [False, True, True]  # three PDFs, one a turn; the third turn also builds the ZIP
    assert _state(made) == ExportState.READY
    assert len(db.session.scalars(db.select(StoredDocument)).all()) == 3


def test_the_patient_is_told_by_email_and_sms_when_the_export_is_ready(app, patient, delivering):
    """Asked through the form; the job builds it after the request and writes the message with
    the export's new state; the message says where, never what."""
    mailbox, gateway = delivering
    patient.profile.email = "marie@example.lu"
    patient.account.preferred_language = "en"
    db.session.commit()
    client = in_english(signed_in_as(app, patient))
    assert client.post("/patient/my-data/export").status_code == 303
    jobs.run_ready()  # the delivery jobs the export job queued, if any are left
    (mail,) = mailbox.to("marie@example.lu")
    (sms,) = gateway.to(patient.profile.mobile)
    text = mail.get_body(("plain",)).get_content()
    assert "ready to download" in text and "ready to download" in sms["body"]["text"]
    assert "https://portal.example.lu/patient/my-data" in text
    assert patient.profile.matricule not in text and ".zip" not in text


def test_a_failed_export_tells_nobody(app, patient, delivering, monkeypatch):
    mailbox, gateway = delivering
    patient.profile.email = "marie@example.lu"
    db.session.commit()
    monkeypatch.setattr(export, "build_zip", lambda *args: 1 / 0)
    client = in_english(signed_in_as(app, patient))
    assert client.post("/patient/my-data/export").status_code == 303
    jobs.run_ready()
    assert mailbox.to("marie@example.lu") == [] and gateway.to(patient.profile.mobile) == []
