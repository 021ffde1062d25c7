"""The doctors of the patient's invoice filter: up to a hundred options, the same on every
request, so their HTML is written once per patient and kept until the patient's invoices
change (or a few minutes pass: a doctor's new name shows up then)."""

from __future__ import annotations

from threading import Lock
from time import monotonic

from flask_babel import gettext as _
from markupsafe import escape
from wtforms.widgets import Select, html_params

from portal.invoicing import rows
from portal.web.form_fields import written_select

KEEP_SECONDS = 300
KEEP_PATIENTS = 512  # a worker keeps the lists of this many patients at most

# patient id -> (version, kept until, ((value, option, option chosen), ...))
_kept: dict[int, tuple[tuple, float, tuple]] = {}
_lock = Lock()


def options_of(patient_id: int, version: tuple) -> tuple[tuple[str, str, str], ...]:
    """(value, <option>, <option selected>) of each of the patient's doctors, by name; the
    list kept for `version` of the patient's invoices (invoices.tally) is reused."""
    now = monotonic()
    found = _kept.get(patient_id)
    if found is not None and found[0] == version and found[1] > now:
        return found[2]
    options = tuple(_option(str(doctor_id), name) for doctor_id, name in rows.doctor_names(patient_id))
    with _lock:
        if len(_kept) >= KEEP_PATIENTS:
            _kept.clear()
        _kept[patient_id] = (version, now + KEEP_SECONDS, options)
    return options


def forget() -> None:
    _kept.clear()


def _option(value: str, label: str) -> tuple[str, str, str]:
    # As WTForms' Select.render_option writes it (attributes sorted: "selected" first).
    text = escape(label or value)
    return (value, f"<option {html_params(value=value)}>{text}</option>",
            f"<option {html_params(value=value, selected=True)}>{text}</option>")


class KeptOptionsSelect(Select):
    """WTForms' <select> (same HTML) whose options come from `field.kept_options`, written
    beforehand: only the chosen one changes from one request to the next."""

    def __call__(self, field, **kwargs):
        # Each option was escaped in _option.
        return written_select(self, field, kwargs, (
            chosen if value == field.data else option for value, option, chosen in field.kept_options))


def everyone() -> tuple[str, str, str]:
    """The first option, no doctor chosen, in the page's language."""
    return _option("", _("All"))
