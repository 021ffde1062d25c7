"""Whole numbers typed into a URL or a form by hand: page numbers and ids.

One rule for every view that reads one: ASCII digits, nine at most. `"²".isdigit()` is true
and `int()` refuses it; `int()` also refuses strings of more than 4,300 digits; and nine digits
stay inside the 32-bit id columns, which PostgreSQL would otherwise refuse to compare with.
"""

from __future__ import annotations

MAX_ID = 2**31 - 1  # the id columns are 32-bit integers
MAX_PAGE = 10_000


def whole_number(value: str | None) -> int | None:
    """The number, or None for anything that is not a short run of ASCII digits."""
    if value and value.isascii() and value.isdigit() and len(value) <= 9:
        return int(value)
    return None


def page_number(value: str | None) -> int:
    """A page to show: the first for anything malformed or below 1, at most MAX_PAGE."""
    number = whole_number(value)
    return min(number, MAX_PAGE) if number else 1
