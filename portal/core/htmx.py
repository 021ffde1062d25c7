"""Everything about htmx requests and responses, in one place.

htmx-flask gives the request details (`request.htmx`, `.boosted`, `.current_url`) and writes the
HX-Redirect header (`make_response(redirect=...)`); it has no fragment-or-page choice, no 303 for
requests without htmx and no `Vary: HX-Request`, so those stay here.
"""

from __future__ import annotations

from flask import Response, render_template, request
from flask import redirect as flask_redirect
from htmx_flask import make_response


def is_partial() -> bool:
    """An htmx request that wants a fragment (boosted navigation wants the whole page)."""
    return bool(getattr(request, "htmx", False)) and not request.htmx.boosted


def render(template: str, fragment: str | None = None, /, **context) -> str:
    """Render the fragment alone for htmx, the whole page otherwise."""
    return render_template(fragment if fragment and is_partial() else template, **context)


def redirect(location: str, code: int = 303) -> Response:
    """Redirect a full page with 303; tell htmx to load a new page instead of swapping one in."""
    if getattr(request, "htmx", False):
        return make_response(redirect=location)  # 200, empty body
    return flask_redirect(location, code)


def add_vary(response: Response) -> Response:
    response.vary.add("HX-Request")
    return response
