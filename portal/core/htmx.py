"""Everything about htmx requests and responses, in one place."""

from __future__ import annotations

from flask import Response, render_template, request
from flask import redirect as flask_redirect


def is_partial() -> bool:
    """An htmx request that wants a fragment (boosted navigation wants the whole page)."""
    return bool(getattr(request, "htmx", False)) and not request.htmx.boosted


def render(template: str, fragment: str | None = None, /, **context) -> str:
    """Render the fragment alone for htmx, the whole page otherwise."""
    return render_template(fragment if fragment and is_partial() else template, **context)


def redirect(location: str, code: int = 303) -> Response:
    """Redirect a full page with 303; tell htmx to load a new page instead of swapping one in."""
    if getattr(request, "htmx", False):
        response = Response(status=200)
        response.headers["HX-Redirect"] = location
        return response
    return flask_redirect(location, code)


def add_vary(response: Response) -> Response:
    response.vary.add("HX-Request")
    return response
