"""The benchmark in one command: data, servers, load, report (see bench/README.md).

    bench/run.sh                         # = .venv/bin/python -m bench.run --size large
    bench/run.sh --size small --duration 5
    bench/run.sh --instances 2

Generates the data set unless an earlier run left it (--regenerate forces it), serves a fresh
copy of it (CREATE DATABASE … TEMPLATE: the driver's shares and decisions never touch the
generated set), starts the portal under gunicorn with the production configuration and the
floor under the same settings, runs the load, stops every process it started, measures one
argon2 verification and the two pages that must not grow with the data, and writes
bench/RESULTS.md, bench/results.svg (and bench/EXPLAIN.md when the large set is there).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import shlex
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):  # `python bench/run.py` works as well as `python -m bench.run`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402
import redis  # noqa: E402

from bench import common, generate, load, report, scaling  # noqa: E402
from bench.server import Gunicorn  # noqa: E402

LOGS = common.BENCH / "out"  # git-ignored: server logs and the raw measurements


def start(name: str, app: str, env: dict[str, str], workers: int) -> Gunicorn:
    return Gunicorn(app, env, workers=workers, log=LOGS / f"{name}.log", name=name)


def ensure_data(size: str, regenerate: bool, seed: int) -> dict:
    database = common.database_name(size)
    meta = None if regenerate else generate.existing(database)
    if meta is None or meta.get("size") != size or meta.get("seed") != seed:
        print(f"generating the {size} data set into {database} …", flush=True)
        meta = generate.generate(size, database, seed)
    else:
        print(f"reusing {database} (generated {meta['generated_at']})", flush=True)
        generate.migrate(database)  # as a deploy does: later migrations (indexes) apply to old data
    return meta


def fresh_copy(database: str) -> str:
    copy = f"{database}_run"
    with psycopg.connect(common.database_url("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{copy}" TEMPLATE "{database}" STRATEGY FILE_COPY')
    return copy


def drop(database: str) -> None:
    with psycopg.connect(common.database_url("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def argon2_cost(repeat: int = 10) -> float:
    """One verification with the portal's production parameters, timed in this process."""
    from portal import create_app
    from portal.accounts import passwords

    app = create_app({"PORTAL_ENV": "production", "SECRET_KEY": common.SECRET_KEY,
                      "PUBLIC_BASE_URL": common.PUBLIC_BASE_URL, **common.LEGAL,
                      "FIELD_ENCRYPTION_KEY": common.FIELD_ENCRYPTION_KEY,
                      "SQLALCHEMY_DATABASE_URI": common.database_url("postgres")})
    with app.app_context():
        stored = passwords.hash_password(common.PASSWORD)
        passwords.verify_password(stored, common.PASSWORD)
        timings = []
        for _ in range(repeat):
            started = time.perf_counter()
            assert passwords.verify_password(stored, common.PASSWORD)
            timings.append(time.perf_counter() - started)
    return statistics.median(timings) * 1000


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "unknown")
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))
    with psycopg.connect(common.database_url("postgres")) as conn:
        postgres = conn.execute("SELECT version()").fetchone()[0].split(" on ")[0]
        settings = ", ".join(f"{name} {conn.execute(f'SHOW {name}').fetchone()[0]}"
                             for name in ("shared_buffers", "work_mem", "effective_cache_size"))
    redis_version = redis.Redis.from_url(common.REDIS_URL).info("server")["redis_version"]
    return {"cpu": cpu, "nproc": os.cpu_count(), "memory_gb": mem_kb / 1024 / 1024,
            "postgres": f"{postgres} ({settings})",
            "redis": redis_version, "python": platform.python_version()}


def measure_scaling(size: str) -> dict | None:
    """Both data sets, when the large one is there: the small one is generated if missing."""
    if size != "large":
        return None
    ensure_data("small", False, 1)
    runs = scaling.measure([common.database_name("small"), common.database_name("large")], explain=True)
    small, large = runs
    ratios = {title: large["pages"][title]["median_ms"] / small["pages"][title]["median_ms"] for title in large["pages"]}
    return {"runs": runs, "ratios": ratios, "explain": True, "repeat": scaling.REPEAT}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=sorted(common.SIZES), default="large")
    parser.add_argument("--instances", type=int, choices=(1, 2), default=1)
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1),
                        help="gunicorn sync workers per instance (default: 2 × cores)")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per page, after the warm-up")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--roles", default="patient,doctor,cns", help="whose pages to run (a quick look at one role)")
    parser.add_argument("--regenerate", action="store_true", help="generate the data set even if it exists")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=common.BENCH, help="folder for RESULTS.md and results.svg")
    args = parser.parse_args(argv)
    command = "bench/run.sh " + shlex.join(argv if argv is not None else sys.argv[1:])
    started = time.monotonic()

    meta = ensure_data(args.size, args.regenerate, args.seed)
    served = fresh_copy(common.database_name(args.size))
    redis.Redis.from_url(common.REDIS_URL).flushdb()  # the bench's own Redis database: yesterday's counters go
    env = common.portal_env(served)
    servers = [start(f"portal-{i + 1}", "app:app", env, args.workers) for i in range(args.instances)]
    # As many workers in all; the realistic floor reads the same database the portal serves.
    floor_env = {"FLOOR_DATABASE_URL": common.database_url(served), "FLOOR_SECRET_KEY": secrets.token_hex(32)}
    servers.append(start("floor", "bench.floor:app", floor_env, args.workers * args.instances))
    try:
        for server in servers:
            try:
                server.wait_ready()
            except RuntimeError as failed:
                raise SystemExit(str(failed)) from failed
        print(f"serving {served} on {', '.join(s.url for s in servers[:-1])}; floor on {servers[-1].url}", flush=True)
        options = load.Options([s.url for s in servers[:-1]], servers[-1].url, served, args.concurrency,
                               args.duration, args.warmup, tuple(args.roles.split(",")))
        result = asyncio.run(load.drive(options))
    finally:
        for server in servers:
            server.stop()
    drop(served)
    print("measuring argon2 and the two pages that must not grow with the data …", flush=True)
    run = {
        "command": command,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "workers": args.workers,
        "instances": args.instances,
        "data": {"size": meta["size"], "rows": meta["rows"], "seconds": meta["seconds"]},
        "load": result,
        "argon2_ms": argon2_cost(),
        "argon2_repeat": 10,
        "scaling": measure_scaling(args.size),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (LOGS / "last-run.json").write_text(json.dumps(run, indent=1, default=str))
    report.write(run, args.out)
    print(f"wrote {args.out / 'RESULTS.md'} and results.svg in {time.monotonic() - started:.0f} s", flush=True)


if __name__ == "__main__":
    main()
