"""Guessing activation codes: one generic answer for every bad code, then a limit per address."""


import pytest

from portal.activation import codes
from tests.conftest import make_app
from tests.fixtures.activation import unusable_tokens
from tests.fixtures.clients import page, text_of

LIMIT = 4


@pytest.fixture
def limited_app(app):
    return make_app(ACTIVATION_RATE_LIMIT=f"{LIMIT}/minute")


def test_typed_codes_get_one_answer_then_the_limit(limited_app, make_patient, make_doctor, issue_code):
    tokens = unusable_tokens(make_patient, make_doctor, issue_code)
    _, good_token = issue_code(make_patient(with_account=False).profile, make_doctor().profile)
    client = limited_app.test_client()
    answers = {}
    for case, token in tokens.items():
        response = client.post("/activate?lang=en", data={"code": codes.grouped(token)}, follow_redirects=True)
        assert response.status_code == 200, case
        answers[case] = text_of(response)
    assert len(set(answers.values())) == 1, "the answer tells unknown, used, expired and revoked codes apart"
    assert "cannot be used" in answers["unknown"]
    assert len(tokens) == LIMIT

    # Past the limit even a good code is refused: the limit, not the code, answers.
    refused = client.post("/activate?lang=de", data={"code": codes.grouped(good_token)})
    assert refused.status_code == 429
    document = page(refused)
    assert document.html["lang"] == "de"
    assert document.find("h1").get_text(strip=True) == "Zu viele Versuche"
    assert "Too many attempts" not in text_of(refused)


def test_the_limit_counts_per_address(limited_app):
    first, second = limited_app.test_client(), limited_app.test_client()
    first.environ_base["REMOTE_ADDR"] = "192.0.2.10"
    second.environ_base["REMOTE_ADDR"] = "192.0.2.20"
    for _ in range(LIMIT):
        first.post("/activate", data={"code": codes.new_token()})
    assert first.post("/activate", data={"code": codes.new_token()}).status_code == 429
    assert second.post("/activate", data={"code": codes.new_token()}).status_code == 303
