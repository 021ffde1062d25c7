"""Activating an account: the code (QR link or typed), the birth date, a code sent to the
register's contact (or CNS staff's confirmation), a password, an authenticator and the terms of
use; the state lives on the server (portal.activation.flows). Also the self-service identity request."""

from __future__ import annotations

from datetime import timedelta

from flask import Response, current_app, flash, g, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import accounts, audit
from portal.accounts import contact_codes, guardians, reactivation, security_alerts, terms, totp
from portal.activation import codes, flows, requests, resume
from portal.core import clock, htmx, i18n
from portal.core.forms import attach, require_valid
from portal.core.refused import Refused
from portal.extensions import db, limiter
from portal.models import Account, ActivationCode, ActivationFlow, ContactCode, IdentityRequest
from portal.web.access import PUBLIC, allow
from portal.web.activation.blueprint import bp
from portal.web.activation.forms import (
    AcceptTermsForm,
    BirthDateForm,
    ChoosePasswordForm,
    ContactCodeForm,
    IdentityRequestForm,
    ResendForm,
    TypedCodeForm,
)
from portal.web.forms import AuthenticatorForm

# One code per flow per minute: the resend button cannot be used to flood someone's phone.
RESEND_AFTER = timedelta(minutes=1)


def _activation_limit() -> str:
    return current_app.config["ACTIVATION_RATE_LIMIT"]


def _limit(scope: str | None = None):
    # Routes that check one secret share a budget per address: a code guessed by typing it
    # and one guessed by link count against the same limit.
    if scope:
        return limiter.shared_limit(_activation_limit, scope=scope, methods=["GET", "POST"])
    return limiter.limit(_activation_limit, methods=["GET", "POST"])


def _next() -> Response:
    return htmx.redirect(url_for("activation.proceed"))


def _begin(code: ActivationCode) -> Response:
    flows.begin(code)
    db.session.commit()
    return _next()


def _invalid(flow: ActivationFlow | None = None) -> Response:
    db.session.rollback()
    if flow is not None:
        flows.consume(flow)
        db.session.commit()
    flows.forget()
    return htmx.redirect(url_for("activation.invalid"))


def _move(flow: ActivationFlow, step: str, *, account: Account | None = None) -> Response:
    """On to `step` under a new secret, and commit; a copy of the cookie that moved first wins nothing."""
    if not flows.advance(flow, step, account=account):
        return _invalid()
    db.session.commit()
    return _next()


@bp.route("", methods=["GET", "POST"])
@allow(PUBLIC)
@_limit("activation-code")
def start():
    form = TypedCodeForm()
    if form.validate_on_submit():
        # An unfinished activation starts again with the same code (portal.activation.resume).
        code = codes.find_usable(form.code.data) or resume.code_to_resume(form.code.data)
        return _begin(code) if code else _invalid()
    return render_template("activation/start.html", form=form)


@bp.get("/<token>")
@allow(PUBLIC)
@_limit("activation-code")
def link(token: str):
    # Whatever the token, the next page has a token-free address.
    code = codes.find_usable(token) or resume.code_to_resume(token)
    return _begin(code) if code else _invalid()


@bp.get("/invalid")
@allow(PUBLIC)
def invalid():
    return render_template("activation/invalid.html")


@bp.route("/continue", methods=["GET", "POST"])
@allow(PUBLIC)
@_limit()
def proceed():
    flow = flows.current()
    if flow is None:
        return htmx.redirect(url_for("activation.start"))
    g.no_store = True
    code = flow.code
    if codes.is_blocked(code.patient):
        audit.record(audit.ACTIVATION_REFUSED_BLOCKED, actor=None, patient_id=code.patient_id, code_id=code.id)
        return _invalid(flow)
    if flow.account_id is None and codes.state(code) != "pending" and not resume.resumes(flow):
        return _invalid(flow)
    return STEPS[flow.step](flow)


def _step_birth_date(flow: ActivationFlow):
    code = flow.code
    form = BirthDateForm()
    if form.validate_on_submit():
        if codes.check_birth_date(code, form.birth_date.data):
            audit.record(audit.ACTIVATION_BIRTH_DATE_CHECKED, actor=None, patient_id=code.patient_id,
                         code_id=code.id)
            if code.guardian_patient_id:
                return _move(flow, "guardian")  # the parent, signed in, is proof enough
            return _prove_contact(flow)
        db.session.commit()
        if codes.state(code) == "revoked":
            flows.consume(flow)
            db.session.commit()
            return render_template("activation/locked.html")
        form.birth_date.errors.append(_("This date of birth does not match. Please check it and try again."))
    return render_template("activation/birth_date.html", form=form)


