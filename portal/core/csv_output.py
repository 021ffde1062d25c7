"""CSV files the portal hands out (the personal-data export, the doctor's payments): UTF-8 with
a BOM, and every cell neutralised so that no spreadsheet runs it as a formula."""

from __future__ import annotations

import csv
import io

# OWASP "CSV injection": a spreadsheet runs a cell that starts with one of these as a
# formula (the full-width signs too, in some locales; a line break or NUL starts a new cell in
# some readers). A leading quote makes it plain text and is what the reader sees, so it is safe.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\0", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def neutralise(value):
    """A CSV cell that no spreadsheet will run as a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    # Spaces in front do not stop every spreadsheet (some trim them on import).
    if isinstance(value, str) and (value.startswith(_FORMULA_START) or value.lstrip().startswith(_FORMULA_START)):
        return "'" + value
    return value  # numbers stay numbers: a negative amount is not a formula


def table(columns: tuple[str, ...], rows: list[dict]) -> bytes:
    out = io.StringIO()
    # The BOM lets spreadsheet programs read the accents as UTF-8.
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([neutralise(row.get(column)) for column in columns])
    return out.getvalue().encode("utf-8")
