"""Error pages in the visitor's language, never with a traceback."""

from __future__ import annotations

import logging

from flask import Flask, Response, flash, g, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError, SecurityError

from portal.core import htmx, reconnect
from portal.core.refused import Conflict
from portal.extensions import db

log = logging.getLogger(__name__)

MESSAGES = {
    400: (_l("The request could not be understood"), _l("Please go back, check what you entered and try again.")),
    403: (_l("Access denied"), _l("Your account does not give access to this page.")),
    404: (_l("Page not found"), _l("This page does not exist or is not available to you.")),
    405: (_l("Action not allowed"), _l("This page cannot be used that way.")),
    413: (
        _l("File or form too large"),
        _l("What you sent is larger than the portal accepts. Please send something smaller."),
    ),
    429: (_l("Too many attempts"), _l("Please wait a moment before trying again.")),
    500: (
        _l("Something went wrong"),
        _l("An unexpected error occurred. Nothing you entered was saved. Please try again later."),
    ),
    503: (
        _l("Service temporarily unavailable"),
        _l("The portal cannot reach its database right now. Please try again in a few minutes."),
    ),
}
CSRF_MESSAGE = _l("The form expired or did not come from this portal. Please reload the page and try again.")


def render_error(code: int, detail: str | None = None):
    title, message = MESSAGES.get(code, MESSAGES[500])
    return render_template("errors/error.html", code=code, title=title, message=detail or message), code


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(_error):
        return render_error(400, CSRF_MESSAGE)

    @app.errorhandler(SecurityError)
    def unknown_host(_error):
        # A Host outside TRUSTED_HOSTS: no URL can be built for it, so the page has no links.
        title, message = MESSAGES[400]
        return Response(f"{title}. {message}\n", 400, mimetype="text/plain")

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        response, code = render_error(error.code if error.code in MESSAGES else 500)
        if error.code == 405 and hasattr(error, "valid_methods") and error.valid_methods:
            return response, code, {"Allow": ", ".join(error.valid_methods)}
        return response, code

    @app.errorhandler(Conflict)
    def changed_meanwhile(error: Conflict):
        # The first change stands: nothing of this request is kept, and the person is shown
        # the object as it is now, in their own space (/cns/claims/… or /patient/claims/…).
        if error.message is None or error.page is None:
            raise error  # not one the portal explains: an unexpected error, as before
        db.session.rollback()
        flash(error.message, "error")
        endpoint, argument = error.page
        return htmx.redirect(url_for(f"{request.blueprint}.{endpoint}", **{argument: error.subject_id}))

    @app.errorhandler(DBAPIError)
    def database_unavailable(error):
        # An unreachable server, or a connection it dropped (which SQLite reports as a
        # ProgrammingError); any other database error is a bug, answered with the 500 page.
        if not isinstance(error, OperationalError) and not error.connection_invalidated:
            raise error
        if reconnect.may_retry(error):
            raise error  # a dropped connection met first thing: the request is run again
        # Logged without the statement's parameters, which may hold personal data.
        log.error("database unavailable: %s", type(error.orig).__name__)
        db.session.rollback()
        _without_the_database()
        return render_error(503)

    @app.errorhandler(InternalServerError)
    def internal_error(error):
        db.session.rollback()
        return render_error(500)


def _without_the_database() -> None:
    """The 503 page is drawn as for a visitor: the account menu, the notice counter and the
    signed-in person's language would each ask the database that just failed, and the page
    would fail in turn (into a bare 500 without translation)."""
    g.account = None
    g.user_session = None
    g.pop("_login_user", None)
    g.no_store = True  # still a signed-in person's answer: kept out of caches
