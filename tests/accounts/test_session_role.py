"""The session's statement reads only the record of the role the signed cookie names.

The role in the cookie is a hint for which table to join, never a rule: access still follows
the account's own role, and a cookie without it (signed before it was written) or naming
another role still gives the person their own pages."""

import pytest

from tests.fixtures.clients import sign_in
from tests.fixtures.queries import count_queries

HOMES = {"patient": "/patient/", "doctor": "/doctor/", "cns": "/cns/"}


@pytest.mark.parametrize("role", sorted(HOMES))
def test_signing_in_writes_the_role_into_the_cookie(app, people, role):
    client = app.test_client()
    sign_in(client, people[role])
    with client.session_transaction() as cookie:
        assert cookie["role"] == role
    assert client.get(HOMES[role]).status_code == 200


def _session_statement(client, path):
    with count_queries() as statements:
        assert client.get(path).status_code == 200
    return next(statement for statement in statements if "user_session" in statement)


@pytest.mark.parametrize("role", sorted(HOMES))
def test_the_session_is_read_with_its_own_role_record_only(app, people, role):
    client = app.test_client()
    sign_in(client, people[role])
    statement = _session_statement(client, HOMES[role])
    joined = {table for table in ("patient", "doctor", "cns_staff") if f"JOIN {table} " in statement}
    assert joined == {{"patient": "patient", "doctor": "doctor", "cns": "cns_staff"}[role]}


def test_a_cookie_from_before_the_role_was_written_still_works(app, people):
    client = app.test_client()
    sign_in(client, people["doctor"])
    with client.session_transaction() as cookie:
        del cookie["role"]
    statement = _session_statement(client, "/doctor/")
    assert all(f"JOIN {table} " in statement for table in ("patient", "doctor", "cns_staff"))
    assert client.get("/doctor/invoices").status_code == 200


@pytest.mark.parametrize("named", ["cns", "patient", "nobody"])
def test_a_cookie_naming_another_role_grants_nothing_more(app, people, named):
    """A signed cookie cannot be forged, but the rule must not depend on that: the doctor whose
    cookie says another role still gets only a doctor's pages, and their own record."""
    client = app.test_client()
    sign_in(client, people["doctor"])
    with client.session_transaction() as cookie:
        cookie["role"] = named
    home = client.get("/doctor/")
    assert home.status_code == 200
    assert people["doctor"].profile.name in home.get_data(as_text=True)
    for other in ("/cns/claims", "/patient/invoices"):
        assert client.get(other).status_code in (403, 404)