def _prove_contact(flow: ActivationFlow) -> Response:
    """After the birth date: a code to the register's contact, never to a number the doctor typed;
    CNS staff when the register has none; nothing more when staff already confirmed the person."""
    code = flow.code
    if code.staff_confirmed_at is not None:
        return _redeem(flow)
    if contact_codes.channel_for(code.patient) is None:
        codes.request_staff_confirmation(code)
        return _move(flow, "awaiting_staff")
    if not flows.advance(flow, "contact_code"):
        return _invalid()
    contact_codes.send(code.patient, "activation", bound_to=flows.binding(flow), language=code.language)
    db.session.commit()
    return _next()


def _redeem(flow: ActivationFlow) -> Response:
    if codes.state(flow.code) == "used":  # proved again for an unfinished activation: on where it stopped
        return _resume(flow)
    account = codes.redeem_for_self(flow.code)
    if account is None:
        return _invalid(flow)
    return _move(flow, "password", account=account)


def _resume(flow: ActivationFlow) -> Response:
    code = flow.code
    account = code.patient.account if resume.resumes(flow) else None
    if account is None:
        return _invalid(flow)
    step = resume.next_step(account)
    resume.record(code, step, "link")
    flash(_("Your activation is not finished: you can go on where you stopped."), "info")
    return _move(flow, step, account=account)


def _step_contact_code(flow: ActivationFlow):
    code = flow.code
    form = ContactCodeForm()
    if form.validate_on_submit():
        row = contact_codes.check("activation", bound_to=flows.binding(flow), code=form.contact_code.data)
        if row is not None and row.patient_id == code.patient_id:
            audit.record(audit.ACTIVATION_CONTACT_CODE_CHECKED, actor=None, patient_id=code.patient_id,
                         code_id=code.id)
            return _redeem(flow)
        db.session.commit()  # the try counts
        form.contact_code.errors.append(_(
            "This code is not right, or no longer valid. Check the last message we sent you, or ask for a new code."
        ))
    return render_template("activation/contact_code.html", form=form, resend_form=ResendForm(),
                           destination=contact_codes.masked_destination(code.patient))


def _sent_recently(flow: ActivationFlow) -> bool:
    return db.session.scalar(
        db.select(ContactCode.id).where(ContactCode.bound_to == flows.binding(flow),
                                        ContactCode.created_at > clock.now() - RESEND_AFTER).limit(1)
    ) is not None


@bp.post("/resend")
@allow(PUBLIC)
@_limit()
def resend_code():
    flow = flows.current()
    if flow is None or flow.step != "contact_code":
        return htmx.redirect(url_for("activation.start"))
    require_valid(ResendForm())
    if _sent_recently(flow):
        flash(_("We sent you a code less than a minute ago. Wait a moment before asking for another."), "error")
    else:
        code = flow.code
        contact_codes.send(code.patient, "activation", bound_to=flows.binding(flow), language=code.language)
        db.session.commit()
        flash(_("We sent you a new code. Only the newest one works."), "success")
    return _next()


def _step_awaiting_staff(flow: ActivationFlow):
    if flow.code.staff_confirmed_at is not None:
        return _redeem(flow)
    return render_template("activation/awaiting_staff.html")


def _step_guardian(flow: ActivationFlow):
    code = flow.code
    signed_in_as_guardian = current_user.is_authenticated and current_user.id == code.guardian.account_id
    form = AcceptTermsForm()  # only its CSRF token and submit button are used here
    if signed_in_as_guardian and form.is_submitted() and form.validate():
        link = codes.redeem_for_child(code, current_user)
        if link is None or not flows.consume(flow):
            return _invalid(flow)
        db.session.commit()
        guardians.switch(current_user, code.patient_id)
        db.session.commit()
        flash(_("You can now open %(name)s's space from the account menu.", name=code.patient.given_name), "success")
        return htmx.redirect(url_for("patient.home"))
    return render_template(
        "activation/guardian.html", child=code.patient, signed_in_as_guardian=signed_in_as_guardian, form=form
    )


def _step_password(flow: ActivationFlow):
    account = flow.account
    form = ChoosePasswordForm()
    form.rule_context = (account.login, accounts.name_parts(account))
    if form.validate_on_submit():
        if reactivation.works(account):
            pending = reactivation.being_chosen(account)
            if pending is None:
                return _invalid(flow)
            reactivation.choose_password(pending, form.new_password.data)
        else:
            accounts.set_password(account, form.new_password.data, method="activation")
        return _move(flow, "authenticator")
    return render_template("activation/password.html", form=form)


