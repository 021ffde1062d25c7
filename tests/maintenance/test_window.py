"""A maintenance window as operators schedule it and as every request meets it: announced on every
page before, a translated 503 with Retry-After during (the health check still answers), normal after."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import current_app

from portal import maintenance
from portal.core import clock
from portal.extensions import db
from portal.models import AuditEvent, MaintenanceWindow
from tests.fixtures.cli import refused
from tests.fixtures.clients import text_of
from tests.fixtures.queries import count_queries
from tests.web.test_pages import translated

# 2030-01-10 22:00 in Luxembourg (CET, UTC+1) is 21:00 UTC.
STARTS = datetime(2030, 1, 10, 21, 0, tzinfo=UTC)
ENDS = datetime(2030, 1, 10, 22, 30, tzinfo=UTC)
BANNER = "Planned maintenance: the portal will be unavailable from %(start)s to %(end)s."
CLOSED = "Maintenance under way"


def schedule(runner, *extra: str):
    return runner.invoke(args=["maintenance", "schedule", "--from", "2030-01-10 22:00", "--to", "2030-01-10 23:30",
                               *extra])


@pytest.fixture
def window(runner, app_ctx, tmp_path):
    clock.freeze(STARTS - timedelta(days=5))
    message = tmp_path / "message.txt"
    message.write_text("Database upgrade.\n", encoding="utf-8")
    result = schedule(runner, "--message-file", str(message))
    assert result.exit_code == 0, result.output
    assert "2030-01-10 22:00 CET to 2030-01-10 23:30 CET" in result.output
    return db.session.scalar(db.select(MaintenanceWindow).order_by(MaintenanceWindow.id.desc()))


def test_schedule_stores_the_window_in_utc_and_audits_it(window):
    assert (window.starts_at, window.ends_at, window.message) == (STARTS, ENDS, "Database upgrade.")
    row = db.session.scalar(db.select(AuditEvent).where(AuditEvent.event == "maintenance.scheduled"))
    assert row.data == {"window_id": window.id, "starts_at": STARTS.isoformat(), "ends_at": ENDS.isoformat()}


def test_list_shows_the_windows_to_come_and_cancel_removes_one(runner, window):
    listed = runner.invoke(args=["maintenance", "list"])
    assert f"{window.id}\t2030-01-10 22:00 CET\t2030-01-10 23:30 CET\tDatabase upgrade." in listed.output
    assert runner.invoke(args=["maintenance", "cancel", str(window.id)]).exit_code == 0
    assert "No maintenance window is scheduled." in runner.invoke(args=["maintenance", "list"]).output
    assert db.session.scalar(db.select(AuditEvent.data).where(AuditEvent.event == "maintenance.cancelled")) == {
        "window_id": window.id}
    refused(runner.invoke(args=["maintenance", "cancel", str(window.id)]), "still to come", "Nothing was written.")


def test_impossible_windows_are_refused_with_nothing_written(runner, app_ctx):
    clock.freeze(STARTS - timedelta(days=1))
    refused(runner.invoke(args=["maintenance", "schedule", "--from", "2030-01-10 23:00", "--to", "2030-01-10 22:00"]),
            "must end after it begins")
    refused(runner.invoke(args=["maintenance", "schedule", "--from", "2029-01-10 22:00", "--to", "2029-01-10 23:00"]),
            "already over")
    bad = runner.invoke(args=["maintenance", "schedule", "--from", "tonight", "--to", "2030-01-10 23:00"])
    assert bad.exit_code == 2 and "2026-12-20 22:00" in bad.output
    assert db.session.scalar(db.select(db.func.count(MaintenanceWindow.id))) == 0


@pytest.mark.parametrize("lang", ["fr", "de", "en"])
def test_every_page_announces_the_window_from_the_notice_period(client, window, app, lang):
    clock.freeze(STARTS - app.config["MAINTENANCE_NOTICE"] - timedelta(minutes=1))
    assert "Database upgrade." not in text_of(client.get(f"/?lang={lang}"))
    clock.freeze(STARTS - app.config["MAINTENANCE_NOTICE"] + timedelta(minutes=1))
    shown = text_of(client.get(f"/legal?lang={lang}"))
    assert translated(BANNER, lang).split("%(start)s")[0].strip() in shown
    assert "Database upgrade." in shown
    assert "22:00" in shown and "23:30" in shown  # Luxembourg time, as the operator wrote it


@pytest.mark.parametrize("lang", ["fr", "de", "en"])
def test_during_the_window_every_page_answers_a_translated_503(client, window, lang):
    clock.freeze(STARTS + timedelta(minutes=30))
    response = client.get(f"/terms?lang={lang}")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == str(60 * 60)  # one hour until it ends
    assert translated(CLOSED, lang) in text_of(response)
    assert "Database upgrade." in text_of(response)


def test_a_write_that_arrives_during_the_window_is_refused_before_it_begins(client, window, people):
    clock.freeze(STARTS + timedelta(seconds=1))
    before = db.session.scalar(db.select(db.func.count(AuditEvent.id)))
    response = client.post("/login", data={"login": people["patient"].login, "password": "wrong"})
    assert response.status_code == 503
    assert db.session.scalar(db.select(db.func.count(AuditEvent.id))) == before  # not even a failed sign-in


def test_the_health_check_and_the_stylesheet_stay_reachable(client, window):
    clock.freeze(STARTS - timedelta(hours=1))
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json["status"] == "ok"
    assert health.json["maintenance"] == {"state": "scheduled", "starts_at": STARTS.isoformat(),
                                          "ends_at": ENDS.isoformat()}
    clock.freeze(STARTS + timedelta(minutes=1))
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.json["status"] == "maintenance" and health.json["maintenance"]["state"] == "under_way"
    assert client.get("/static/css/portal.css").status_code == 200


def test_after_the_window_pages_are_served_again(client, window):
    clock.freeze(ENDS)
    response = client.get("/terms")
    assert response.status_code == 200 and "Database upgrade." not in text_of(response)
    assert client.get("/healthz").json == {"status": "ok", "database": "ok"}


def test_a_cancelled_window_is_neither_announced_nor_served(client, runner, window):
    clock.freeze(STARTS + timedelta(minutes=1))
    assert runner.invoke(args=["maintenance", "cancel", str(window.id)]).exit_code == 0
    assert client.get("/").status_code == 200


def test_a_window_scheduled_by_another_instance_arrives_within_the_cache_interval(client, app_ctx, monkeypatch):
    clock.freeze(STARTS + timedelta(minutes=1))
    assert client.get("/").status_code == 200  # this process read the windows: none
    # Another instance schedules one (its own process, its own cache): a row, and nothing told here.
    db.session.add(MaintenanceWindow(starts_at=STARTS, ends_at=ENDS))
    db.session.commit()
    with count_queries() as statements:
        assert client.get("/").status_code == 200  # within the interval: no SQL for it, not seen yet
    assert not [s for s in statements if "maintenance_window" in s]
    monkeypatch.setitem(client.application.config, "MAINTENANCE_CACHE_SECONDS", 0)
    assert client.get("/").status_code == 503


def test_the_windows_are_kept_when_the_database_cannot_be_read(app_ctx, monkeypatch):
    clock.freeze(STARTS + timedelta(minutes=1))
    db.session.add(MaintenanceWindow(starts_at=STARTS, ends_at=ENDS))
    db.session.flush()
    assert maintenance.current() is not None
    monkeypatch.setitem(current_app.config, "MAINTENANCE_CACHE_SECONDS", 0)
    from sqlalchemy.exc import OperationalError

    def down(*_args, **_kwargs):
        raise OperationalError("SELECT", {}, Exception("connection refused"))

    monkeypatch.setattr(db.session, "scalars", down)
    assert maintenance.current() is not None  # still under way, as last read
