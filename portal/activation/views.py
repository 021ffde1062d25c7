"""Activating an account: the code (QR link or typed), the birth date, a password,
an authenticator and the terms of use. Also the self-service identity request."""

from __future__ import annotations

import time

from flask import Blueprint, Response, current_app, flash, g, render_template, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import accounts, guardians, htmx, terms
from portal.access import PUBLIC, allow
from portal.activation import codes, requests
from portal.activation.forms import (
    AcceptTermsForm,
    AuthenticatorForm,
    BirthDateForm,
    ChoosePasswordForm,
    IdentityRequestForm,
    TypedCodeForm,
)
from portal.auth import totp
from portal.extensions import db, limiter
from portal.models import Account, ActivationCode, IdentityRequest

bp = Blueprint("activation", __name__, url_prefix="/activate")

STATE_LIFETIME = 30 * 60  # seconds an activation under way stays open in the browser


def _activation_limit() -> str:
    return current_app.config["ACTIVATION_RATE_LIMIT"]


def _limit(scope: str | None = None):
    # Routes that check one secret share a budget per address: a code guessed by typing it
    # and one guessed by link count against the same limit.
    if scope:
        return limiter.shared_limit(_activation_limit, scope=scope, methods=["GET", "POST"])
    return limiter.limit(_activation_limit, methods=["GET", "POST"])


def _begin(code: ActivationCode) -> Response:
    session["activation"] = {"code": code.id, "step": "birth_date", "at": time.time()}
    return htmx.redirect(url_for("activation.proceed"))


def _state() -> dict | None:
    state = session.get("activation")
    if not state or time.time() - state.get("at", 0) > STATE_LIFETIME:
        session.pop("activation", None)
        return None
    return state


def _advance(**changes) -> Response:
    session["activation"] = {**session["activation"], **changes}
    return htmx.redirect(url_for("activation.proceed"))


def _invalid() -> Response:
    session.pop("activation", None)
    return htmx.redirect(url_for("activation.invalid"))


@bp.route("", methods=["GET", "POST"])
@allow(PUBLIC)
@_limit("activation-code")
def start():
    form = TypedCodeForm()
    if form.validate_on_submit():
        code = codes.find_usable(form.code.data)
        return _begin(code) if code else _invalid()
    return render_template("activation/start.html", form=form)


@bp.get("/<token>")
@allow(PUBLIC)
@_limit("activation-code")
def link(token: str):
    # Whatever the token, the next page has a token-free address.
    code = codes.find_usable(token)
    return _begin(code) if code else _invalid()


@bp.get("/invalid")
@allow(PUBLIC)
def invalid():
    return render_template("activation/invalid.html")


@bp.route("/continue", methods=["GET", "POST"])
@allow(PUBLIC)
@_limit()
def proceed():
    state = _state()
    if state is None:
        return htmx.redirect(url_for("activation.start"))
    g.no_store = True
    step = state["step"]
    return STEPS[step](state)


def _step_birth_date(state: dict):
    code = db.session.get(ActivationCode, state["code"])
    if code is None or codes.state(code) != "pending":
        return _invalid()
    form = BirthDateForm()
    if form.validate_on_submit():
        if codes.check_birth_date(code, form.birth_date.data):
            if code.guardian_patient_id:
                db.session.commit()
                return _advance(step="guardian")
            account = codes.redeem_for_self(code)
            if account is None:
                db.session.rollback()
                return _invalid()
            db.session.commit()
            return _advance(step="password", account=account.id)
        db.session.commit()
        if codes.state(code) == "revoked":
            session.pop("activation", None)
            return render_template("activation/locked.html")
        form.birth_date.errors.append(_("This date of birth does not match. Please check it and try again."))
    return render_template("activation/birth_date.html", form=form)