def _authenticator_secret(account: Account) -> str | None:
    """The secret being set up: kept apart from the account's own while a re-activation waits."""
    if reactivation.works(account):
        pending = reactivation.being_chosen(account)
        if pending is None:
            return None
        if not pending.totp_secret:
            reactivation.choose_authenticator(pending, totp.new_secret())
            db.session.commit()
        return totp.decrypt(pending.totp_secret)
    return totp.pending_secret(account.credential)


def _step_authenticator(flow: ActivationFlow):
    account = flow.account
    secret = _authenticator_secret(account)
    if secret is None:
        return _invalid(flow)
    form = AuthenticatorForm()
    if form.validate_on_submit():
        if totp.matching_step(secret, form.code.data) is not None:
            if reactivation.works(account):
                return _schedule(flow, account)
            if not flows.advance(flow, "terms"):
                return _invalid()
            recovery = accounts.enrol_authenticator(account, secret, form.code.data)
            db.session.commit()
            return render_template("auth/recovery_codes.html", codes=recovery, next=url_for("activation.proceed"))
        form.code.errors.append(totp.NO_MATCH)
    return render_template(
        "activation/authenticator.html", form=form, secret=secret, otpauth_uri=totp.provisioning_uri(secret, account.login),
        secret_grouped=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),  # read in groups of four
    )


def _schedule(flow: ActivationFlow, account: Account):
    """A re-activation, fully chosen: it applies after the wait, and the owner is told."""
    pending = reactivation.being_chosen(account)
    if pending is None or not flows.consume(flow):
        return _invalid()
    reactivation.schedule(pending)
    security_alerts.announce(account, flow.code.patient, "reactivation")
    effective_at = pending.effective_at
    db.session.commit()
    return render_template("activation/reactivation_scheduled.html", effective_at=effective_at)


def _step_terms(flow: ActivationFlow):
    account = flow.account
    version = terms.current_version()
    form = AcceptTermsForm()
    if version is None or (form.validate_on_submit() and form.accept.data):
        if not flows.consume(flow):
            return _invalid()
        if version is not None:
            terms.decide(account, version, accepted=True)
        codes.complete(account, flow.code.patient)
        db.session.commit()
        flash(_("Your account is active. Welcome!"), "success")
        return htmx.redirect(url_for("patient.home"))
    if form.is_submitted():
        form.accept.errors.append(_("Tick the box to accept the terms of use."))

    body = terms.render(version.text(i18n.language()))
    return render_template("activation/terms.html", form=form, version=version, body=body)


STEPS = {
    "birth_date": _step_birth_date,
    "contact_code": _step_contact_code,
    "awaiting_staff": _step_awaiting_staff,
    "guardian": _step_guardian,
    "password": _step_password,
    "authenticator": _step_authenticator,
    "terms": _step_terms,
}


@bp.get("/authenticator.svg")
@allow(PUBLIC)
def authenticator_qr():
    flow = flows.current()
    account = flow.account if flow is not None and flow.step == "authenticator" else None
    secret = None
    if account is not None:
        pending = reactivation.being_chosen(account) if reactivation.works(account) else None
        stored = pending.totp_secret if pending is not None else account.credential.totp_pending_secret
        secret = totp.decrypt(stored) if stored else None
    if secret is None:
        return Response(status=404)
    svg = totp.enrolment_qr(secret, account.login)
    return Response(svg, mimetype="image/svg+xml", headers={"Cache-Control": "no-store"})


@bp.route("/request", methods=["GET", "POST"])
@allow(PUBLIC)
@_limit()
def identity_request():
    form = IdentityRequestForm()
    if form.validate_on_submit():
        try:
            filed = requests.file(form)
        except Refused as refused:
            attach(form, refused)
        else:
            db.session.commit()
            return htmx.redirect(url_for("activation.request_status", reference=filed.reference))
    return render_template("activation/request.html", form=form), 400 if form.errors else 200


@bp.get("/request/<reference>")
@allow(PUBLIC)
@_limit()
def request_status(reference: str):
    # A reference is URL-safe base64: anything else (a NUL byte, which PostgreSQL refuses) finds nothing.
    well_formed = reference.isascii() and reference.replace("-", "").replace("_", "").isalnum()
    filed = db.session.scalar(
        db.select(IdentityRequest).where(IdentityRequest.reference == reference[:32])
    ) if well_formed else None
    if filed is None:
        return render_template("activation/request_unknown.html"), 404
    g.no_store = True
    return render_template("activation/request_status.html", filed=filed)
