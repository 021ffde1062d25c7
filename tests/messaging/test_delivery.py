"""Delivery from the outbox: each message sent once, failures retried later, dead letters listed
and retried by an operator, nothing sent without a transport (demo mode)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from portal.core import clock, jobs
from portal.extensions import db
from portal.messaging import delivery, notify
from portal.models import DeliveryState, OutboxMessage
from tests.fixtures.messages import free_port


def _reloaded(message: OutboxMessage) -> OutboxMessage:
    db.session.expire_all()
    return db.session.get(OutboxMessage, message.id)


def test_an_email_is_sent_once_its_transaction_commits_with_text_and_html(app_ctx, delivering):
    mailbox, _gateway = delivering
    message = notify.send_email("anna@example.lu", "Hallo", "Ein neues Dokument: https://portal.example.lu/x",
                                kind="statement", language="de")
    assert jobs.run_ready() == 0 and mailbox.messages == []  # nothing leaves before the commit
    db.session.commit()
    jobs.run_ready()
    (sent,) = mailbox.to("anna@example.lu")
    assert sent["Subject"] == "Hallo"
    assert sent["Message-ID"] == f"<{message.key}@portal.example.lu>"
    assert sent["Content-Language"] == "de"
    text = sent.get_body(("plain",)).get_content()
    html = sent.get_body(("html",)).get_content()
    assert "Ein neues Dokument" in text and "Antworten werden nicht gelesen" in text
    assert '<a href="https://portal.example.lu/x">' in html and 'lang="de"' in html
    stored = _reloaded(message)
    assert (stored.state, stored.attempts, stored.sent_at is not None) == (DeliveryState.SENT, 1, True)


def test_an_sms_goes_to_the_gateway_with_its_key_and_the_gateway_key(app_ctx, delivering):
    _mailbox, gateway = delivering
    message = notify.send_sms("+352621000111", "Code 123456", kind="code")
    db.session.commit()
    jobs.run_ready()
    (sms,) = gateway.to("+352621000111")
    assert sms["body"] == {"to": "+352621000111", "text": "Code 123456", "reference": message.key}
    assert sms["headers"]["Idempotency-Key"] == message.key
    assert sms["headers"]["Authorization"] == "Bearer test-gateway-key"
    assert _reloaded(message).state == DeliveryState.SENT


def test_a_rolled_back_event_sends_nothing(app_ctx, delivering):
    mailbox, gateway = delivering
    notify.send_email("anna@example.lu", "Hallo", "Text")
    notify.send_sms("+352621000111", "Text")
    db.session.rollback()
    db.session.commit()
    jobs.run_ready()
    assert mailbox.messages == [] and gateway.received == []
    assert db.session.scalar(db.select(db.func.count()).select_from(OutboxMessage)) == 0


def test_a_message_is_not_sent_twice(app_ctx, delivering):
    mailbox, _gateway = delivering
    message = notify.send_email("anna@example.lu", "Hallo", "Text")
    db.session.commit()
    jobs.run_ready()
    assert delivery.deliver(message.id) is None  # a second job for it (a sweep, a duplicate)
    assert len(mailbox.to("anna@example.lu")) == 1


def test_a_message_held_by_a_live_lease_is_left_alone_and_taken_over_once_it_ran_out(app_ctx, delivering):
    mailbox, _gateway = delivering
    message = notify.send_email("anna@example.lu", "Hallo", "Text")
    message.state, message.attempts = DeliveryState.SENDING, 1  # another worker holds it
    message.lease_until = clock.now() + timedelta(minutes=2)
    db.session.commit()
    jobs.run_ready()
    assert delivery.deliver(message.id) is None and mailbox.messages == []
    assert delivery.sweep() == 0
    clock.freeze(clock.now() + timedelta(minutes=3))  # the worker that held it died
    try:
        assert delivery.sweep() == 1
        db.session.commit()
        jobs.run_ready()
    finally:
        clock.freeze(None)
    assert len(mailbox.to("anna@example.lu")) == 1
    assert (_reloaded(message).state, _reloaded(message).attempts) == (DeliveryState.SENT, 2)


def test_a_failing_server_is_retried_later_then_the_message_is_a_dead_letter(app_ctx, delivering, app,
                                                                                monkeypatch, runner, smtp_server):
    monkeypatch.setitem(app.config, "SMTP_URL", f"smtp://127.0.0.1:{free_port()}")  # nobody listens
    monkeypatch.setitem(app.config, "OUTBOX_MAX_ATTEMPTS", 3)
    message = notify.send_email("anna@example.lu", "Hallo", "Text")
    db.session.commit()
    jobs.run_ready()
    stored = _reloaded(message)
    assert (stored.state, stored.attempts) == (DeliveryState.PENDING, 1)
    assert "ConnectionRefusedError" in stored.last_error
    assert stored.next_attempt_at - clock.now() == pytest.approx(timedelta(seconds=30), abs=timedelta(seconds=5))
    assert delivery.deliver(message.id) is None  # not due yet
    waits = [delivery.wait_after(n) for n in range(1, 8)]
    assert waits[:3] == [timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=8)]
    assert waits[-1] == timedelta(hours=6)
    for _ in range(2):
        clock.freeze(clock.now() + timedelta(hours=7))
        delivery.sweep()
        db.session.commit()
        jobs.run_ready()
    clock.freeze(None)
    assert (_reloaded(message).state, _reloaded(message).attempts) == (DeliveryState.FAILED, 3)
    listed = runner.invoke(args=["outbox", "failed"])
    assert f"{message.id}\temail\tanna@example.lu" in listed.output and "1 failed message(s)." in listed.output

    url, mailbox = smtp_server()  # the server is back: the operator retries
    monkeypatch.setitem(app.config, "SMTP_URL", url)
    assert runner.invoke(args=["outbox", "retry", str(message.id)]).exit_code == 0
    jobs.run_ready()  # the command runs in the test's app context: its end is the test's
    assert len(mailbox.to("anna@example.lu")) == 1
    assert _reloaded(message).state == DeliveryState.SENT
    again = runner.invoke(args=["outbox", "retry", str(message.id)])
    assert again.exit_code == 1 and "neither failed nor held" in again.output


def test_a_refusal_for_good_is_a_dead_letter_at_once(app_ctx, delivering):
    _mailbox, gateway = delivering
    gateway.status = 400
    message = notify.send_sms("+352621000111", "Text")
    db.session.commit()
    jobs.run_ready()
    stored = _reloaded(message)
    assert (stored.state, stored.attempts, stored.last_error) == (DeliveryState.FAILED, 1, "HTTP 400")


def test_without_a_transport_messages_are_held_and_shown_with_their_state(app_ctx, client):
    message = notify.send_sms("+352621000111", "Your code 123456")
    db.session.commit()
    jobs.run_ready()
    assert _reloaded(message).state == DeliveryState.HELD
    page = client.get("/dev/outbox?lang=en").get_data(as_text=True)
    assert "Your code 123456" in page and "Held: no transport configured" in page
