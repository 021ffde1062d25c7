"""Messages per second one worker delivers to a local SMTP server.

    .venv/bin/python -m bench.messages [--count 1000] [--database-url postgresql://…/db]

Writes N e-mails to the outbox of a fresh database (a temporary SQLite file unless a PostgreSQL
URL is given; that database is emptied), their N delivery jobs to a queue of their own in the
local Redis, then times one `flask --app app worker --burst` process that delivers them all to an
aiosmtpd server on this machine. The worker's start (the same command on an empty queue) is timed
apart and taken off. The figure goes into bench/RESULTS.md, in the section between the markers.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parent.parent
REDIS = "redis://127.0.0.1:6379/0"
START, END = "<!-- messages:start -->", "<!-- messages:end -->"


class Counter:
    def __init__(self):
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        return "250 OK"


def _portal(database_url: str, queue: str, smtp_url: str):
    os.environ.update(DATABASE_URL=database_url, REDIS_URL=REDIS, JOB_QUEUE=queue, SMTP_URL=smtp_url)
    # Imported only now: the portal reads its settings (the instance folder) when first imported.
    from flask_migrate import upgrade

    from portal import create_app

    app = create_app({"PORTAL_ENV": "testing"})
    with app.app_context():
        upgrade()
    return app


def _fill(app, count: int) -> None:
    from portal.core import jobs
    from portal.extensions import db
    from portal.messaging import notify
    from portal.models import OutboxMessage

    with app.app_context():
        db.session.execute(db.delete(OutboxMessage))
        for number in range(count):
            notify.send_email(f"person{number}@example.lu", "A new document is available",
                              "A new document is available in your CNS portal: https://portal.example.lu/patient/")
        db.session.commit()
        assert len(jobs.queue()) == count


def _burst(env: dict) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "flask", "--app", "app", "worker", "--burst"],  # noqa: S603
                   cwd=ROOT, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def _write(section: str) -> None:
    results = ROOT / "bench" / "RESULTS.md"
    text = results.read_text() if results.exists() else "# Benchmark results\n"
    block = f"{START}\n{section}\n{END}"
    if START in text:
        text = re.sub(re.escape(START) + r".*?" + re.escape(END), lambda _m: block, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    results.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--database-url", default=None)
    options = parser.parse_args()
    counter = Counter()
    controller = Controller(counter, hostname="127.0.0.1", port=8025 + secrets.randbelow(1000))
    controller.start()
    folder = Path(tempfile.mkdtemp(prefix="portal-bench-messages-"))
    os.environ["PORTAL_INSTANCE_DIR"] = str(folder / "instance")
    database_url = options.database_url or f"sqlite:///{folder / 'messages.sqlite3'}"
    queue = f"portal-bench-{secrets.token_hex(4)}"
    smtp_url = f"smtp://127.0.0.1:{controller.port}"
    try:
        app = _portal(database_url, queue, smtp_url)
        env = {**os.environ}
        start_only = _burst(env)  # an empty queue: the process start, the app, the connections
        _fill(app, options.count)
        total = _burst(env)
    finally:
        controller.stop()
    assert counter.count == options.count, f"{counter.count} of {options.count} delivered"
    rate = options.count / (total - start_only)
    backend = "PostgreSQL" if database_url.startswith("postgres") else "SQLite"
    section = (
        "## Messages per second (one worker, local SMTP)\n\n"
        f"Written by `python -m bench.messages --count {options.count}` on "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC ({platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"{backend}, Redis at 127.0.0.1).\n\n"
        f"One `flask --app app worker --burst` delivered **{options.count} e-mails in {total:.2f} s**, of which "
        f"{start_only:.2f} s is the worker's start (timed on an empty queue): **{rate:.0f} messages per second** "
        "once running. Each message is one RQ job: claim the row (one UPDATE, commit), render the text and HTML "
        "parts, one SMTP connection and transaction to an aiosmtpd server on the same machine, mark it sent "
        "(one UPDATE, commit). A real mail relay answers more slowly than a local one: run several workers to "
        "deliver in parallel (each message is claimed by exactly one)."
    )
    _write(section)
    print(section)


if __name__ == "__main__":
    main()
