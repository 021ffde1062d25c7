"""CPU per request of the list pages (issue 19), measured in-process with the Flask test client.

One patient with a few hundred invoices from many doctors (part of them shared, voided or
expired), the doctor who issued most of them, and a CNS agent whose queue holds the shared
ones. Each page is asked for `--requests` times after a short warm-up; the figure is the
process CPU time per request (`time.process_time`), so a busy machine slows it less than it
slows wall-clock time.

    .venv/bin/python -m bench.lists_cpu                    # SQLite in a temporary folder
    .venv/bin/python -m bench.lists_cpu --database sqlite:////tmp/lists.sqlite3
    .venv/bin/python -m bench.lists_cpu --database postgresql://postgres@127.0.0.1:5432/portal_lists
    .venv/bin/python -m bench.lists_cpu --dump /tmp/html   # also write each page in fr, de, en

A database given with `--database` is built once (migrations, then the data) and reused by
later runs, so two versions of the code can be compared on the same rows, HTML included
(`--dump`, then `diff -r`). The accounts' sign-in secrets are kept beside it in
`<database name>.accounts.json` (throwaway test accounts, never a real portal's).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

TMP = Path(tempfile.mkdtemp(prefix="portal-lists-cpu-"))
os.environ.setdefault("PORTAL_INSTANCE_DIR", str(TMP / "instance"))

from sqlalchemy import create_engine, text  # noqa: E402

from portal import create_app  # noqa: E402
from portal.accounts import totp  # noqa: E402
from portal.claims import review, sharing  # noqa: E402
from portal.core import clock  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.invoicing import invoices, nomenclature  # noqa: E402
from portal.models import Account, Channel, Invoice, InvoiceLine  # noqa: E402

SETTINGS = {
    "PORTAL_ENV": "testing",
    "TESTING": True,
    "WTF_CSRF_ENABLED": False,
    "SECRET_KEY": "bench-lists-not-a-secret",
    "FIELD_ENCRYPTION_KEY": "0n3Xn1mWcH3Pj0qLqX8gk0m3j7S9gVsz9hA0KZUo9yE=",
    "SIGNIN_RATE_LIMIT": "100000/minute",
    "CODE_RATE_LIMIT": "100000/minute",
    "ACTIVATION_RATE_LIMIT": "100000/minute",
    "PASSWORD_HASH_PROFILE": "test",
    "DEMO_MODE": False,
}

# (role, page name, address): the pages of issue 19.
PAGES = [
    ("patient", "patient invoices", "/patient/invoices"),
    ("patient", "patient invoices, filtered", "/patient/invoices?state=issued&page=2"),
    ("patient", "patient claims", "/patient/claims"),
    ("doctor", "doctor invoices", "/doctor/invoices"),
    ("cns", "CNS queue", "/cns/claims"),
]
ACTS = (("C1", 1), ("C2", 1), ("C1", 2), ("C3", 1))
# What changes from one request to the next without the page changing: left out of --dump.
VOLATILE = [re.compile(p) for p in (r'"X-CSRFToken": "[^"]*"', r'name="csrf_token" value="[^"]*"', r'nonce="[^"]*"', r'content="[^"]*" name="csrf-token"')]


def _accounts_file(url: str) -> Path:
    name = url.rsplit("/", 1)[-1] or "lists"
    return (Path(url.removeprefix("sqlite:///")).parent if url.startswith("sqlite") else TMP.parent) / f"{name}.accounts.json"


def _built(url: str) -> bool:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as connection:
            return bool(connection.execute(text("SELECT count(*) FROM invoice")).scalar())
    except Exception:  # no schema yet
        return False
    finally:
        engine.dispose()


def build(invoice_count: int, doctor_count: int) -> dict:
    """The rows of the benchmark; returns the sign-in details of the three accounts."""
    from tests.fixtures.factories import new_doctor, new_patient, new_staff

    rng = random.Random(19)
    patient = new_patient(given_name="Lea", surname="Schmit")
    doctors = [new_doctor(name=f"Dr {rng.choice('ABCDEFGHJKLMNPRSTW')}. Doctor {n:03d}") for n in range(doctor_count)]
    staff = new_staff()
    today = clock.today()
    made = []
    for n in range(invoice_count):
        # Half from the first doctor (the one whose list is measured), the rest spread out.
        doctor = doctors[0] if n % 2 == 0 else rng.choice(doctors)
        day = today - timedelta(days=rng.randrange(0, 800))
        issued = clock.now() - (today - day)
        paper = rng.random() < 0.15
        invoice = Invoice(
            number=f"{day.year}-{n + 1:06d}", doctor_id=doctor.profile.id, patient_id=patient.profile.id,
            provider_code=doctor.profile.provider_code, patient_matricule=patient.profile.matricule,
            service_date=day, issued_at=issued, channel=Channel.PAPER_QR if paper else Channel.DIGITAL,
            is_paid_on_site=not paper, paid_at=None if paper else issued, is_payer_patient=True, total_cents=0,
            expires_at=invoices.add_years(issued, invoices.RETENTION_YEARS),
            voided_at=issued if rng.random() < 0.03 else None,
        )
        for position, (code, quantity) in enumerate(rng.sample(ACTS, rng.randint(1, 3)), start=1):
            act = nomenclature.act_on(code, day)
            invoice.lines.append(InvoiceLine(position=position, act_id=act.id, act_code=act.code, quantity=quantity,
                                             unit_fee_cents=act.fee_cents, total_cents=act.fee_cents * quantity))
        invoice.total_cents = sum(line.total_cents for line in invoice.lines)
        db.session.add(invoice)
        made.append(invoice)
    db.session.commit()
    shareable = [i for i in made if sharing.why_not_shareable(i, claimed=False) is None]
    claims = sharing.share(patient.profile, shareable[: int(len(made) * 0.4)], by=patient.account)
    db.session.commit()
    for n, claim in enumerate(claims):
        if n % 3 == 1:
            review.take_up(claim, staff.profile)
        elif n % 3 == 2:
            review.take_up(claim, staff.profile)
            review.reject(claim, staff.profile, version=claim.version, reason="duplicate")
    db.session.commit()
    return {role: {"login": person.login, "password": person.password, "secret": person.secret}
            for role, person in (("patient", patient), ("doctor", doctors[0]), ("cns", staff))}


def sign_in(app, who: dict):
    client = app.test_client()
    response = client.post("/login", data={"login": who["login"], "password": who["password"]})
    assert response.status_code == 303, response.status_code
    with app.app_context():
        account = db.session.scalar(db.select(Account).where(Account.login == who["login"]))
        last = account.credential.totp_last_step
    while last is not None and totp.current_step() <= last:  # each 30-second code is accepted once
        time.sleep(1)
    response = client.post("/login/code", data={"code": totp.code_for(who["secret"], totp.current_step())})
    assert response.status_code == 303, response.status_code
    return client


def measure(client, address: str, requests: int) -> dict:
    for _ in range(5):  # warm-up: templates compiled, caches filled
        assert client.get(address).status_code == 200
    cpu, wall = [], []
    for _ in range(requests):
        started_cpu, started = time.process_time(), time.perf_counter()
        response = client.get(address)
        cpu.append(time.process_time() - started_cpu)
        wall.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
    return {"cpu_ms": 1000 * statistics.mean(cpu), "cpu_p50_ms": 1000 * statistics.median(cpu),
            "wall_ms": 1000 * statistics.mean(wall)}


def dump(clients: dict, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for role, name, address in PAGES:
        for lang in ("fr", "de", "en"):
            joiner = "&" if "?" in address else "?"
            html = clients[role].get(f"{address}{joiner}lang={lang}").get_data(as_text=True)
            for pattern in VOLATILE:
                html = pattern.sub("", html)
            (folder / f"{name.replace(' ', '_').replace(',', '')}.{lang}.html").write_text(html)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default=f"sqlite:///{TMP / 'lists.sqlite3'}")
    parser.add_argument("--invoices", type=int, default=400)
    parser.add_argument("--doctors", type=int, default=80)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--dump", type=Path, help="write each page's HTML here (fr, de, en)")
    parser.add_argument("--json", type=Path, help="write the figures here as JSON")
    args = parser.parse_args(argv)

    app = create_app({**SETTINGS, "SQLALCHEMY_DATABASE_URI": args.database})
    accounts = _accounts_file(args.database)
    if not _built(args.database) or not accounts.exists():
        from flask_migrate import upgrade

        with app.app_context():
            upgrade()
            started = time.perf_counter()
            accounts.write_text(json.dumps(build(args.invoices, args.doctors)))
            print(f"built {args.invoices} invoices in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    who = json.loads(accounts.read_text())
    clients = {role: sign_in(app, who[role]) for role in ("patient", "doctor", "cns")}
    if args.dump:
        dump(clients, args.dump)
    for client in clients.values():
        client.get("/?lang=en")
    figures = {}
    print(f"{'page':32} {'CPU ms/request':>15} {'p50':>7} {'wall ms':>8}")
    for role, name, address in PAGES:
        figures[name] = found = measure(clients[role], address, args.requests)
        print(f"{name:32} {found['cpu_ms']:15.2f} {found['cpu_p50_ms']:7.2f} {found['wall_ms']:8.2f}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
