"""Words a list and a page both print, keyed as the models store them: Python holds them
(not a template's dict of `_()` calls) so that a list translates each once per page
(portal/web/rows.py) and the pages' macros print the same words."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

CHANNELS = {
    "digital": _l("Digital"),
    "paper_qr": _l("Paper with QR code"),
    "paper": _l("Paper without QR code"),
}

# Why the patient cannot send an invoice to the fund; the keys are sharing.why_not_shareable's.
UNSHAREABLE = {
    "shared": _l("Cannot be sent again: your health fund already has it."),
    "voided": _l("Cannot be sent: the doctor voided it."),
    "expired": _l("Cannot be sent: it is more than two years old."),
    "paper": _l("Cannot be sent from the portal: post this paper invoice to your health fund."),
    "direct": _l("Nothing to send: with direct payment your doctor claims the rest from your health fund."),
}
