"""What a delivery hands to a channel's adapter (portal.messaging.mail, .sms), and what an
adapter may raise."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Outgoing:
    channel: str
    recipient: str
    subject: str | None
    body: str
    language: str
    key: str


class DeliveryError(Exception):
    """The provider did not take the message; another try may succeed."""

    permanent = False


class PermanentError(DeliveryError):
    """The provider refused the message for good (unknown address, malformed number)."""

    permanent = True
