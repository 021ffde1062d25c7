"""Rate limits are declared on the views they guard (sign-in, codes, activation, help, export).

Flask-Limiter checks a declared limit inside the view's own wrapper. It also runs a check
before every request, for limits that apply to the whole application, a blueprint or every
route by default: the portal declares none, so that check counts nothing, and it was about
one twentieth of what the smallest signed-in request (the session poll) costs. It is left
out for as long as there is nothing for it to count.
"""

from __future__ import annotations

from flask import Flask

from portal.extensions import limiter


def init_app(app: Flask) -> None:
    limiter.init_app(app)
    manager = limiter.limit_manager
    # Private names of the pinned Flask-Limiter (requirements.lock): a release that renames
    # them fails here, at start-up, not silently.
    if manager.default_limits or manager.application_limits or manager._blueprint_limits:
        return
    app.before_request_funcs[None].remove(limiter._check_request_limit)
