"""The check Flask-Limiter runs before every request is left out while the portal declares
no limit for it to count (portal/core/rate_limits.py); the limits declared on views are
tested from the attacker's side in tests/security/test_auth_attacks.py."""

from portal.extensions import limiter
from tests.conftest import make_app


def test_without_a_limit_for_every_request_no_check_runs_before_each(app):
    assert limiter._check_request_limit not in app.before_request_funcs[None]


def test_a_default_limit_configured_is_still_counted(monkeypatch):
    # The limiter is shared by every app of the test run: what this app configures on it
    # is taken back afterwards.
    monkeypatch.setattr(limiter.limit_manager, "_default_limits", [])
    limited = make_app(RATELIMIT_DEFAULT="2/minute", RATELIMIT_STORAGE_URI="memory://")
    browser = limited.test_client()
    browser.environ_base["REMOTE_ADDR"] = "203.0.113.77"
    assert [browser.get("/").status_code for _ in range(3)] == [200, 200, 429]
