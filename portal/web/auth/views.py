"""Signing in (password, then code), enrolment, recovery, unlocking, signing out."""

from __future__ import annotations

from flask import Response, current_app, flash, g, make_response, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from portal import accounts, audit
from portal.accounts import devices, passwords, reset, sessions, signin, totp
from portal.activation import flows, resume
from portal.core import htmx, i18n, links
from portal.extensions import db, limiter
from portal.web.access import PUBLIC, allow, home_for
from portal.web.auth.blueprint import bp
from portal.web.auth.forms import (
    CodeForm,
    ForgotForm,
    LoginForm,
    NewPasswordForm,
    RecoveryForm,
    ResetConfirmForm,
    UnlockForm,
)
from portal.web.forms import AuthenticatorForm

FAILED = _l("The login, password or code is not correct, or the account is temporarily locked.")


def _form_page(rule: str, limit: str):
    """A public page with a form. Its POSTs spend one budget per address shared by every page
    under the same `limit` setting: codes guessed on the code, recovery and enrolment pages add
    up, as do attempts on sign-in, unlock and reset."""

    def decorate(view):
        limited = limiter.shared_limit(lambda: current_app.config[limit], scope=limit, methods=["POST"])(view)
        return bp.route(rule, methods=["GET", "POST"])(allow(PUBLIC)(limited))

    return decorate


def _after_signin(next_target: str | None) -> Response:
    return htmx.redirect(links.safe_next(next_target, home_for(current_user)))


def _unfinished_activation(account, form) -> Response:
    """The right password of a patient who left their activation half-way: on at the next step,
    after the authenticator's code when one is set up (_second_factor_passed)."""
    code = resume.unfinished_code(account)
    if code is None:
        db.session.commit()
        flash(_("Your activation is not finished, and its code can no longer be used. "
                "Ask your doctor for a new activation code."), "error")
        return render_template("auth/login.html", form=form), 200
    step = resume.next_step(account)
    if step == "terms":  # a password and an authenticator: its code first, as at every sign-in
        signin.begin_pending(account)
        db.session.commit()
        flash(_("Your activation is not finished: enter the code from your authenticator app to go on."), "info")
        return htmx.redirect(url_for("auth.code"))
    return _resume_activation(code, account, step)


def _resume_activation(code, account, step: str) -> Response:
    sessions.reset_cookie()
    flows.begin(code, step=step, account=account)
    resume.record(code, step, "password")
    db.session.commit()
    flash(_("Your activation is not finished: you can go on where you stopped."), "info")
    return htmx.redirect(url_for("activation.proceed"))


def _second_factor_passed(account, method: str) -> Response:
    """Finish signing in, unless the password is still the one an operator gave: then the
    person chooses their own first (auth.new_password), and the sign-in finishes there.
    A patient whose activation is unfinished goes on to its terms step instead."""
    code = resume.unfinished_code(account)
    if code is not None:
        session.pop("signin", None)
        return _resume_activation(code, account, "terms")
    if account.credential.is_password_temporary:
        signin.move_pending("new_password", method=method)
        db.session.commit()
        return htmx.redirect(url_for("auth.new_password"))
    next_target = signin.finish(account, method)
    db.session.commit()
    return devices.remember(_after_signin(next_target))


