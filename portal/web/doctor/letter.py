"""What the activation letter says, on screen and in its PDF, in the patient's language (the
page around it stays in the doctor's): the portal's address, the date, the practice that
issued it, until when the code works, and the code to scan or type."""

from __future__ import annotations

from flask_babel import force_locale
from flask_babel import gettext as _
from markupsafe import Markup

from portal.accounts import totp
from portal.activation import codes
from portal.core import i18n, links, pdf
from portal.models import ActivationCode


def contents(code: ActivationCode, token: str) -> dict:
    link = links.external_url("activation.link", token=token)
    # The address to type stays short and free of the secret: the code is typed on the page.
    address = links.external_url("activation.start")
    doctor = code.doctor
    with force_locale(code.language):
        texts = {
            "title": _("Activate your patient account"),
            "name": _("Name"),
            "issued_on": _("Issued on"),
            "issued": i18n.date(code.created_at, "long"),
            "issued_by": _("Issued by"),
            "valid_until": _("Valid until"),
            "expires": i18n.date(code.expires_at, "long"),
            "address": _("Activation page"),
            "code": _("Your activation code"),
            "how": _("How to activate your account"),
            "steps": _instructions(address),
        }
    return {"code": code, "patient": code.patient, "link": link, "address": address,
            "practice": [doctor.name, doctor.specialty] if doctor else [], "typed": codes.grouped(token),
            "qr_svg": _qr_markup(link), "texts": texts}


def document(letter: dict) -> bytes:
    texts = letter["texts"]
    made = pdf.Document(texts["title"])
    made.fact(texts["name"], letter["patient"].full_name)
    made.fact(texts["issued_on"], texts["issued"])
    if letter["practice"]:
        made.fact(texts["issued_by"], ", ".join(letter["practice"]))
    made.fact(texts["valid_until"], texts["expires"])
    made.qr(letter["link"])
    made.fact(texts["address"], letter["address"])
    made.fact(texts["code"], letter["typed"])
    made.heading(texts["how"])
    for line in texts["steps"]:
        made.paragraph(line)
    return made.render()


def _qr_markup(data: str) -> Markup:
    svg = totp.qr_svg(data).decode()
    svg = svg[svg.index("<svg") :]
    return Markup(svg.replace("<svg", '<svg role="img" aria-label="QR"', 1))  # noqa: S704  # nosec B704: our own SVG, made from our own link


def _instructions(address: str) -> list[str]:
    return [
        _("1. Scan the QR code with your phone, or open %(address)s and type the code: capital or small "
          "letters, with or without the hyphens.", address=address),
        _("2. Confirm your date of birth."),
        _("3. Choose a password and set up an authenticator app."),
        _("4. Save your recovery codes and accept the terms of use."),
        _("The code works once. Nobody from the portal or your health fund will ever ask you for it."),
    ]
