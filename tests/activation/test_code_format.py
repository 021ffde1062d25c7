"""A code short enough to type from a letter: 100 bits, an alphabet without look-alikes, read in
groups; typing is forgiving; codes issued in the longer form before keep working."""

import math
import re
from collections import Counter

import pytest

from portal.activation import codes
from portal.core import link_tokens
from portal.extensions import db
from tests.fixtures.clients import page, text_of

CROCKFORD = set("0123456789ABCDEFGHJKMNPQRSTVWXYZ")


def test_a_code_carries_at_least_100_bits_in_20_characters_of_crockford_base32():
    assert set(codes.ALPHABET) == CROCKFORD and len(codes.ALPHABET) == 32
    assert codes.LENGTH * math.log2(len(codes.ALPHABET)) >= 100
    for _ in range(200):
        token = codes.new_token()
        assert len(token) == 20 and set(token) <= CROCKFORD
        assert not set(token) & set("ILOU")


def test_every_character_of_the_alphabet_turns_up_evenly_in_every_position():
    # A token built from too few random bits would leave characters or positions unused.
    drawn = [codes.new_token() for _ in range(3200)]
    assert len(set(drawn)) == len(drawn)
    counts = Counter(ch for token in drawn for ch in token)
    assert set(counts) == CROCKFORD
    expected = len(drawn) * codes.LENGTH / 32
    assert all(0.8 * expected < count < 1.2 * expected for count in counts.values()), counts
    for position in (0, 10, 19):
        assert len({token[position] for token in drawn}) == 32


def test_the_code_is_read_in_five_groups_of_four():
    token = codes.new_token()
    shown = codes.grouped(token)
    assert re.fullmatch(r"(\w{4}-){4}\w{4}", shown) and shown.replace("-", "") == token


@pytest.mark.parametrize("typed", [
    "7kq4-m2xd-9pzt-0ab1-hn5r",
    "7KQ4 M2XD 9PZT 0AB1 HN5R",
    " 7kq4m2xd9pzt0ab1hn5r ",
    "7KQ4-M2XD-9PZT-OAB1-HN5R",  # O for 0
    "7KQ4-M2XD-9PZT-0ABI-HN5R",  # I for 1
    "7KQ4-M2XD-9PZT-0ABl-HN5R",  # l for 1
    "7KQ4–M2XD–9PZT–0AB1–HN5R",  # dashes a word processor made
    "7KQ4.M2XD.9PZT.0AB1.HN5R",
])
def test_typing_is_forgiving(typed):
    assert codes.normalise(typed) == "7KQ4M2XD9PZT0AB1HN5R"
    assert codes.digest(typed) == codes.digest("7KQ4M2XD9PZT0AB1HN5R")


def test_letters_outside_ascii_are_not_taken_for_others():
    assert codes.normalise("7KQ4-M2XD-9PZT-0AB1-HN5É") == "7KQ4M2XD9PZT0AB1HN5"
    assert not codes.has_code_length("7KQ4-M2XD-9PZT-0AB1-HN5É")


def test_a_grouped_code_typed_in_small_letters_with_spaces_and_look_alikes_is_found(
        make_patient, make_doctor, issue_code):
    patient, doctor = make_patient(with_account=False), make_doctor()
    code, token = issue_code(patient.profile, doctor.profile)
    typed = codes.grouped(token).lower().replace("-", " ").replace("0", "o").replace("1", "l")
    assert codes.find_usable(typed) == code


def test_a_code_issued_before_in_the_long_form_keeps_working(app, make_patient, make_doctor, issue_code):
    patient, doctor = make_patient(with_account=False), make_doctor()
    code, _ = issue_code(patient.profile, doctor.profile)
    # As stored before: 32 characters of RFC 4648 base32, hashed as typed (O, I and L included).
    legacy = "OILZ" + link_tokens.new()[4:]
    code.token_hash = link_tokens.digest(legacy)
    db.session.commit()
    assert codes.find_usable(codes.grouped(legacy).lower()) == code
    assert codes.matches(code, legacy) and not codes.matches(code, codes.new_token())
    client = app.test_client()
    assert client.get(f"/activate/{legacy}").headers["Location"] == "/activate/continue"


def test_a_code_with_a_character_missing_is_told_so_without_spending_anything(app, make_patient, make_doctor,
                                                                               issue_code):
    patient, doctor = make_patient(with_account=False), make_doctor()
    _, token = issue_code(patient.profile, doctor.profile)
    client = app.test_client()
    response = client.post("/activate?lang=en", data={"code": codes.grouped(token)[:-1]})
    assert response.status_code == 400
    document = page(response)
    assert document.select_one(".error-summary a[href='#code']")
    assert "20 letters and digits" in text_of(response)
    typed = client.post("/activate?lang=en", data={"code": codes.grouped(token).lower()})
    assert typed.headers["Location"] == "/activate/continue"
