"""A form field as components/forms.html writes it (portal/web/form_fields.py), and the filters'
<select> whose options are written once per language: the same HTML as WTForms writes."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, Form, SelectField, StringField
from wtforms.validators import DataRequired

from portal.web import form_fields
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


class _Search(Form):
    class Meta:
        kept_fields = True

    state = SelectField("State", choices=CHOICES, widget=KeptChoicesSelect())
    name = StringField(_l("Name"), description=_l("As on your card."))
    doctor = SelectField("Doctor")  # choices of this request: never kept


def _written_fresh(form, name: str, **kwargs) -> str:
    form_fields._KEPT.clear()
    return str(field(form[name], **kwargs))


@pytest.mark.parametrize("language", ["fr", "de", "en"])
def test_a_kept_search_field_is_written_as_a_fresh_one_for_every_value(app, language):
    for data in ({}, {"state": "shared", "name": "Lea"}, {"state": "a&b", "name": '<b>"x"'}, {"name": "Lea"}):
        with app.app_context(), app.test_request_context(f"/?lang={language}"):
            fresh = _written_fresh(_Search(data=data), "name", inputmode="text") + _written_fresh(_Search(data=data), "state")
        with app.app_context(), app.test_request_context(f"/?lang={language}"):
            form = _Search(data=data)
            kept = str(field(form.name, inputmode="text")) + str(field(form.state))
        assert kept == fresh, data
        if data.get("name") == '<b>"x"':
            assert "<b>" not in kept and "&lt;b&gt;" in kept


def test_a_kept_field_follows_the_language_and_leaves_errors_and_own_choices_out(app):
    form_fields._KEPT.clear()
    with app.app_context(), app.test_request_context("/?lang=de"):
        german = str(field(_Search(data={"state": "shared"}).state))
    with app.app_context(), app.test_request_context("/?lang=fr"):
        french = str(field(_Search(data={"state": "shared"}).state))
    assert german != french
    with app.app_context(), app.test_request_context("/?lang=en"):
        form = _Search(data={"name": "Lea"})
        form.name.errors = ["Write it again."]
        assert "Write it again." in str(field(form.name))
        form.doctor.choices = [("1", "Dr A")]
        field(form.doctor)
    assert all(key[1] != "doctor" for key in form_fields._KEPT) and len(form_fields._KEPT) == 2


class _Blank(Form):
    class Meta:
        kept_fields = "blank"

    matricule = StringField("Matricule")
    quantity = StringField("Quantity", default="1")


def test_a_form_with_personal_data_keeps_only_its_blank_fields(app):
    from werkzeug.datastructures import MultiDict

    form_fields._KEPT.clear()
    with app.app_context(), app.test_request_context("/?lang=en"):
        first = _Blank()
        blank, default = str(field(first.matricule)), str(field(first.quantity))
        assert len(form_fields._KEPT) == 2
        typed = _Blank(formdata=MultiDict({"matricule": "1985051512345", "quantity": "1"}))
        written = str(field(typed.matricule)) + str(field(typed.quantity))
        given = _Blank(data={"matricule": "1985051512345"})
        written += str(field(given.matricule))
        assert len(form_fields._KEPT) == 2  # nothing typed or given is kept
        assert written.count("1985051512345") == 2 and str(field(_Blank().matricule)) == blank
    assert all("1985051512345" not in repr(key) for key in form_fields._KEPT) and 'value="1"' in default
