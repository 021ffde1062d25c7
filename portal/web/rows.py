"""What a list page prints on every row, worked out once per page instead of once per row:
the words of each state, fixed sentences, and link addresses.

A lazy string is translated again each time it is printed (a look-up through flask-babel's
context proxies); a list of 25 rows printed the same few words a hundred times. The words
are Markup because the templates printed the lazy strings unescaped (their `__html__`): the
HTML stays exactly what it was.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from flask import url_for
from markupsafe import Markup

from portal.web import states

# An id no row has, to find where the id goes in an address (an int converter writes digits).
_MARK = 918273645546372819


def as_printed(translation: object) -> Markup:
    """A translation as a template prints it: `_()` in a template and a lazy string both come
    out unescaped (our own catalogues), and a sentence's values are escaped by `%`."""
    return Markup(str(translation))  # noqa: S704  # nosec B704: our own translations, never a person's input


def state_words(kind: str) -> dict[str, states.State]:
    """The states of a kind (portal/web/states.py), translated for this page."""
    return {key: states.State(as_printed(found.label), found.tone) for key, found in states.STATES[kind].items()}


def translated(words: Mapping[str, object]) -> dict[str, Markup]:
    """Lazy words, translated for this page."""
    return {key: as_printed(text) for key, text in words.items()}


def address_of(endpoint: str, key: str, **fixed) -> Callable[[int], str]:
    """url_for(endpoint, key=n, **fixed) for the many n of a list: routed once, then filled in."""
    before, after = url_for(endpoint, **fixed, **{key: _MARK}).split(str(_MARK))
    return lambda number: f"{before}{int(number)}{after}"
