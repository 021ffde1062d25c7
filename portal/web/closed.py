"""The maintenance window as every request meets it: announced on every page before it begins,
then a translated 503 with Retry-After for every request but the health check.

The check runs before anything else reads the request (after the encoding check), so a request
that arrives once the window has begun is refused before it writes anything; one that began
before finishes as usual. It costs no SQL statement: portal.maintenance keeps the windows per process.
"""

from __future__ import annotations

import math

from flask import Flask, make_response, render_template, request

from portal import maintenance
from portal.core import clock

# Operators and the load balancer still reach the health check; the 503 page needs its stylesheet.
STILL_SERVED = {"public.healthz", "static"}


def refuse_during_maintenance():
    if request.endpoint in STILL_SERVED:
        return None
    window = maintenance.current()
    if window is None:
        return None
    response = make_response(render_template("errors/maintenance.html", window=window), 503)
    response.headers["Retry-After"] = str(max(1, math.ceil((window.ends_at - clock.now()).total_seconds())))
    response.headers["Cache-Control"] = "no-store"
    return response


def inject() -> dict:
    return {"maintenance_notice": maintenance.announced()}


def init_app(app: Flask) -> None:
    app.before_request(refuse_during_maintenance)
    app.context_processor(inject)
