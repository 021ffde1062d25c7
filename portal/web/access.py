"""Who may use which route. Every view declares a rule; a route without one is refused.

The order of the checks in `guard` matters: the server-side session is loaded and its
limits enforced first, then the terms of use, then a suspended account's limits, then
the role.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NoReturn

from flask import Flask, abort, current_app, flash, g, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import audit
from portal.accounts import sessions, terms
from portal.core import htmx, i18n
from portal.core.numbers import MAX_ID
from portal.extensions import db, login_manager
from portal.models import AccountStatus

PUBLIC = "public"
SIGNED_IN = "signed_in"
ROLES = ("patient", "doctor", "cns")


def allow(*rules: str, background: bool = False, while_locked: bool = False, before_terms: bool = False):
    """Declare who may call a view.

    background: a polling request; it does not count as activity.
    while_locked: reachable while the session is locked (unlocking, signing out).
    before_terms: reachable before the current terms of use are accepted.
    """
    for rule in rules:
        if rule not in (PUBLIC, SIGNED_IN, *ROLES):
            raise ValueError(f"unknown access rule {rule!r}")

    def decorate(view: Callable) -> Callable:
        view.access_rules = frozenset(rules)
        view.is_background = background
        view.while_locked = while_locked or PUBLIC in rules
        view.before_terms = before_terms or PUBLIC in rules
        return view

    return decorate


def rules_of(endpoint: str) -> frozenset[str] | None:
    view = current_app.view_functions.get(endpoint)
    return getattr(view, "access_rules", None)


def guard():
    endpoint = request.endpoint
    if endpoint is None or endpoint == "static":
        return None
    view = current_app.view_functions[endpoint]
    rules = getattr(view, "access_rules", None)
    if rules is None:
        # Deny by default: a route nobody declared is a route nobody reviewed.
        abort(403)

    outcome = sessions.enforce(background=view.is_background, while_locked=view.while_locked)
    if outcome is not None:
        return outcome
    i18n.remember_choice()

    if current_user.is_authenticated and not view.before_terms and terms.needs_decision(current_user):
        return htmx.redirect(url_for("auth.terms_accept", next=sessions.current_path()))

    if PUBLIC in rules:
        return None
    if not current_user.is_authenticated:
        return htmx.redirect(url_for("auth.login", next=sessions.current_path()))
    if current_user.status == AccountStatus.SUSPENDED and endpoint not in SUSPENDED_ALLOWED:
        return _suspended()
    if SIGNED_IN in rules or current_user.role in rules:
        _refuse_impossible_ids()
        return None
    abort(403)


# The id columns are 32-bit: a larger id in a URL names nothing, and PostgreSQL would refuse
# the query outright (a 500). It gets the answer any unknown object gets.
def _refuse_impossible_ids() -> None:
    for name, value in (request.view_args or {}).items():
        if isinstance(value, int) and value > MAX_ID:
            refuse(name.removesuffix("_id"), value)


# A patient who withdrew consent can still sign in, but only to manage their data: these
# views, and the session's own plumbing. Keyed on endpoint names, so the rule sits in one
# place and reviewing it needs no tour of every blueprint.
SUSPENDED_ALLOWED = frozenset({
    "patient.my_data",
    "patient.restore_consent",
    "patient.erase",
    "patient.export_request",
    "patient.export_download",
    "patient.contact_details",
    "patient.correction_request",
    "patient.objection",
    "patient.access_log",
    "patient.notification_count",  # the menu's poll: redirecting it would reload the page every 30 s
    "auth.terms_accept",
    "auth.session_status",
    "auth.keepalive",
})


def _suspended():
    if current_user.role != "patient":
        abort(403)  # an operator's suspension of a staff or doctor account: nothing to offer
    if not getattr(request, "htmx", False):  # a fragment or a poll would keep the notice for later
        flash(_("Your account is suspended because you withdrew your consent. "
                "You can still see, download, correct or erase your data here, or restore your consent."), "info")
    return htmx.redirect(url_for("patient.my_data"))


def refuse(kind: str, object_id: int | None = None) -> NoReturn:
    """Answer 404 for an object that is not the caller's, or does not exist, and trace it.

    404, not 403: the answer must not confirm that another person's object exists, so an
    unknown id gets the same answer and the same audit row. The row goes in a transaction
    of its own, after a rollback, so nothing else the request had begun is kept.
    """
    db.session.rollback()
    extra = {"object_id": object_id} if object_id is not None else {}
    audit.record(audit.ACCESS_REFUSED, endpoint=request.endpoint, object=kind, **extra)
    db.session.commit()
    abort(404)


def home_for(account) -> str:
    return url_for(f"{account.role}.home")


def init_app(app: Flask) -> None:

    login_manager.request_loader(lambda _request: g.get("account"))
    app.before_request(guard)
