"""E-mail over SMTP: SMTP_URL is smtp://user:password@host:port (add ?starttls=1 to upgrade the
connection) or smtps://… (TLS from the first byte); MAIL_FROM is the sender.

The message's key is its Message-ID. SMTP has no idempotency: a message the server accepted
just before the worker died is sent again by the next try, with the same Message-ID, which
mail systems use to drop the copy (README, "Messages")."""

from __future__ import annotations

import re
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from urllib.parse import parse_qs, unquote, urlsplit

from flask import current_app
from flask_babel import force_locale

from portal.messaging.outgoing import DeliveryError, Outgoing, PermanentError

URL = re.compile(r"(https?://\S+)")
TIMEOUT_SECONDS = 30


def send(outgoing: Outgoing) -> None:
    settings = urlsplit(current_app.config["SMTP_URL"])
    message = compose(outgoing)
    try:
        with _connect(settings) as server:
            if settings.username:
                server.login(unquote(settings.username), unquote(settings.password or ""))
            server.send_message(message)
    except smtplib.SMTPRecipientsRefused as refused:
        raise PermanentError(_first_reply(refused.recipients)) from refused
    except smtplib.SMTPResponseException as answer:
        error = PermanentError if answer.smtp_code >= 500 else DeliveryError
        raise error(f"{answer.smtp_code} {_text(answer.smtp_error)}") from answer
    except (smtplib.SMTPException, OSError) as failure:
        raise DeliveryError(f"{type(failure).__name__}: {failure}") from failure


def compose(outgoing: Outgoing) -> EmailMessage:
    sender = current_app.config["MAIL_FROM"]
    message = EmailMessage()
    message["From"] = sender
    message["To"] = outgoing.recipient
    message["Subject"] = outgoing.subject or ""
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = f"<{outgoing.key}@{sender.rpartition('@')[2].strip('> ') or 'portal'}>"
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies back to us
    parts = [(piece, bool(URL.fullmatch(piece))) for piece in URL.split(outgoing.body) if piece]
    with force_locale(outgoing.language):
        message.set_content(_render("messages/email.txt", body=outgoing.body))
        message.add_alternative(_render("messages/email.html", parts=parts, subject=outgoing.subject,
                                        language=outgoing.language), subtype="html")
    message["Content-Language"] = outgoing.language  # after the parts: making them moves Content-* headers
    return message


def _render(name: str, **context) -> str:
    # Not render_template: the web pages' context processors (the signed-in user, the menus)
    # have nothing to say to a message rendered in a worker.
    return current_app.jinja_env.get_template(name).render(**context)


def _connect(settings) -> smtplib.SMTP:
    host, port = settings.hostname or "localhost", settings.port
    if settings.scheme == "smtps":
        return smtplib.SMTP_SSL(host, port or 465, timeout=TIMEOUT_SECONDS, context=ssl.create_default_context())
    server = smtplib.SMTP(host, port or 25, timeout=TIMEOUT_SECONDS)
    if parse_qs(settings.query).get("starttls", ["0"])[0] in ("1", "true", "yes"):
        server.starttls(context=ssl.create_default_context())
    return server


def _first_reply(recipients: dict) -> str:
    code, text = next(iter(recipients.values()), (550, b"refused"))
    return f"{code} {_text(text)}"


def _text(reply) -> str:
    return (reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply))[:150]
