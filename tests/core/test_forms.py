"""The error summary at the top of a form: each plain field's message links to its input; and
WTForms' own messages, in the page's language."""

from werkzeug.datastructures import MultiDict
from wtforms import IntegerField

from portal.core.forms import BaseForm
from tests.fixtures.clients import page, sign_in


def test_a_lazily_translated_message_links_to_its_field(app, people):
    client = app.test_client()
    sign_in(client, people["patient"])
    response = client.post("/patient/bank-account?lang=en", data={"iban": "LU00 nonsense"})
    link = page(response).select_one(".error-summary a")
    assert link["href"] == "#iban" and link.get_text().startswith("IBAN: Enter a valid IBAN")


def test_errors_inside_a_list_of_lines_point_to_the_marked_fields(app, people):
    client = app.test_client()
    sign_in(client, people["doctor"])
    response = client.post("/doctor/invoices/new?lang=en", data={
        "matricule": people["patient"].profile.matricule, "service_date": "2026-01-01",
        "lines-0-code": "ZZ9", "lines-0-quantity": "1", "submit": "1",
    })
    items = [item.get_text(" ", strip=True) for item in page(response).select(".error-summary li")]
    assert "Check the fields marked below." in items
    assert page(response).select_one("#lines-0-code-error")


def _integer_error(app, language):
    class Quantity(BaseForm):
        class Meta:
            csrf = False

        quantity = IntegerField("Quantity")

    # A context of its own, as each request has: Flask-Babel keeps the locale in it.
    with app.app_context(), app.test_request_context(f"/?lang={language}"):
        form = Quantity(MultiDict({"quantity": "many"}))
        form.validate()
        return form.quantity.errors, form.meta.get_translations(form)


def test_wtforms_own_messages_speak_the_page_language_from_a_catalogue_read_once(app):
    """WTForms' own messages come from its catalogue, read once per language and process
    rather than on every request (Flask-WTF's way)."""
    errors = {language: _integer_error(app, language) for language in ("fr", "de", "en")}
    assert errors["fr"][0] == ["N'est pas un entier valide."]
    assert errors["de"][0] == ["Keine gültige, ganze Zahl."]
    assert errors["en"][0] == ["Not a valid integer value."]
    assert _integer_error(app, "fr")[1] is errors["fr"][1]
    assert errors["fr"][1] is not errors["de"][1]
