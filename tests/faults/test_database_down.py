"""The database goes away in the middle of a request, then comes back.

Not a raised exception standing in for an outage: on SQLite another connection takes the
database's write lock between two transactions of the request (as a backup or a migration in
another process would), on PostgreSQL the server's connection is cut in the middle of the request (the app
talks to it through a small TCP relay the test can sever) or its backend is terminated from
another connection. The person gets the portal's 503 page in their language, /healthz says
the database is unreachable, nothing of the request is saved, and once the database is back
the very same application answers again: no restart.
"""

from __future__ import annotations

import contextlib
import socket
import sqlite3
import threading
import time
from datetime import timedelta

import psycopg
import pytest
from flask_migrate import upgrade
from sqlalchemy import event
from sqlalchemy.engine import make_url

from portal.accounts import totp
from portal.core import clock
from portal.core.identity import make_iban
from portal.extensions import db
from portal.models import Patient
from tests.conftest import database_url, make_app
from tests.fixtures.clients import page, sign_in_committed, text_of
from tests.fixtures.factories import new_patient
from tests.web.test_pages import translated

NEW_IBAN = make_iban("LU", "0019400644750000")
# The README's busy timeout is 10 s; the locked database's test waits half a second for the same answer.
TEST_BUSY_TIMEOUT_MS = 500


# --- Pulling the plug in the middle of a request --------------------------------------------------

class MidRequest:
    """Runs `fault` just before the first statement that `when` picks, once armed."""

    def __init__(self, engine, when, fault):
        self.when, self.fault = when, fault
        self.armed = self.struck = False
        event.listen(engine, "before_cursor_execute", self)

    def __call__(self, connection, _cursor, statement, *_args):
        if self.armed and self.when(statement):
            self.armed, self.struck = False, True
            self.fault(connection)


def nth_begin(n: int):
    seen = 0

    def when(statement: str) -> bool:
        nonlocal seen
        if statement.lstrip().upper().startswith("BEGIN"):
            seen += 1
        return seen == n

    return when


def is_write(statement: str) -> bool:
    return statement.lstrip().upper().startswith(("UPDATE", "INSERT"))


def iban_of(patient_id: int) -> str:
    try:
        return db.session.scalar(db.select(Patient.iban).where(Patient.id == patient_id))
    finally:
        db.session.commit()


def assert_unavailable_page(response, lang: str) -> None:
    assert response.status_code == 503
    html = response.get_data(as_text=True)
    assert page(response).html["lang"] == lang
    shown = text_of(response)
    assert translated("Service temporarily unavailable", lang) in shown
    assert translated("The portal cannot reach its database right now. Please try again in a few minutes.",
                      lang) in shown
    for leak in ("Traceback", "OperationalError", "SELECT", "UPDATE", "psycopg", "sqlite3", "BEGIN"):
        assert leak not in html, leak


def outage(browser, figures) -> None:
    """While the database is away: the health check says so, and so does every page, in each language."""
    health = browser.application.test_client().get("/healthz")  # the load balancer: no cookie
    assert health.status_code == 503
    assert health.json == {"status": "unavailable", "database": "unreachable"}
    for other in ("fr", "de", "en"):
        assert_unavailable_page(browser.get(f"/patient/?lang={other}"), other)
    figures.add("faults.db_down.requests", 4)
    figures.add("faults.db_down.503", 4)


def recovery(browser, person, patient_id: int, old_iban: str, figures) -> None:
    """The same application, no restart: the pool drops its dead connections by itself."""
    assert iban_of(patient_id) == old_iban, "the change cut off mid-request was saved"
    health = browser.application.test_client().get("/healthz")
    assert health.status_code == 200 and health.json["database"] == "ok"
    assert browser.get("/patient/").status_code == 200
    # The next code step (the sign-in used this one); the person's rows belong to another app context.
    clock.freeze(clock.now() + timedelta(seconds=totp.STEP_SECONDS))
    proof = {"password": person.password, "code": totp.code_for(person.secret)}
    response = browser.post("/patient/bank-account", data={"iban": NEW_IBAN, **proof})
    assert response.status_code == 303
    assert iban_of(patient_id) == NEW_IBAN
    figures.add("faults.db_down.recovered_requests", 3)


def cut_off_change(browser, lang: str, figures):
    response = browser.post(f"/patient/bank-account?lang={lang}", data={"iban": NEW_IBAN})
    figures.add("faults.db_down.requests")
    assert_unavailable_page(response, lang)
    figures.add("faults.db_down.503")


# --- SQLite: someone else holds the database -------------------------------------------------------

