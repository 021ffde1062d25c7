"""Build a benchmark database: migrations, then COPY, then indexes, sequences and ANALYZE.

    .venv/bin/python -m bench.generate --size small      # 2,000 persons, 10,000 invoices, seconds
    .venv/bin/python -m bench.generate --size large      # 200,000 persons, 1,000,000 invoices, minutes

The database (portal_bench for large, portal_bench_<size> otherwise) is dropped and created
again. Registry tables are copied first in one transaction; the invoice family then streams
into its nine tables over nine COPY connections at once (the generator on one core, PostgreSQL
on the other), with foreign-key triggers off for the load (session_replication_role = replica:
the rows are consistent by construction) and the secondary indexes dropped, then rebuilt.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from contextlib import ExitStack
from datetime import UTC, datetime

import psycopg
from psycopg import sql

from bench import common
from bench.dataset import COLUMNS, FAMILY, REGISTRY, Act, Dataset, Secrets

GENERATOR_VERSION = 2  # 2: accounts carry the accepted terms number (migration 0014)
FLUSH_BYTES = 1 << 20


def recreate_database(name: str) -> None:
    with psycopg.connect(common.database_url("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')


def migrate(name: str) -> None:
    env = {**os.environ, **common.portal_env(name)}
    env.pop("BENCH_COUNT_QUERIES")
    subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"], cwd=common.ROOT, env=env, check=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def secrets_for_bench(name: str) -> Secrets:
    """Hash the one bench password once, and encrypt the bench TOTP secrets, with the portal's
    own code and keys (production argon2 parameters, FIELD_ENCRYPTION_KEY)."""
    from portal import create_app
    from portal.accounts import passwords, terms, totp

    app = create_app(common.app_config(name))
    with app.app_context():
        logins = [login(i) for login in common.LOGINS.values() for i in range(common.BENCH_USERS)]
        return Secrets(
            password_hash=passwords.hash_password(common.PASSWORD),
            totp_tokens={login: totp.encrypt(common.totp_secret(login)) for login in logins},
            other_totp_token=totp.encrypt(totp.new_secret()),
            terms=terms.bundled_texts(1),
        )


def count_claims(name: str) -> None:
    """The queue's counts of the claims just copied, with the portal's own recount (the COPY
    went around the code that keeps them)."""
    from portal import create_app
    from portal.claims import counts
    from portal.extensions import db

    app = create_app(common.app_config(name))
    with app.app_context():
        counts.recount()
        db.session.commit()
        db.engine.dispose()


def check_columns(conn: psycopg.Connection) -> None:
    """Fail early, and clearly, if a migration added a required column the generator does not fill."""
    rows = conn.execute(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' "
        "AND is_nullable = 'NO' AND column_default IS NULL AND table_name = ANY(%s)", [list(COLUMNS)]
    ).fetchall()
    missing = [f"{table}.{column}" for table, column in rows if column not in COLUMNS[table].split()]
    if missing:
        raise SystemExit(f"bench/dataset.py does not fill these required columns: {', '.join(missing)}")


def secondary_indexes(conn: psycopg.Connection, tables: tuple[str, ...]) -> list[tuple[str, str]]:
    """Indexes that back no constraint (so can be dropped and rebuilt): name and definition."""
    return conn.execute(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = 'public' AND i.tablename = ANY(%s) "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = (quote_ident(i.indexname))::regclass)",
        [list(tables)],
    ).fetchall()


class Sinks:
    """One COPY per table, each on its own connection, fed in 1 MB blocks."""

    def __init__(self, stack: ExitStack, url: str, tables: tuple[str, ...]) -> None:
        self.copies, self.buffers, self.sizes, self.rows = {}, {}, {}, {}
        for table in tables:
            conn = stack.enter_context(psycopg.connect(url))
            conn.execute("SET session_replication_role = replica")
            conn.execute("SET synchronous_commit = off")
            cursor = stack.enter_context(conn.cursor())
            columns = ", ".join(COLUMNS[table].split())
            self.copies[table] = stack.enter_context(cursor.copy(f"COPY {table} ({columns}) FROM STDIN"))
            self.buffers[table], self.sizes[table], self.rows[table] = [], 0, 0

    def add(self, table: str, line: str) -> None:
        buffer = self.buffers[table]
        buffer.append(line)
        self.sizes[table] += len(line) + 1
        if self.sizes[table] >= FLUSH_BYTES:
            self.flush(table)

    def flush(self, table: str) -> None:
        buffer = self.buffers[table]
        if buffer:
            self.copies[table].write("\n".join(buffer) + "\n")
            self.rows[table] += len(buffer)
            buffer.clear()
            self.sizes[table] = 0

    def flush_all(self) -> None:
        for table in self.copies:
            self.flush(table)


def load(url: str, tables: tuple[str, ...], rows) -> dict[str, int]:
    with ExitStack() as stack:
        sinks = Sinks(stack, url, tables)
        add = sinks.add
        for table, line in rows:
            add(table, line)
        sinks.flush_all()
        counts = dict(sinks.rows)
    # Leaving the stack ends each COPY and commits each connection.
    return counts


def fix_sequences(conn: psycopg.Connection) -> None:
    serials = conn.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = 'public' AND column_default LIKE 'nextval(%%'"
    ).fetchall()
    for table, column in serials:
        conn.execute(sql.SQL(
            "SELECT setval(pg_get_serial_sequence({table_name}, {column_name}), "
            "COALESCE((SELECT max({column}) FROM {table}), 0) + 1, false)"
        ).format(table_name=sql.Literal(table), column_name=sql.Literal(column), column=sql.Identifier(column),
                 table=sql.Identifier(table)))


def generate(size_name: str, database: str, seed: int, quiet: bool = False) -> dict:
    size = common.SIZES[size_name]
    url = common.database_url(database)
    started = time.monotonic()
    say = (lambda *_: None) if quiet else (lambda text: print(f"[{time.monotonic() - started:6.1f}s] {text}", flush=True))

    recreate_database(database)
    migrate(database)
    say(f"schema migrated in {database}")
    secrets = secrets_for_bench(database)
    with psycopg.connect(url, autocommit=True) as conn:
        check_columns(conn)
        acts = [Act(*row) for row in conn.execute("SELECT id, code, fee_cents, category, effective_from, is_direct_payment_eligible FROM act")]
        dropped = secondary_indexes(conn, FAMILY)
        for name, _definition in dropped:
            conn.execute(f'DROP INDEX "{name}"')
    now = datetime.now(UTC).replace(microsecond=0)
    dataset = Dataset(size, seed, acts, secrets, now)
    counts = load(url, REGISTRY, dataset.registry())
    say(f"registry copied: {counts['patient']:,} persons, {counts['doctor']:,} doctors, {counts['account']:,} accounts")
    counts.update(load(url, FAMILY, dataset.family()))
    say(f"invoices copied: {counts['invoice']:,} invoices, {counts['claim']:,} claims, "
        f"{counts['audit_event']:,} audit rows")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '1GB'")
        conn.execute("SET max_parallel_maintenance_workers = 2")
        for _name, definition in dropped:
            conn.execute(definition)
        say(f"{len(dropped)} indexes rebuilt")
        fix_sequences(conn)
        count_claims(database)
        say("claims counted for the queue")
        conn.execute("VACUUM (ANALYZE)")
        say("vacuumed and analysed")
        meta = {
            "size": size_name, "seed": seed, "version": GENERATOR_VERSION, "generated_at": now.isoformat(),
            "seconds": round(time.monotonic() - started, 1), "rows": counts,
        }
        conn.execute(f"COMMENT ON DATABASE \"{database}\" IS '{json.dumps(meta)}'")
    say(f"done: {sum(counts.values()):,} rows")
    return meta


def existing(database: str) -> dict | None:
    """What an earlier run left in `database` (its size and row counts), or None."""
    with psycopg.connect(common.database_url("postgres"), autocommit=True) as admin:
        row = admin.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", [database]
        ).fetchone()
    if row is None or not row[0]:
        return None
    try:
        meta = json.loads(row[0])
    except ValueError:
        return None
    return meta if meta.get("version") == GENERATOR_VERSION else None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=sorted(common.SIZES), default="small")
    parser.add_argument("--database", help="default: portal_bench for large, portal_bench_<size> otherwise")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    generate(args.size, args.database or common.database_name(args.size), args.seed)


if __name__ == "__main__":
    main()
