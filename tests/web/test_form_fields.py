"""A form field as components/forms.html writes it (portal/web/form_fields.py), and the filters'
<select> whose options are written once per language: the same HTML as WTForms writes."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, Form, SelectField, StringField
from wtforms.validators import DataRequired

from portal.web.form_fields import KeptChoicesSelect, field
from portal.web.forms import InvoiceFilterForm

CHOICES = [("", _l("All")), ("shared", _l("Waiting for review")), ("a&b", 'Say "<b>"')]


class _Plain(Form):
    state = SelectField("State", choices=CHOICES)


class _Kept(Form):
    state = SelectField("State", choices=CHOICES, widget=KeptChoicesSelect())


@pytest.mark.parametrize("language", ["fr", "de", "en"])
def test_kept_options_are_written_as_wtforms_writes_them_in_each_language(app, language):
    for chosen in (None, "", "shared", "a&b", "unknown"):
        for _ in range(2):  # the first time writes the options, the second reads them back
            with app.test_request_context(f"/?lang={language}"):
                plain, kept = _Plain(data={"state": chosen}), _Kept(data={"state": chosen})
                assert str(kept.state(class_="x")) == str(plain.state(class_="x")), chosen
    with app.test_request_context(f"/?lang={language}"):
        written = str(_Kept(data={"state": "a&b"}).state())
    assert "<b>" not in written and 'selected value="a&amp;b"' in written


def test_the_invoice_filter_reads_its_states_in_the_page_language(app):
    # A new application context each time: the page's language is kept in its `g`.
    with app.app_context(), app.test_request_context("/?lang=de"):
        german = str(InvoiceFilterForm(data={"state": "issued"}).state())
    with app.app_context(), app.test_request_context("/?lang=fr"):
        french = str(InvoiceFilterForm(data={"state": "issued"}).state())
    assert "<option selected value=\"issued\">Ausgestellt</option>" in german
    assert "<option selected value=\"issued\">Émis</option>" in french


def _soup(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "html.parser")


class _Ask(Form):
    name = StringField("Name", validators=[DataRequired(message="Write a name.")], description="As on your card.")
    agreed = BooleanField("Agreed", validators=[DataRequired(message="Tick it.")])


def test_a_field_ties_its_help_and_errors_to_its_input(app):
    with app.test_request_context():
        form = _Ask(data={})
        form.validate()
        shown = _soup(str(field(form.name, autocomplete="name")))
        checkbox = _soup(str(field(form.agreed, autocomplete="ignored")))
    box = shown.select_one("div.field.field-error")
    assert box.label["for"] == "name"
    assert shown.select_one("#name-help").get_text() == "As on your card."
    assert shown.select_one("#name-error").get_text(strip=True) == "Write a name."
    entry = shown.select_one("input#name")
    assert entry["aria-describedby"] == "name-help name-error" and entry["aria-invalid"] == "true"
    assert entry["autocomplete"] == "name" and "type" in entry.attrs and entry["type"] == "text"
    tick = checkbox.select_one("div.checkbox input#agreed")
    assert tick["aria-describedby"] == "agreed-error" and "autocomplete" not in tick.attrs


def test_a_field_without_errors_writes_no_empty_attribute(app):
    with app.test_request_context():
        shown = _soup(str(field(_Ask(data={"name": "Léa"}).name, type=None, spellcheck="false")))
    entry = shown.select_one("input#name")
    assert "aria-invalid" not in entry.attrs and entry["aria-describedby"] == "name-help"
    assert entry["type"] == "text" and entry["spellcheck"] == "false" and entry["value"] == "Léa"
    assert shown.select_one("div.field")["class"] == ["field"] and shown.select_one(".error") is None
