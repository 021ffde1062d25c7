"""Reading a CSV file an operator hands to a command: its encoding, its delimiter, its header.

Line numbers are the ones a text editor shows (a quoted cell may span lines), so that every
problem can name its line and column. Nothing here knows what the columns mean.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from portal.core.forms import CONTROL_CHARACTERS
from portal.core.refused import Problem, Refused

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class CsvRefused(Refused):
    pass


@dataclass(frozen=True)
class Row:
    line: int
    cells: dict[str, str]  # stripped; a column the file does not have is absent


@dataclass
class Table:
    columns: list[str]
    rows: list[Row] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def decode(data: bytes, encoding: str) -> str:
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise CsvRefused(f"Unknown encoding {encoding!r}: try utf-8, latin-1 or cp1252.") from None
    # Spreadsheets save UTF-8 with or without a byte order mark; either is read the same way.
    name = "utf-8-sig" if name == "utf-8" else name
    try:
        return data.decode(name)
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        byte = data[error.start : error.start + 1].hex()
        raise CsvRefused(
            f"line {line}: the file is not {encoding} text (byte 0x{byte}). Save it as UTF-8, or name its "
            "encoding with --encoding, for example --encoding latin-1 (or cp1252 for a file saved on Windows)."
        ) from None


def delimiter_of(first_line: str) -> str:
    # Spreadsheets in French and German locales save with semicolons, since the comma is
    # their decimal mark; the header line alone tells which one a file uses.
    return ";" if first_line.count(";") > first_line.count(",") else ","


def read(path: Path, *, encoding: str, columns: tuple[str, ...], required: tuple[str, ...]) -> Table:
    """The rows of a file whose header names some of `columns`, all of `required`.

    A problem with the header refuses the file at once; problems with rows are collected in
    the table, for the caller to report with its own."""
    text = decode(path.read_bytes(), encoding)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter_of(text.split("\n", 1)[0]), strict=True)
    table: Table | None = None
    end = 0
    try:
        for cells in reader:
            line, end = end + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue  # blank lines, and the empty rows spreadsheets leave at the end
            if table is None:
                table = Table(_header(cells, line, columns, required))
            else:
                _row(table, line, cells)
    except csv.Error as error:
        if table is None:
            table = Table([])
        table.problems.append(Problem(reader.line_num, None, f"not readable as CSV ({error})"))
    if table is None:
        raise CsvRefused("The file is empty: it needs a header line naming its columns.")
    return table


def _header(cells: list[str], line: int, columns: tuple[str, ...], required: tuple[str, ...]) -> list[str]:
    names = [cell.strip().lower() for cell in cells]
    while names and not names[-1]:
        names.pop()
    problems = _header_problems(names, line, columns, required)
    if problems:
        raise CsvRefused(*problems)
    return names


def _header_problems(names: list[str], line: int, columns: tuple[str, ...], required: tuple[str, ...]) -> list[str]:
    problems = []
    unknown = [name or "(blank)" for name in names if name not in columns]
    if unknown:
        problems.append(f"line {line}: unknown column {', '.join(unknown)} (the columns are {', '.join(columns)})")
    twice = sorted({name for name in names if name and names.count(name) > 1})
    if twice:
        problems.append(f"line {line}: column {', '.join(twice)} appears more than once")
    missing = [name for name in required if name not in names]
    if missing:
        problems.append(f"line {line}: missing column {', '.join(missing)}")
    return problems


def _row(table: Table, line: int, cells: list[str]) -> None:
    width = len(table.columns)
    if len(cells) < width or any(cell.strip() for cell in cells[width:]):
        table.problems.append(Problem(line, None, f"{len(cells)} cells, but the header names {width} columns"))
        return
    values = {name: cell.strip() for name, cell in zip(table.columns, cells, strict=False)}
    unreadable = [
        Problem(line, name, "contains a line break or a control character")
        for name, value in values.items()
        if "\n" in value or "\r" in value or CONTROL_CHARACTERS.search(value)
    ]
    table.problems.extend(unreadable)
    if not unreadable:
        table.rows.append(Row(line, values))


def iso_date(value: str) -> date:
    """YYYY-MM-DD and nothing else (fromisoformat alone also takes 20230901 and week dates)."""
    if not ISO_DATE.fullmatch(value):
        raise ValueError("not a date in the form YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError("not a date in the form YYYY-MM-DD") from None
