"""Every setting the portal reads from the environment, in one place.

The README's "Configuration" section documents each variable; keep the two in step.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = Path(os.environ.get("PORTAL_INSTANCE_DIR", ROOT / "instance"))

LANGUAGES = ("fr", "de", "en")


# What the legal notice shows, and the honest placeholders used until an operator sets them.
LEGAL_DEMO_VALUES = {
    "LEGAL_PUBLISHER": "Caisse nationale de santé",
    "LEGAL_ADDRESS": "125, route d'Esch, L-2980 Luxembourg",
    "LEGAL_PHONE": "+352 00 00 00 00",
    "LEGAL_REGISTER": "Public institution, no trade register number",
    "LEGAL_HOST": "Example Hosting S.A., 1, rue de l'Exemple, L-0000 Luxembourg",
    "PUBLIC_CONTACT_EMAIL": "contact@portal.example.lu",
}
LEGAL_SETTINGS = tuple(LEGAL_DEMO_VALUES)


class ConfigError(RuntimeError):
    """Raised when the environment cannot make a safe configuration."""


def _env_seconds(name: str, default: int) -> timedelta:
    return timedelta(seconds=int(os.environ.get(name, default)))


def _env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _instance_secret(filename: str, make) -> str:
    # Development only: a secret generated once and kept under instance/, so sessions
    # survive restarts without anyone having to invent a key.
    INSTANCE.mkdir(parents=True, exist_ok=True)
    path = INSTANCE / filename
    if not path.exists():
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text().strip()


def load(overrides: dict | None = None) -> dict:
    """Build the Flask config mapping from the environment, then apply overrides."""
    env = os.environ.get("PORTAL_ENV", "development")
    production = env == "production"
    INSTANCE.mkdir(parents=True, exist_ok=True)

    config = {
        "PORTAL_ENV": env,
        "DEBUG": _env_bool("FLASK_DEBUG"),
        "SQLALCHEMY_DATABASE_URI": os.environ.get("DATABASE_URL", f"sqlite:///{INSTANCE / 'portal.sqlite3'}"),
        "REDIS_URL": os.environ.get("REDIS_URL") or None,
        # The RQ queue the portal's jobs go to (portal/core/jobs.py); several portals, or test
        # runs, sharing one Redis take different names.
        "JOB_QUEUE": os.environ.get("JOB_QUEUE", "portal"),
        # Where messages leave (README, "Messages"); without them a message is held in the outbox
        # and shown at /dev/outbox in demo mode.
        "SMTP_URL": os.environ.get("SMTP_URL") or None,
        "MAIL_FROM": os.environ.get("MAIL_FROM", "CNS portal <no-reply@portal.example.lu>"),
        "SMS_URL": os.environ.get("SMS_URL") or None,
        "SMS_KEY": os.environ.get("SMS_KEY", ""),
        # A worker holds a message this long while it sends it; one that died lets go after it.
        "OUTBOX_LEASE_SECONDS": int(os.environ.get("OUTBOX_LEASE_SECONDS", 120)),
        "OUTBOX_MAX_ATTEMPTS": int(os.environ.get("OUTBOX_MAX_ATTEMPTS", 6)),
        "SECRET_KEY": os.environ.get("SECRET_KEY"),
        # Fernet key that encrypts TOTP secrets at rest; separate from SECRET_KEY so
        # rotating the cookie key does not lock every user out of their authenticator.
        "FIELD_ENCRYPTION_KEY": os.environ.get("FIELD_ENCRYPTION_KEY"),
        # Session limits per role (issue: patients lock after one minute idle).
        "IDLE_LOCK": {
            "patient": _env_seconds("PATIENT_IDLE_LOCK_SECONDS", 60),
            "doctor": _env_seconds("DOCTOR_IDLE_LOCK_SECONDS", 15 * 60),
            "cns": _env_seconds("CNS_IDLE_LOCK_SECONDS", 15 * 60),
        },
        "IDLE_SIGNOUT": _env_seconds("IDLE_SIGNOUT_SECONDS", 30 * 60),
        "SESSION_LIFETIME": _env_seconds("SESSION_LIFETIME_SECONDS", 12 * 3600),
        "LOCK_WARNING": _env_seconds("LOCK_WARNING_SECONDS", 20),
        "SESSION_POLL_SECONDS": int(os.environ.get("SESSION_POLL_SECONDS", 10)),
        "ACTIVATION_CODE_LIFETIME": timedelta(days=int(os.environ.get("ACTIVATION_CODE_DAYS", 14))),
        # A claim paid to a bank account changed this recently waits for staff to check it.
        "IBAN_HOLD": timedelta(hours=int(os.environ.get("IBAN_HOLD_HOURS", 72))),
        # A new activation of an account that already works applies only after this wait, which
        # leaves its owner, alerted on every register contact, the time to cancel it.
        "REACTIVATION_WAIT": timedelta(hours=int(os.environ.get("REACTIVATION_WAIT_HOURS", 24))),
        # Number of reverse proxies in front of the app whose X-Forwarded-For we trust.
        "TRUSTED_PROXIES": int(os.environ.get("TRUSTED_PROXIES", 0)),
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_CONTENT_LENGTH", 6 * 1024 * 1024)),
        # Most fields (or multipart parts) in one form, and largest text part of a multipart
        # form; more is refused with 413 (portal/core/inbound.py counts urlencoded fields too).
        "MAX_FORM_PARTS": int(os.environ.get("MAX_FORM_PARTS", 1000)),
        "MAX_FORM_MEMORY_SIZE": int(os.environ.get("MAX_FORM_MEMORY_SIZE", 500_000)),
        # No ping before every checkout (a round trip on every request): connections are replaced
        # after this many seconds, and one the server dropped meanwhile is met by a retry of the
        # request (portal/core/reconnect.py).
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_recycle": int(os.environ.get("DATABASE_POOL_RECYCLE_SECONDS", 1800))},
        # Off behind PgBouncer in transaction pooling, which cannot keep a statement prepared
        # on one server connection for the next transaction (portal/core/prepared.py).
        "DATABASE_PREPARED_STATEMENTS": _env_bool("DATABASE_PREPARED_STATEMENTS", True),
        "SESSION_COOKIE_NAME": "portal_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production or _env_bool("SESSION_COOKIE_SECURE"),
        "PREFERRED_URL_SCHEME": "https" if production else "http",
        "WTF_CSRF_TIME_LIMIT": 3600,
        "WTF_CSRF_SSL_STRICT": production,
        "BABEL_DEFAULT_LOCALE": "fr",
        # Times are stored in UTC and shown as the clocks in Luxembourg read (CET/CEST).
        "BABEL_DEFAULT_TIMEZONE": "Europe/Luxembourg",
        "BABEL_TRANSLATION_DIRECTORIES": str(ROOT / "translations"),
        "LANGUAGES": LANGUAGES,
        "RATELIMIT_STORAGE_URI": os.environ.get("REDIS_URL") or "memory://",
        # Lets several portals, or several test runs, share one Redis database without sharing counters.
        "RATELIMIT_KEY_PREFIX": os.environ.get("REDIS_KEY_PREFIX", ""),
        "RATELIMIT_HEADERS_ENABLED": True,
        "RATELIMIT_ENABLED": _env_bool("RATELIMIT_ENABLED", True),
        # Per client IP, on top of the per-account failure counter (README: "Brute force").
        "SIGNIN_RATE_LIMIT": os.environ.get("SIGNIN_RATE_LIMIT", "20/minute;200/hour"),
        "CODE_RATE_LIMIT": os.environ.get("CODE_RATE_LIMIT", "10/minute;100/hour"),
        "ACTIVATION_RATE_LIMIT": os.environ.get("ACTIVATION_RATE_LIMIT", "20/minute;100/hour"),
        # Per client IP, on sending the public "Contact the fund" form (/help).
        "HELP_RATE_LIMIT": os.environ.get("HELP_RATE_LIMIT", "5/minute;20/hour"),
        "DEMO_MODE": _env_bool("DEMO_MODE", not production),
        # The legal notice (/legal) and the footer's contact. Outside production a missing one
        # takes the demonstration value of LEGAL_DEMO_VALUES and the page says so; production
        # refuses to start without every one of them.
        **{name: os.environ.get(name) or None for name in LEGAL_SETTINGS},
        # The data-protection officer the privacy notice names; the fund's own address by default.
        "DPO_EMAIL": os.environ.get("DPO_EMAIL", "dataprotection.cns@secu.lu"),
        "DPO_ADDRESS": os.environ.get(
            "DPO_ADDRESS", "Caisse nationale de santé, Data Protection Officer, 4, rue Mercier, L-2144 Luxembourg"
        ),
        # Every page announces a scheduled maintenance window this long before it begins; each
        # process reads the windows again after MAINTENANCE_CACHE_SECONDS (portal/maintenance).
        "MAINTENANCE_NOTICE": timedelta(hours=float(os.environ.get("MAINTENANCE_NOTICE_HOURS", 48))),
        "MAINTENANCE_CACHE_SECONDS": float(os.environ.get("MAINTENANCE_CACHE_SECONDS", 5)),
        # The address people reach the portal at. Links that leave the portal (activation letters,
        # SMS, e-mails, exports) are built from it, never from the request's Host header, and
        # requests for any other host are refused. Required in production.
        "PUBLIC_BASE_URL": os.environ.get("PUBLIC_BASE_URL") or None,
        # More host names to answer besides PUBLIC_BASE_URL's (e.g. what the load balancer's
        # health check sends), comma-separated.
        "EXTRA_TRUSTED_HOSTS": [h.strip() for h in os.environ.get("TRUSTED_HOSTS", "").split(",") if h.strip()],
        # Pages compressed by the portal itself (brotli or gzip, in the worker's time). Behind a
        # reverse proxy that compresses, turn it off: README, "Production deployment".
        "COMPRESS_RESPONSES": _env_bool("COMPRESS_RESPONSES", True),
        # Benchmark only (bench/): an X-Query-Count header on every response.
        "BENCH_COUNT_QUERIES": _env_bool("BENCH_COUNT_QUERIES"),
    }
    if overrides:
        config.update(overrides)
    _finish(config)
    return config


def _finish(config: dict) -> None:
    production = config["PORTAL_ENV"] == "production"
    if production:
        if config["DEBUG"]:
            raise ConfigError("Refusing to start: debug mode is on in production.")
        if not config["SECRET_KEY"]:
            raise ConfigError("Refusing to start: SECRET_KEY is not set in production.")
        if not config["FIELD_ENCRYPTION_KEY"]:
            raise ConfigError("Refusing to start: FIELD_ENCRYPTION_KEY is not set in production.")
        if not config["PUBLIC_BASE_URL"]:
            raise ConfigError("Refusing to start: PUBLIC_BASE_URL is not set in production.")
        missing = [name for name in LEGAL_SETTINGS if not config[name]]
        if missing:
            raise ConfigError(f"Refusing to start: the legal notice needs {', '.join(missing)} in production.")
        config["DEMO_MODE"] = False
    else:
        config["SECRET_KEY"] = config["SECRET_KEY"] or _instance_secret("secret_key", lambda: secrets.token_hex(32))
        config["FIELD_ENCRYPTION_KEY"] = config["FIELD_ENCRYPTION_KEY"] or _instance_secret(
            "field_key", lambda: Fernet.generate_key().decode()
        )
    _legal_notice(config)
    _public_address(config)
    if config["SQLALCHEMY_DATABASE_URI"].startswith("postgres://"):
        # Heroku-style URLs; SQLAlchemy only knows the postgresql scheme.
        config["SQLALCHEMY_DATABASE_URI"] = "postgresql://" + config["SQLALCHEMY_DATABASE_URI"][11:]
    if config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql://"):
        config["SQLALCHEMY_DATABASE_URI"] = config["SQLALCHEMY_DATABASE_URI"].replace(
            "postgresql://", "postgresql+psycopg://", 1
        )


def _legal_notice(config: dict) -> None:
    """Fill what an operator left unset (never in production: _finish refused that) and remember
    which values are placeholders, so the legal notice can say so."""
    config["LEGAL_DEMO_FIELDS"] = [name for name in LEGAL_SETTINGS if not config[name]]
    for name in config["LEGAL_DEMO_FIELDS"]:
        config[name] = LEGAL_DEMO_VALUES[name]


def _public_address(config: dict) -> None:
    """Normalise PUBLIC_BASE_URL and answer only its host (and the extra ones) from then on.

    Without it (development only) links follow the address the page was asked on."""
    base = config["PUBLIC_BASE_URL"]
    if not base:
        return
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ConfigError("PUBLIC_BASE_URL must look like https://portal.example.lu (no query or fragment).")
    config["PUBLIC_BASE_URL"] = base.rstrip("/")
    config["TRUSTED_HOSTS"] = [parts.hostname, *config["EXTRA_TRUSTED_HOSTS"]]
