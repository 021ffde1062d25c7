import pytest

from portal.accounts import passwords


def test_a_long_unusual_passphrase_is_accepted(app_ctx):
    assert passwords.problems("violet tractor under the moselle bridge") == []


@pytest.mark.parametrize(
    "password",
    ["short-one", "x" * 129],
)
def test_length_limits(app_ctx, password):
    assert passwords.problems(password)


def test_128_characters_are_allowed_and_nothing_is_truncated(app_ctx):
    long = "a quiet walk along the alzette " * 4 + "abcd"
    assert len(long) == 128
    assert passwords.problems(long) == []
    stored = passwords.hash_password(long)
    assert passwords.verify_password(stored, long)
    assert not passwords.verify_password(stored, long[:-1])


@pytest.mark.parametrize("password", ["passwordpassword", "1234567890123", "PasswordPassword1", "qwertyuiopasdfgh"])
def test_common_passwords_are_refused(app_ctx, password):
    assert passwords.problems(password)


def test_the_common_list_is_large():
    assert len(passwords._common_passwords()) >= 10_000


def test_password_may_not_contain_login_or_name(app_ctx):
    assert passwords.problems("my 1985031412382 is long", login="1985031412382")
    assert passwords.problems("kremer-is-my-long-name", names=("Marie", "Kremer"))


def test_no_composition_rules(app_ctx):
    assert passwords.problems("all lowercase words are fine here") == []


def test_hashes_are_argon2id_and_never_the_password():
    hasher, _dummy = passwords._hasher_for("default")  # what production uses
    stored = hasher.hash("violet tractor under the bridge")
    assert stored.startswith("$argon2id$")
    assert "m=65536,t=3,p=4" in stored  # RFC 9106 low-memory profile outside the test suite
    assert "violet" not in stored


def test_unknown_account_still_costs_a_verification():
    assert passwords.verify_password(None, "anything") is False
