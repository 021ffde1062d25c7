"""The error summary at the top of a form: each plain field's message links to its input."""

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