@_form_page("/login", "SIGNIN_RATE_LIMIT")
def login():
    if current_user.is_authenticated and request.method == "GET":
        return htmx.redirect(home_for(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            account = signin.check_password(form.login.data, form.password.data)
        except signin.ActivationUnfinished as unfinished:
            return _unfinished_activation(unfinished.account, form)
        if account is None:
            db.session.commit()
            flash(str(FAILED), "error")
            return render_template("auth/login.html", form=form), 200
        next_target = request.args.get("next")
        signin.begin_pending(account)
        if next_target:
            session["next"] = links.safe_next(next_target, "")
        db.session.commit()
        return htmx.redirect(url_for(f"auth.{session['signin']['stage']}"))  # each stage has its page
    if request.args.get("expired"):
        flash(_("Your session has ended. Please sign in again."), "info")
    return render_template("auth/login.html", form=form)


@_form_page("/login/code", "CODE_RATE_LIMIT")
def code():
    return _second_factor(CodeForm, signin.check_code, "totp", "auth/code.html")


@_form_page("/login/recovery", "CODE_RATE_LIMIT")
def recovery():
    return _second_factor(RecoveryForm, signin.check_recovery_code, "recovery_code", "auth/recovery.html",
                          note=_("You signed in with a recovery code. Each code works only once."))


def _second_factor(form_class, check, method: str, template: str, *, note: str | None = None):
    """The code page after the password: a right code completes the sign-in (`note` said),
    a wrong one counts as a failure."""
    account = signin.pending_account("code")
    if account is None:
        return htmx.redirect(url_for("auth.login"))
    form = form_class()
    if form.validate_on_submit():
        if check(account, form.code.data):
            if note:
                flash(note, "info")
            return _second_factor_passed(account, method)
        db.session.commit()
        flash(str(FAILED), "error")
    return render_template(template, form=form)


@_form_page("/login/new-password", "SIGNIN_RATE_LIMIT")
def new_password():
    account = signin.pending_account("new_password")
    # Reached before the code only by an account without an authenticator (signin._first_stage).
    if (
        account is None
        or not account.credential.is_password_temporary
        or (account.credential.totp_secret and not signin.pending_method())
    ):
        return htmx.redirect(url_for("auth.login"))
    form = NewPasswordForm()
    form.rule_context = (account.login, accounts.name_parts(account))
    form.given_hash = account.credential.password_hash
    if form.validate_on_submit():
        accounts.replace_temporary_password(account, form.new_password.data)
        if signin.pending_method():
            return _second_factor_passed(account, signin.pending_method())
        signin.move_pending("enrol")
        db.session.commit()
        return htmx.redirect(url_for("auth.enrol"))
    g.no_store = True
    return render_template("auth/new_password.html", form=form, login=account.login)


@_form_page("/login/enrol", "CODE_RATE_LIMIT")
def enrol():
    account = signin.pending_account("enrol")
    if account is None:
        return htmx.redirect(url_for("auth.login"))
    secret = totp.pending_secret(account.credential)
    form = AuthenticatorForm()
    if form.validate_on_submit():
        if totp.matching_step(secret, form.code.data) is not None:
            codes = accounts.enrol_authenticator(account, secret, form.code.data)
            next_target = signin.finish(account, "enrolment")
            db.session.commit()
            g.no_store = True
            return devices.remember(make_response(render_template(
                "auth/recovery_codes.html", codes=codes, next=links.safe_next(next_target, home_for(account))
            )))
        form.code.errors.append(totp.NO_MATCH)
    g.no_store = True
    return render_template("auth/enrol.html", form=form, secret=secret)


@bp.get("/login/enrol/qr.svg")
@allow(PUBLIC)
def enrol_qr():
    account = signin.pending_account("enrol")
    if account is None or not account.credential.totp_pending_secret:
        return Response(status=404)
    svg = totp.enrolment_qr(totp.decrypt(account.credential.totp_pending_secret), account.login)
    return Response(svg, mimetype="image/svg+xml", headers={"Cache-Control": "no-store"})


@bp.post("/account/recovery-codes.txt")
@allow(PUBLIC)
def recovery_codes_download():
    # The codes come back from the page that showed them: the server never stored them
    # in clear, so it cannot produce them again.
    codes = [c for c in request.form.getlist("codes") if len(c) <= 16 and c.replace("-", "").isalnum()]
    login = current_user.login if current_user.is_authenticated else ""
    body = _("Recovery codes for the medical invoices portal %(login)s. Each works once.", login=login)
    text = body + "\n\n" + "\n".join(codes[: totp.RECOVERY_CODE_COUNT]) + "\n"
    return Response(
        text,
        mimetype="text/plain",
        headers={"Content-Disposition": 'attachment; filename="recovery-codes.txt"', "Cache-Control": "no-store"},
    )


@_form_page("/unlock", "SIGNIN_RATE_LIMIT")
def unlock():
    row = g.get("user_session")
    if row is None:
        return htmx.redirect(url_for("auth.login", next=request.args.get("next")))
    target = links.safe_next(request.args.get("next"), home_for(row.account))
    if row.locked_at is None:
        return htmx.redirect(target)
    form = UnlockForm()
    if form.validate_on_submit():
        account = row.account
        if signin.is_locked(account.credential):
            passwords.verify_password(None, form.password.data)
            audit.record(audit.SIGNIN_FAILED, actor=account, stage="unlock", reason="locked")
        elif passwords.verify_password(account.credential.password_hash, form.password.data):
            sessions.unlock(row)
            account.credential.failed_attempts = 0
            audit.record(audit.SESSION_UNLOCKED, actor=account)
            db.session.commit()
            return htmx.redirect(target)
        else:
            signin.register_failure(account, "unlock", "wrong")
        db.session.commit()
        flash(_("The password is not correct."), "error")
    return render_template("auth/unlock.html", form=form, account=row.account)


@bp.post("/logout")
@allow(PUBLIC)
def logout():
    row = g.get("user_session")
    if row is not None:
        audit.record(audit.SIGNED_OUT, actor=row.account, reason="user")
        sessions.end_current("logout")
        db.session.commit()
    # Nothing of the session cookie is kept (an empty session deletes it: portal.accounts.cookies);
    # the home page says "signed out", in the language the person was using, from its address.
    language = i18n.language()
    session.clear()
    return htmx.redirect(url_for("public.home", signed_out=1, lang=language))


@_form_page("/forgot", "SIGNIN_RATE_LIMIT")
def forgot():
    form = ForgotForm()
    if form.validate_on_submit():
        outcome = reset.begin(form.login.data, form.code.data, language=i18n.language())
        db.session.commit()
        if outcome == reset.SENT:
            return htmx.redirect(url_for("auth.forgot_confirm"))
        if outcome == reset.NO_CONTACT:
            return render_template("auth/forgot_no_contact.html")
        flash(str(FAILED), "error")
    return render_template("auth/forgot.html", form=form)


@_form_page("/forgot/confirm", "CODE_RATE_LIMIT")
def forgot_confirm():
    found = reset.pending()
    if found is None:
        return htmx.redirect(url_for("auth.forgot"))
    account, _patient = found
    form = ResetConfirmForm()
    form.rule_context = (account.login, accounts.name_parts(account))
    if form.validate_on_submit():
        if reset.finish(form.code.data, form.new_password.data):
            db.session.commit()
            flash(_("Your password has been changed. Please sign in with it."), "success")
            return htmx.redirect(url_for("auth.login"))
        db.session.commit()
        form.code.errors.append(_("This code is not correct or no longer valid."))
    g.no_store = True
    return render_template("auth/forgot_confirm.html", form=form, destination=reset.destination())
