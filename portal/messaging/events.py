"""Telling a patient that something waits in the portal. A message says that, and where: never
what (no amount, act, doctor or diagnosis), since an SMS or an e-mail can be read by anyone who
holds the phone or the mailbox. Links are built on PUBLIC_BASE_URL."""

from __future__ import annotations

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from portal.core import links
from portal.extensions import db
from portal.messaging import contacts, notify, preferences
from portal.models import Patient

# kind: (subject, text with %(link)s, the page the link opens)
MESSAGES = {
    "statement": (_l("A new document is available"),
                  _l("A new document is available in your CNS portal: %(link)s"), "patient.notifications"),
    "info_requested": (_l("A question from your health fund"),
                       _l("Your health fund has a question about one of your claims. Please answer it in your "
                          "CNS portal: %(link)s"), "patient.notifications"),
    "rejected": (_l("A decision from your health fund"),
                 _l("Your health fund has decided on one of your claims. The decision is in your CNS portal: "
                    "%(link)s"), "patient.notifications"),
    "auto_shared": (_l("An invoice was sent to your health fund"),
                    _l("As you chose, an invoice was sent to your health fund automatically. You can follow it in "
                       "your CNS portal: %(link)s"), "patient.notifications"),
    "export": (_l("Your data export is ready"),
               _l("The export of your data that you asked for is ready to download in your CNS portal: %(link)s"),
               "patient.my_data"),
    "help_reply": (_l("Your health fund answered your message"),
                   _l("Your health fund answered the message you sent it. Read the answer in your CNS portal: "
                      "%(link)s"), "patient.help"),
}


def tell(patient_id: int | None, kind: str) -> int:
    """Write the message for `kind` to the patient's contacts, on the channels they chose; the
    number written. The caller commits (with the event)."""
    patient = db.session.get(Patient, patient_id) if patient_id is not None else None
    if patient is None or kind not in MESSAGES:
        return 0
    account = patient.account
    language = (account.preferred_language if account else None) or "fr"
    wanted = preferences.channels(account, kind)
    subject, text, endpoint = MESSAGES[kind]
    link = links.external_url(endpoint)
    with force_locale(language):
        subject, body = str(subject), str(text) % {"link": link}
    written = 0
    for channel, address in contacts.of_patient(patient):
        if channel not in wanted:
            continue
        if channel == "sms":
            notify.send_sms(address, body, patient_id=patient.id, kind=kind, language=language)
        else:
            notify.send_email(address, subject, body, patient_id=patient.id, kind=kind, language=language)
        written += 1
    return written


def export_ready(patient_id: int) -> int:
    """For the export job: the patient's data export can be downloaded."""
    return tell(patient_id, "export")
