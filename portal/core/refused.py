"""The errors a domain operation raises, and nothing else: one small hierarchy.

`Refused`: the input breaks a rule; raised before anything is written, so the caller has
nothing to undo. Each problem is one line a person can act on, optionally on the form field it
belongs to; the operator commands print them as they are (portal/cli.py), the pages put them on
their fields with portal.core.forms.attach. `Conflict`: the object changed meanwhile (another agent,
another tab) and the first change stands; portal.core.errors answers it. `NotAllowed`: this person may
not do this (now).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple


class Problem(NamedTuple):
    """What is wrong with one cell of a file: `line 4, column iban: not a valid IBAN`."""

    line: int
    column: str | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}, column {self.column}" if self.column else f"line {self.line}"
        return f"{where}: {self.message}"


class DomainError(Exception):
    """Anything a domain operation refuses to do."""


class Refused(DomainError, ValueError):
    """`problems`: every problem as a line of text; `fields`: the problems by form field name
    (a field may have several), those without a field under None."""

    def __init__(self, *problems: str | Problem, fields: Mapping[str | None, list] | None = None):
        # Problems of a file are listed in the order of its lines, whichever check found them.
        ordered = sorted(problems, key=lambda p: p.line if isinstance(p, Problem) else 0)
        self.fields: dict[str | None, list] = {None: list(ordered)} if ordered else {}
        for name, messages in (fields or {}).items():
            self.fields.setdefault(name, []).extend(messages)
        super().__init__(*(problem for messages in self.fields.values() for problem in messages))

    @property
    def problems(self) -> list[str]:
        return [str(problem) for messages in self.fields.values() for problem in messages]

    def __str__(self) -> str:
        return "\n".join(self.problems)

    @classmethod
    def on(cls, field: str, message) -> Refused:
        """One problem with one field."""
        return cls(fields={field: [message]})

    @property
    def field(self) -> str | None:
        """The field of the first problem (None: the form as a whole)."""
        return next(iter(self.fields), None)


class Conflict(DomainError):
    """The object changed since the person saw it; nothing of this request was kept.

    `message` tells them (portal/core/errors.py flashes it); `subject_id` names the object, and
    `page` the endpoint, in the person's own blueprint, that shows it as it is now."""

    message = None
    page: tuple[str, str] | None = None  # (endpoint, its id argument)

    def __init__(self, subject_id: int | None = None, *, message=None):
        super().__init__(subject_id)
        self.subject_id = subject_id
        if message is not None:
            self.message = message


class NotAllowed(DomainError):
    """This person may not do this."""