def _step_guardian(state: dict):
    code = db.session.get(ActivationCode, state["code"])
    if code is None or codes.state(code) != "pending":
        return _invalid()
    signed_in_as_guardian = current_user.is_authenticated and current_user.id == code.guardian.account_id
    form = AcceptTermsForm()  # only its CSRF token and submit button are used here
    if signed_in_as_guardian and form.is_submitted() and form.validate():
        link = codes.redeem_for_child(code, current_user)
        if link is None:
            db.session.rollback()
            return _invalid()
        db.session.commit()
        session.pop("activation", None)
        guardians.switch(current_user, code.patient_id)
        db.session.commit()
        flash(_("You can now open %(name)s's space from the account menu.", name=code.patient.given_name), "success")
        return htmx.redirect(url_for("patient.home"))
    return render_template(
        "activation/guardian.html", child=code.patient, signed_in_as_guardian=signed_in_as_guardian, form=form
    )


def _pending_account(state: dict) -> Account | None:
    return db.session.get(Account, state.get("account"))


def _step_password(state: dict):
    account = _pending_account(state)
    if account is None:
        return _invalid()
    form = ChoosePasswordForm()
    form.rule_context = (account.login, accounts.name_parts(account))
    if form.validate_on_submit():
        accounts.set_password(account, form.new_password.data, method="activation")
        db.session.commit()
        return _advance(step="authenticator")
    return render_template("activation/password.html", form=form)


def _step_authenticator(state: dict):
    account = _pending_account(state)
    if account is None:
        return _invalid()
    credential = account.credential
    if not credential.totp_pending_secret:
        credential.totp_pending_secret = totp.encrypt(totp.new_secret())
        db.session.commit()
    secret = totp.decrypt(credential.totp_pending_secret)
    form = AuthenticatorForm()
    if form.validate_on_submit():
        if totp.matching_step(secret, form.code.data) is not None:
            recovery = accounts.set_authenticator(account, secret)
            totp.consume_code(credential, form.code.data)
            db.session.commit()
            session["activation"] = {**state, "step": "terms"}
            return render_template("auth/recovery_codes.html", codes=recovery, next=url_for("activation.proceed"))
        form.code.errors.append(_("This code does not match. Check the time on your phone and try again."))
    return render_template("activation/authenticator.html", form=form, secret=secret)


def _step_terms(state: dict):
    account = _pending_account(state)
    if account is None:
        return _invalid()
    version = terms.current_version()
    form = AcceptTermsForm()
    if version is None or (form.validate_on_submit() and form.accept.data):
        if version is not None:
            terms.decide(account, version, accepted=True)
        codes.complete(account)
        db.session.commit()
        session.pop("activation", None)
        flash(_("Your account is active. Welcome!"), "success")
        return htmx.redirect(url_for("patient.home"))
    if form.is_submitted():
        form.accept.errors.append(_("Tick the box to accept the terms of use."))
    from flask_babel import get_locale

    body = terms.render(version.text(str(get_locale())))
    return render_template("activation/terms.html", form=form, version=version, body=body)


STEPS = {
    "birth_date": _step_birth_date,
    "guardian": _step_guardian,
    "password": _step_password,
    "authenticator": _step_authenticator,
    "terms": _step_terms,
}


@bp.get("/authenticator.svg")
@allow(PUBLIC)
def authenticator_qr():
    state = _state()
    account = _pending_account(state) if state else None
    if account is None or not account.credential.totp_pending_secret:
        return Response(status=404)
    secret = totp.decrypt(account.credential.totp_pending_secret)
    svg = totp.qr_svg(totp.provisioning_uri(secret, account.login))
    return Response(svg, mimetype="image/svg+xml", headers={"Cache-Control": "no-store"})


@bp.route("/request", methods=["GET", "POST"])
@allow(PUBLIC)
@_limit()
def identity_request():
    form = IdentityRequestForm()
    if form.validate_on_submit():
        try:
            filed = requests.file(form)
        except requests.UploadRefused as refused:
            form.document.errors.append(refused.message)
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


