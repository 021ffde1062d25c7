"""The one error a domain operation raises when it refuses its input.

Raised before anything is written, so the caller has nothing to undo. Each problem is one
line a person can act on; the operator commands print them as they are (portal/cli.py).
"""

from __future__ import annotations

from typing import NamedTuple


class Problem(NamedTuple):
    """What is wrong with one cell of a file: `line 4, column iban: not a valid IBAN`."""

    line: int
    column: str | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}, column {self.column}" if self.column else f"line {self.line}"
        return f"{where}: {self.message}"


class Refused(ValueError):
    def __init__(self, *problems: str | Problem):
        # Problems of a file are listed in the order of its lines, whichever check found them.
        ordered = sorted(problems, key=lambda p: p.line if isinstance(p, Problem) else 0)
        self.problems = [str(problem) for problem in ordered]
        super().__init__("\n".join(self.problems))
