"""The doctor issues activation codes after checking a patient's identity."""

from __future__ import annotations

from flask import abort, g, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy.orm import joinedload

from portal import audit
from portal.accounts import guardian_register, totp
from portal.activation import codes
from portal.core import htmx, i18n, identity, links, pdf
from portal.core.forms import require_valid
from portal.extensions import db
from portal.models import ActivationCode, Patient
from portal.web import ownership, traced
from portal.web.access import allow
from portal.web.doctor.blueprint import bp
from portal.web.doctor.forms import IssueActivationForm, LookupForm, RevokeForm, TokenForm


def _find(matricule: str | None) -> Patient | None:
    return db.session.scalar(db.select(Patient).where(Patient.matricule == matricule)) if matricule else None


def _identified(matricule: str | None, birth_date) -> Patient | None:
    """The insured person with this number and this birth date; None when either is wrong, and
    the same None, so the answer never tells which one was."""
    patient = _find(matricule)
    return patient if patient is not None and birth_date is not None and patient.birth_date == birth_date else None


def _issued_codes() -> list[ActivationCode]:
    return list(
        db.session.scalars(
            db.select(ActivationCode)
            .where(ActivationCode.doctor_id == ownership.current_doctor().id)
            .options(joinedload(ActivationCode.patient), joinedload(ActivationCode.guardian))
            .order_by(ActivationCode.created_at.desc())
            .limit(50)
        )
    )


@bp.get("/activations")
@allow("doctor")
def activations():
    lookup = LookupForm(request.args)
    patient = None
    not_found = False
    if "matricule" in request.args and lookup.validate():
        patient = _identified(lookup.matricule.data, lookup.birth_date.data)
        not_found = patient is None
        if patient is not None:
            audit.record(audit.PATIENT_LOOKED_UP, patient_id=patient.id, purpose="activation")
    form = IssueActivationForm(matricule=patient.matricule if patient else None,
                               birth_date=lookup.birth_date.data if patient else None,
                               language=i18n.language())
    html = htmx.render(
        "doctor/activations.html",
        "doctor/_activation_check.html",
        lookup=lookup,
        patient=patient,
        not_found=not_found,
        form=form,
        is_minor=identity.is_minor(patient) if patient else False,
        issued=_issued_codes(),
        state_of=codes.state,
        revoke_form=RevokeForm(),
    )
    return traced.page(html)


def _guardian_problem(form: IssueActivationForm, patient: Patient) -> Patient | None:
    """For a child, the parent must be an adult with an active account; adds field errors."""
    if not identity.is_minor(patient):
        return None
    guardian = None
    if form.guardian_matricule.errors:
        # The field already says what is wrong; a refused number is never looked up
        # (PostgreSQL refuses some of them outright).
        pass
    elif not form.guardian_matricule.data:
        form.guardian_matricule.errors.append(_("A child's code needs the parent's national identification number."))
    elif (guardian := _find(form.guardian_matricule.data)) is None or identity.is_minor(guardian):
        form.guardian_matricule.errors.append(_("No adult insured person has this number."))
    elif guardian.account is None or not guardian.account.is_active:
        form.guardian_matricule.errors.append(_("The parent must activate their own account first."))
    if not form.parental_link.data:
        form.parental_link.errors.append(_("Confirm that you checked the parental link."))
    return guardian


def _unregistered_guardian(form: IssueActivationForm, patient: Patient, guardian: Patient | None, valid: bool) -> None:
    """A doctor may name only a guardian the register holds; otherwise the CNS is asked to confirm."""
    if guardian is None or form.guardian_matricule.errors or guardian_register.holds(patient, guardian):
        return
    if valid and not any(field.errors for field in form):
        guardian_register.request_link(patient, guardian, ownership.current_doctor())
        form.guardian_matricule.errors.append(_(
            "The insurance register does not name this person as the child's guardian. The CNS must "
            "confirm the link first: your request has been sent to them, and you can issue the code "
            "once they have confirmed it."
        ))
    else:
        form.guardian_matricule.errors.append(_(
            "The insurance register does not name this person as the child's guardian. The CNS must "
            "confirm the link first: complete the form and send it again to ask them."
        ))


