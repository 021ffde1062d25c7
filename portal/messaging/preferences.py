"""Which channels a patient wants each kind of message on. Security alerts and one-time codes are
not in the list: they always go to every contact (they are how an owner learns of a stranger)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.models import Account

CHANNELS = ("email", "sms")

# The kinds a patient may switch off, as the settings page names them.
KINDS = {
    "statement": _l("A statement or other document is available"),
    "info_requested": _l("The health fund has a question about a claim"),
    "rejected": _l("The health fund decided on a claim"),
    "auto_shared": _l("An invoice was sent to the health fund automatically"),
    "export": _l("The export of my data is ready"),
}


def channels(account: Account | None, kind: str) -> tuple[str, ...]:
    """The channels this kind of message goes on for this account (every one unless switched off)."""
    if kind not in KINDS or account is None or not account.message_channels:
        return CHANNELS
    chosen = account.message_channels.get(kind)
    return CHANNELS if chosen is None else tuple(channel for channel in CHANNELS if channel in chosen)


def choose(account: Account, chosen: dict[str, list[str]]) -> bool:
    """Keep the channels chosen per kind (unknown kinds and channels are dropped); whether anything
    changed. The caller commits."""
    cleaned = {kind: [channel for channel in CHANNELS if channel in chosen.get(kind, [])] for kind in KINDS}
    if cleaned == {kind: list(channels(account, kind)) for kind in KINDS}:
        return False
    account.message_channels = cleaned
    return True
