"""Bugs the fuzzer (test_fuzz.py) found, each pinned by a plain test."""

from __future__ import annotations

import json

import pytest

from portal.extensions import db
from portal.models import ClaimState

LONG_NUMBER = "9" * 5000  # past Python's 4300-digit limit for int(str)


# A JSON body used to reach the forms as their data (Flask-WTF reads it), and its numbers,
# lists and objects crashed validators written for text: 500 on nearly every form.
@pytest.mark.parametrize(("role", "path", "document"), [
    (None, "/login", {"login": [1.5], "password": {"x": 1}}),
    (None, "/activate", {"code": {"a": 1}}),
    (None, "/forgot", {"login": 12, "code": 1e308, "new_password": True, "confirm": []}),
    ("patient", "/patient/my-data/erase", {"password": "x", "code": "123456", "confirmation": {"word": []}}),
    ("patient", "/account/password", {"current_password": [True], "new_password": {"a": 1}, "confirm": 3}),
    ("doctor", "/doctor/invoices/new", {"matricule": [], "lines-0-code": 12, "submit": True}),
])
def test_a_json_body_fills_no_form_field(app, signed_in, role, path, document):
    client = signed_in(role)[0] if role else app.test_client()
    response = client.post(path, data=json.dumps(document), content_type="application/json")
    # The form comes back empty, with its errors (the invoice form as a preview).
    assert response.status_code in (200, 400)
    assert b"<form" in response.data


def test_a_json_amount_does_not_decide_a_claim(people, make_claim, signed_in):
    claim = make_claim(people["patient"], people["doctor"], people["cns"], state="in_review")
    client, _staff = signed_in("cns")
    body = json.dumps({"version": claim.version, "amount": 1e999, "reason": {"a": 1}})
    response = client.post(f"/cns/claims/{claim.id}/accept", data=body, content_type="application/json")
    # Without a version the decision reads as a stale or forged form: back to the claim.
    assert response.status_code == 303
    assert response.headers["Location"] == f"/cns/claims/{claim.id}"
    db.session.refresh(claim)
    assert claim.state == ClaimState.IN_REVIEW


# int() refuses a string of more than 4300 digits with ValueError: a page number that long
# was a 500 on every paged list. Anything malformed means the first page.
@pytest.mark.parametrize(("role", "path"), [
    ("patient", "/patient/claims"),
    ("patient", "/patient/invoices"),
    ("patient", "/patient/notifications"),
    ("doctor", "/doctor/invoices"),
    ("cns", "/cns/data-requests"),
])
def test_a_page_number_too_long_for_python_shows_a_page(signed_in, role, path):
    client, _person = signed_in(role)
    response = client.get(path, query_string={"page": LONG_NUMBER})
    assert response.status_code == 200


# WTForms' NumberRange asks math.isnan() of the number, which overflows on an integer of
# more than 308 digits: a forged version of 400 nines was a 500 on every decision.
@pytest.mark.parametrize(("action", "fields"), [
    ("accept", {"amount": "57.70"}),
    ("reject", {"reason": "duplicate"}),
    ("request-info", {"question": "Which doctor?"}),
])
def test_a_forged_version_too_big_for_a_float_changes_nothing(people, make_claim, signed_in, action, fields):
    claim = make_claim(people["patient"], people["doctor"], people["cns"], state="in_review")
    client, _staff = signed_in("cns")
    response = client.post(f"/cns/claims/{claim.id}/{action}", data={"version": "9" * 400, **fields})
    # Read as a stale or forged form: back to the claim, which nobody decided.
    assert response.status_code == 303
    assert response.headers["Location"] == f"/cns/claims/{claim.id}"
    db.session.refresh(claim)
    assert claim.state == ClaimState.IN_REVIEW
