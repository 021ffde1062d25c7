"""What the generator, the load driver and the runner agree on: sizes, databases,
keys and the accounts the virtual users sign in with.

Everything here is for throwaway benchmark data on a loopback machine; none of it is
a production secret.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PYTHON = ROOT / ".venv" / "bin" / "python"


@dataclass(frozen=True)
class Size:
    name: str
    persons: int
    doctors: int
    invoices: int
    staff: int


SIZES = {
    "small": Size("small", persons=2_000, doctors=100, invoices=10_000, staff=40),
    "large": Size("large", persons=200_000, doctors=1_000, invoices=1_000_000, staff=200),
}

# Accounts per role the virtual users sign in with: one account each, because a TOTP step
# is accepted once per account (so up to this many concurrent clients).
BENCH_USERS = 16
# Each bench patient has this many invoices at every size, so "the patient's invoice list
# at 10,000 vs 1,000,000 rows" compares the same page over a bigger table.
INVOICES_PER_BENCH_PATIENT = 150

PG_BASE = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")


def database_name(size: str) -> str:
    return "portal_bench" if size == "large" else f"portal_bench_{size}"


def database_url(name: str) -> str:
    return f"{PG_BASE}/{name}"


def _derived(label: str) -> bytes:
    return hashlib.sha256(f"portal-bench:{label}".encode()).digest()


# Fixed, so data generated once can be served by any later run.
SECRET_KEY = _derived("secret-key").hex()
FIELD_ENCRYPTION_KEY = base64.urlsafe_b64encode(_derived("field-key")).decode()
PASSWORD = "bench-quiet-harbour-lantern-" + _derived("password").hex()[:8]


def totp_secret(login: str) -> str:
    # Deterministic like portal/demo.py's, so the driver computes the codes the portal expects.
    return base64.b32encode(_derived(f"totp:{login}")[:20]).decode()


def bench_patient(index: int) -> tuple[date, int]:
    """Birth date and matricule serial of bench patient `index` (0-based): adults, serials
    900+ that the generator never hands out to anyone else."""
    return date(1960 + index, 1 + index % 12, 1 + index % 28), 900 + index


def patient_login(index: int) -> str:
    from portal.core.identity import make_matricule

    return make_matricule(*bench_patient(index))


def doctor_login(index: int) -> str:
    return f"98{index + 1:06d}"


def staff_login(index: int) -> str:
    return f"BENCH{index + 1:03d}"


LOGINS = {"patient": patient_login, "doctor": doctor_login, "cns": staff_login}


# What the legal notice shows: production refuses to start without it (portal/config.py).
LEGAL = {
    "LEGAL_PUBLISHER": "Benchmark publisher", "LEGAL_ADDRESS": "1, rue du Banc, L-0000 Luxembourg",
    "LEGAL_PHONE": "+352 00 00 00 00", "LEGAL_REGISTER": "Benchmark", "LEGAL_HOST": "Benchmark host",
    "PUBLIC_CONTACT_EMAIL": "contact@bench.example.lu",
}

# The driver reaches the portal on loopback; production refuses any other Host than this one's.
PUBLIC_BASE_URL = "http://127.0.0.1"


def app_config(database: str) -> dict:
    """The production settings for an app this process creates (the generator, the scaling runs)."""
    return {
        "PORTAL_ENV": "production", "SQLALCHEMY_DATABASE_URI": database_url(database),
        "SECRET_KEY": SECRET_KEY, "FIELD_ENCRYPTION_KEY": FIELD_ENCRYPTION_KEY,
        "PUBLIC_BASE_URL": PUBLIC_BASE_URL, **LEGAL,
    }


def portal_env(database: str, redis_url: str = REDIS_URL) -> dict[str, str]:
    """The production configuration the portal runs with, behind one trusted proxy (the driver
    plays the TLS-terminating proxy: X-Forwarded-For / -Proto). As in the README's production
    set-up, that proxy compresses the pages, not the workers (COMPRESS_RESPONSES=0); the first
    visit's figure compresses the page as it would (load.first_visit)."""
    return {
        "PORTAL_ENV": "production",
        "COMPRESS_RESPONSES": "0",
        "DATABASE_URL": database_url(database),
        "REDIS_URL": redis_url,
        "SECRET_KEY": SECRET_KEY,
        "FIELD_ENCRYPTION_KEY": FIELD_ENCRYPTION_KEY,
        "TRUSTED_PROXIES": "1",
        "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        "BENCH_COUNT_QUERIES": "1",
        **LEGAL,
    }
