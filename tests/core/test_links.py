"""The one check of a "next" address: only a path of this portal is followed."""

import pytest

from portal.core.links import safe_next


@pytest.mark.parametrize("target", [
    "/patient/invoices", "/patient/invoices?page=2", "/cns/claims?state=shared", "/",
])
def test_a_local_path_is_followed(target):
    assert safe_next(target, "/home") == target


@pytest.mark.parametrize("target", [
    None, "", "//evil.example", "///evil.example", "https://evil.example/", "javascript:alert(1)",
    "/\t/evil.example", "/\\evil.example", "\\\\evil.example", "/patient//evil", "patient/invoices",
    "/patient/ invoices", "/patient/\x00",
])
def test_anything_else_gives_the_default(target):
    assert safe_next(target, "/home") == "/home"


def test_a_trailing_question_mark_is_dropped():
    assert safe_next("/patient/invoices?", "/home") == "/patient/invoices"


def test_within_keeps_the_target_in_one_space():
    assert safe_next("/patient/claims", None, within="/patient/") == "/patient/claims"
    assert safe_next("/cns/claims", None, within="/patient/") is None
    assert safe_next("/patientx/claims", None, within="/patient/") is None
