"""Eight people writing to one SQLite database at once never meet "database is locked".

SQLite runs in WAL mode with a 10 s busy timeout, and every transaction starts with BEGIN
IMMEDIATE (portal/core/database.py), so a writer waits its turn instead of failing. Eight browsers
(six patients, two doctors), each signed in, post state-changing forms in a loop; every request
must succeed and every write must be there afterwards.

The database is a SQLite file of its own, whatever TEST_DATABASE_URL says: on a PostgreSQL run
this test still runs, against SQLite.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from datetime import timedelta

import pytest
from flask_migrate import upgrade

from portal.core import clock
from portal.extensions import db
from portal.models import AuditEvent, DataRequest, Invoice, Patient
from tests.conftest import make_app
from tests.fixtures.claims import new_claim
from tests.fixtures.clients import sign_in_committed, text_of
from tests.fixtures.factories import new_doctor, new_patient, new_staff

PATIENTS, DOCTORS = 6, 2
ROUNDS = 25


@pytest.fixture
def sqlite_app(tmp_path):
    application = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'writers.sqlite3'}",
                           PROPAGATE_EXCEPTIONS=False)
    with application.app_context():
        upgrade()
        assert db.engine.dialect.name == "sqlite"
        yield application
        db.session.remove()
        db.engine.dispose()


def patient_round(browser, patient_id: int, claim_id: int, turn: int):
    """One form per turn, in rotation: the setting, contact details, a correction, a freeze."""
    kind = turn % 4
    if kind == 0:
        return browser.post("/patient/settings", data={"auto_share": "y"} if turn % 8 == 0 else {})
    if kind == 1:
        # The language alone: a new mobile would need the password and a code again (auth.stepup).
        return browser.post("/patient/my-data/contact", data={"mobile": "+352621123456", "email": "",
                                                              "language": ("en", "de")[turn // 4 % 2]})
    if kind == 2:
        return browser.post("/patient/my-data/correction",
                            data={"registry_field": "name", "message": f"Correction number {turn}."})
    action = "freeze" if turn % 8 == 3 else "unfreeze"
    return browser.post(f"/patient/claims/{claim_id}/{action}")


def doctor_round(browser, matricule: str, turn: int):
    return browser.post("/doctor/invoices/new", data={
        "matricule": matricule, "service_date": (clock.today() - timedelta(days=turn % 20)).isoformat(),
        "lines-0-code": "C1", "lines-0-quantity": "1", "paid_on_site": "no", "payer_is_patient": "yes",
        "submit": "Issue the invoice",
    })


@pytest.mark.committing  # its own database, written by threads: outside the rolled-back transaction
def test_eight_concurrent_writers_never_find_the_database_locked(sqlite_app, figures, caplog):
    with sqlite_app.app_context():
        staff = new_staff()
        patients = [new_patient(given_name=f"Writer{n}") for n in range(PATIENTS)]
        doctors = [new_doctor() for _ in range(DOCTORS)]
        patient_ids = [person.profile.id for person in patients]
        practice = new_doctor()  # issued the invoices behind the claims; the two writing doctors start empty
        claim_ids = [new_claim(person, practice, staff).id for person in patients]
        doctor_ids = [doctor.profile.id for doctor in doctors]
        matricules = [new_patient(given_name=f"Billed{n}").profile.matricule for n in range(DOCTORS)]
        browsers = [sign_in_committed(sqlite_app, person, lang="en") for person in patients + doctors]
        db.session.commit()

    barrier = threading.Barrier(PATIENTS + DOCTORS, timeout=30)
    statuses, errors, lock = Counter(), [], threading.Lock()
    unexpected = []
    in_flight = {"now": 0, "peak": 0}

    def write(index: int):
        browser = browsers[index]
        try:
            barrier.wait()  # all start together, so the writers really overlap
            for turn in range(ROUNDS):
                with lock:
                    in_flight["now"] += 1
                    in_flight["peak"] = max(in_flight["peak"], in_flight["now"])
                if index < PATIENTS:
                    response = patient_round(browser, patient_ids[index], claim_ids[index], turn)
                else:
                    response = doctor_round(browser, matricules[index - PATIENTS], turn)
                with lock:
                    in_flight["now"] -= 1
                    statuses[response.status_code] += 1
                    if response.status_code != 303:
                        unexpected.append((index, turn, response.status_code, text_of(response)[:200]))
        except Exception as exc:  # collected: a thread's exception would otherwise vanish
            with lock:
                errors.append(repr(exc))

    with caplog.at_level(logging.ERROR):
        threads = [threading.Thread(target=write, args=(index,)) for index in range(PATIENTS + DOCTORS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    sent = sum(statuses.values())
    figures.add("faults.sqlite_writers.requests", sent)
    figures.add("faults.sqlite_writers.5xx", sum(n for status, n in statuses.items() if status >= 500))
    figures.add("faults.sqlite_writers.peak_concurrent", in_flight["peak"])
    assert errors == []
    assert in_flight["peak"] >= 4, "the writers never overlapped: the test proves nothing"
    assert unexpected == [], unexpected[:5]
    assert statuses == Counter({303: (PATIENTS + DOCTORS) * ROUNDS})
    assert "database is locked" not in caplog.text and "database unavailable" not in caplog.text

    with sqlite_app.app_context():
        # Every write landed: one row or audit row per request, and the last value of each field.
        for n, pid in enumerate(patient_ids):

            def count(model, *where):
                return db.session.scalar(db.select(db.func.count()).select_from(model).where(*where))

            per_kind = ROUNDS // 4 + (1 if ROUNDS % 4 > 0 else 0)
            assert count(AuditEvent, AuditEvent.patient_id == pid, AuditEvent.event == "auto_share.changed") == per_kind
            assert count(AuditEvent, AuditEvent.patient_id == pid, AuditEvent.event == "contact.changed") == ROUNDS // 4
            assert count(DataRequest, DataRequest.patient_id == pid, DataRequest.kind == "correction") == ROUNDS // 4
            assert count(DataRequest, DataRequest.patient_id == pid, DataRequest.kind == "restriction") == ROUNDS // 4
            last_contact = max(turn for turn in range(ROUNDS) if turn % 4 == 1)
            patient = db.session.get(Patient, pid)
            assert patient.account.preferred_language == ("en", "de")[last_contact // 4 % 2], n
        for doctor_id in doctor_ids:
            issued = db.session.scalars(db.select(Invoice.number).where(Invoice.doctor_id == doctor_id)).all()
            assert len(issued) == len(set(issued)) == ROUNDS