@bp.post("/activations")
@allow("doctor")
def issue_activation():
    form = IssueActivationForm()
    valid = form.validate()
    patient = None if form.matricule.errors or form.birth_date.errors else _identified(
        form.matricule.data, form.birth_date.data)
    guardian = _guardian_problem(form, patient) if patient else None
    if patient is not None:
        _unregistered_guardian(form, patient, guardian, valid)
    if patient is None or not valid or any(field.errors for field in form):
        db.session.commit()  # a request for the CNS to confirm a link, with its audit row; nothing else
        return render_template(
            "doctor/activations.html",
            lookup=LookupForm(formdata=None, matricule=form.matricule.data, birth_date=form.birth_date.data),
            patient=patient,
            not_found=patient is None, form=form, is_minor=bool(patient and identity.is_minor(patient)),
            issued=_issued_codes(), state_of=codes.state, revoke_form=RevokeForm(),
        ), 400
    code, token = codes.issue(
        patient, doctor=ownership.current_doctor(), document_type=form.document_type.data,
        document_last4=form.document_last4.data.upper(), mobile=form.mobile.data,
        guardian=guardian, language=form.language.data,
    )
    db.session.commit()
    g.no_store = True
    return render_template("doctor/activation_letter.html", **_letter(code, token), token_form=TokenForm(token=token))


def _letter(code: ActivationCode, token: str) -> dict:
    """What the letter says, in the patient's language (the page around it stays in the doctor's)."""
    link = links.external_url("activation.link", token=token)
    with force_locale(code.language):
        texts = {
            "title": _("Activate your patient account"),
            "name": _("Name"),
            "valid_until": _("Valid until"),
            "expires": i18n.date(code.expires_at, "long"),
            "code": _("Code"),
            "how": _("How to activate your account"),
            "steps": _instructions(),
        }
    return {"code": code, "patient": code.patient, "link": link, "typed": codes.grouped(token),
            "qr_svg": _qr_markup(link), "texts": texts}


def _qr_markup(data: str):


    svg = totp.qr_svg(data).decode()
    svg = svg[svg.index("<svg") :]
    return Markup(svg.replace("<svg", '<svg role="img" aria-label="QR"', 1))  # noqa: S704  # nosec B704: our own SVG, made from our own link


@bp.post("/activations/<int:code_id>/letter.pdf")
@allow("doctor")
def activation_letter_pdf(code_id: int):
    code = ownership.own_code(code_id)
    form = TokenForm()
    if not form.validate_on_submit() or codes.digest(form.token.data) != code.token_hash:
        abort(404)
    letter = _letter(code, codes.normalise(form.token.data))
    texts = letter["texts"]
    document = pdf.Document(texts["title"])
    document.fact(texts["name"], code.patient.full_name)
    document.fact(texts["valid_until"], texts["expires"])
    document.qr(letter["link"])
    document.fact(texts["code"], letter["typed"])
    document.heading(texts["how"])
    for line in texts["steps"]:
        document.paragraph(line)
    return pdf.attachment(document.render(), "activation.pdf")


def _instructions() -> list[str]:
    return [
        _("1. Scan the QR code with your phone, or open the portal's activation page and type the code."),
        _("2. Confirm your date of birth."),
        _("3. Choose a password and set up an authenticator app."),
        _("4. Save your recovery codes and accept the terms of use."),
        _("The code works once. Nobody from the portal or your health fund will ever ask you for it."),
    ]


@bp.post("/activations/<int:code_id>/revoke")
@allow("doctor")
def revoke_activation(code_id: int):
    code = ownership.own_code(code_id)
    require_valid(RevokeForm())
    codes.revoke(code, "doctor")
    db.session.commit()
    return htmx.redirect(url_for("doctor.activations"))