@pytest.fixture
def sqlite_app(tmp_path):
    path = tmp_path / "outage.sqlite3"
    application = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}", PROPAGATE_EXCEPTIONS=False)
    with application.app_context():
        upgrade()
        engine = db.engine

        @event.listens_for(engine, "connect")
        def _shorter_wait(dbapi_connection, _record):  # runs after the portal's own PRAGMAs
            dbapi_connection.execute(f"PRAGMA busy_timeout={TEST_BUSY_TIMEOUT_MS}")

        engine.dispose()
        yield application, path
        db.session.remove()
        engine.dispose()


@pytest.mark.committing  # its own database: outside the rolled-back test transaction
def test_sqlite_locked_by_someone_else_mid_request(sqlite_app, figures):
    lang = "de"
    application, path = sqlite_app
    with application.app_context():
        assert db.session.connection().exec_driver_sql("PRAGMA busy_timeout").scalar() == TEST_BUSY_TIMEOUT_MS
        db.session.commit()
        person = new_patient()
        patient_id, old_iban = person.profile.id, person.profile.iban
        browser = sign_in_committed(application, person)
        db.session.remove()

        holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)

        def take_the_lock(_connection):
            holder.execute("BEGIN EXCLUSIVE")

        # The request's first transaction loads the session and writes its activity; the
        # other connection takes the lock before the request's second transaction begins.
        fault = MidRequest(db.engine, nth_begin(2), take_the_lock)
        clock.freeze(clock.now() + timedelta(seconds=30))  # past the activity interval: a first commit
        fault.armed = True
        cut_off_change(browser, lang, figures)
        assert fault.struck
        try:
            outage(browser, figures)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        recovery(browser, person, patient_id, old_iban, figures)


# --- PostgreSQL: the connection is cut, or the server ends the backend ---------------------------

POSTGRES = database_url().startswith("postgresql")
needs_postgres = pytest.mark.skipif(not POSTGRES, reason="PostgreSQL scenario: run with TEST_DATABASE_URL=postgresql://…")


class Relay:
    """A TCP relay between the application and PostgreSQL that the test can sever.

    `cut()` closes every relayed connection and refuses new ones, as a server that went
    away does; `restore()` accepts again on the same port."""

    def __init__(self, host: str, port: int):
        self.target = (host, port)
        self.lock = threading.Lock()
        self.open: set[socket.socket] = set()
        self.listener = self._listen(0)
        self.port = self.listener.getsockname()[1]

    def _listen(self, port: int) -> socket.socket:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(64)
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return listener

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _address = listener.accept()
            except OSError:
                return  # the listener was closed: the relay is cut
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.open.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            self._close(source, sink)

    def _close(self, *sockets: socket.socket) -> None:
        for sock in sockets:
            with self.lock:
                self.open.discard(sock)
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def cut(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread; close() alone would not
        self.listener.close()
        with self.lock:
            severed = list(self.open)
        self._close(*severed)

    def restore(self) -> None:
        self.listener = self._listen(self.port)


@pytest.fixture
def relayed_app():
    url = make_url(database_url())
    relay = Relay(url.host or "127.0.0.1", url.port or 5432)
    through = url.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)
    application = make_app(SQLALCHEMY_DATABASE_URI=through, PROPAGATE_EXCEPTIONS=False)
    yield application, relay
    relay.cut()
    with application.app_context():
        db.engine.dispose()


@needs_postgres
@pytest.mark.committing
def test_postgresql_connection_cut_mid_request(relayed_app, app_ctx, figures):
    application, relay = relayed_app
    person = new_patient()
    patient_id, old_iban = person.profile.id, person.profile.iban
    browser = sign_in_committed(application, person)
    clock.freeze(clock.now())
    with application.app_context():
        fault = MidRequest(db.engine, is_write, lambda _connection: relay.cut())
    fault.armed = True
    try:
        cut_off_change(browser, "fr", figures)
        assert fault.struck
        outage(browser, figures)
    finally:
        relay.restore()
    recovery(browser, person, patient_id, old_iban, figures)


@needs_postgres
@pytest.mark.committing
def test_postgresql_backend_terminated_mid_request(app_ctx, figures):
    application = make_app(PROPAGATE_EXCEPTIONS=False)
    person = new_patient()
    patient_id, old_iban = person.profile.id, person.profile.iban
    browser = sign_in_committed(application, person)
    clock.freeze(clock.now())
    admin_url = make_url(database_url()).set(drivername="postgresql").render_as_string(hide_password=False)

    def terminate(connection):
        pid = connection.connection.dbapi_connection.info.backend_pid
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            for _attempt in range(100):  # the backend ends shortly after the signal
                if not admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone():
                    return
                time.sleep(0.05)
            raise AssertionError("the backend was not terminated")

    with application.app_context():
        fault = MidRequest(db.engine, is_write, terminate)
    fault.armed = True
    cut_off_change(browser, "en", figures)
    assert fault.struck
    # The server is up: only the connection died, and the pool replaces it at once.
    recovery(browser, person, patient_id, old_iban, figures)
