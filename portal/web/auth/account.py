"""The signed-in user's own account: sessions, password, terms of use, session status."""

from __future__ import annotations

from flask import abort, current_app, flash, g, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import accounts, audit
from portal.accounts import sessions, stepup, terms
from portal.core import htmx, i18n, links
from portal.core.forms import require_valid
from portal.extensions import db
from portal.models import UserSession
from portal.web.access import PUBLIC, SIGNED_IN, allow, home_for, refuse
from portal.web.auth.blueprint import bp
from portal.web.auth.forms import ConfirmForm, PasswordChangeForm, TermsForm


@bp.get("/account/sessions")
@allow(SIGNED_IN)
def account_sessions():
    return render_template("auth/sessions.html", rows=sessions.active_for(current_user.id), form=ConfirmForm())


@bp.post("/account/sessions/<session_id>/end")
@allow(SIGNED_IN)
def end_session(session_id: str):
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(404)
    # A session id is a hex digest: anything else (a NUL byte, which PostgreSQL refuses) finds nothing.
    row = db.session.get(UserSession, session_id[:64]) if session_id.isascii() and session_id.isalnum() else None
    if row is None or row.account_id != current_user.id:
        refuse("session")  # the id is a credential's handle: not written to the trail
    if row.revoked_at is None:
        sessions.end(row, "user")
        audit.record(audit.SESSIONS_REVOKED, count=1, scope="one")
        db.session.commit()
    if row.id == g.user_session.id:
        sessions.end_current("user")
        return htmx.redirect(url_for("public.home"))
    flash(_("The session has been ended."), "success")
    return htmx.redirect(url_for("auth.account_sessions"))


@bp.post("/account/sessions/end-others")
@allow(SIGNED_IN)
def end_other_sessions():
    require_valid(ConfirmForm())
    count = sessions.end_all(current_user.id, "user", keep=g.user_session.id)
    if count:  # a second click finds nothing left to end, and the trail records nothing
        audit.record(audit.SESSIONS_REVOKED, count=count, scope="others")
        db.session.commit()
    flash(_("Every other session has been ended."), "success")
    return htmx.redirect(url_for("auth.account_sessions"))


@bp.route("/account/password", methods=["GET", "POST"])
@allow(SIGNED_IN)
def change_password():
    form = PasswordChangeForm()
    form.rule_context = (current_user.login, accounts.name_parts(current_user))
    if form.validate_on_submit():
        account = current_user._get_current_object()
        # A copied cookie holds a session, not the password nor the phone (auth.stepup).
        problem = stepup.check(account, form.current_password.data, form.code.data, stage="password_change")
        if problem is None:
            accounts.change_password(account, form.new_password.data, keep_session=g.user_session.id)
            sessions.rotate(account, "password")  # this browser's old cookie ends too
            db.session.commit()
            flash(_("Your password has been changed. Your other sessions have been ended."), "success")
            return htmx.redirect(home_for(account))
        db.session.commit()
        name, message = stepup.ERRORS[problem]
        form["code" if name == "code" else "current_password"].errors.append(message)
    return render_template("auth/password.html", form=form)


@bp.route("/terms/accept", methods=["GET", "POST"])
@allow(SIGNED_IN, before_terms=True)
def terms_accept():
    version = terms.current_version()
    target = links.safe_next(request.args.get("next"), home_for(current_user))
    if version is None or not terms.needs_decision(current_user):
        return htmx.redirect(target)
    form = TermsForm()
    if form.validate_on_submit():
        if form.refuse.data:
            terms.decide(current_user, version, accepted=False)
            audit.record(audit.SIGNED_OUT, reason="terms_refused")
            sessions.end_current("terms_refused")
            db.session.commit()
            return htmx.redirect(url_for("auth.terms_refused"))
        if form.accept.data:
            terms.decide(current_user, version, accepted=True)
            db.session.commit()
            return htmx.redirect(target)
        form.accept.errors.append(_("Tick the box to accept the terms of use, or choose not to accept them."))
    body = terms.render(version.text(i18n.language()))
    return render_template("auth/terms_accept.html", form=form, version=version, body=body)


@bp.get("/terms/refused")
@allow(PUBLIC)
def terms_refused():
    return render_template("auth/terms_refused.html")


@bp.get("/session/status")
@allow(SIGNED_IN, background=True, before_terms=True)
def session_status():
    """Polled by htmx; shows the "stay signed in" notice shortly before the lock."""
    remaining = sessions.seconds_until_lock(g.user_session)
    warn = remaining <= current_app.config["LOCK_WARNING"].total_seconds()
    return render_template("auth/_session_status.html", warn=warn, remaining=max(int(remaining), 0))


@bp.post("/session/keepalive")
@allow(SIGNED_IN, before_terms=True)
def keepalive():
    return render_template("auth/_session_status.html", warn=False, remaining=None)
