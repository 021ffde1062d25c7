"""The two floors: Flask + Jinja rendering a page of a given size, served by gunicorn with the
portal's settings; each portal page's throughput is reported as a share of both.

- the bare floor (`/`): no database, no session, no i18n: the physical limit of the stack;
- the realistic floor (`/signed`): what no signed-in page can avoid: it reads a signed session
  cookie and runs one SELECT by primary key on the portal's own PostgreSQL database
  (`FLOOR_DATABASE_URL`), then renders the same page.

    FLOOR_SECRET_KEY=$(openssl rand -hex 32) FLOOR_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/portal_bench_served \
        gunicorn bench.floor:app --workers 4 --bind 127.0.0.1:8100
    GET /?bytes=24000         → an HTML page of about 24,000 bytes (rows of a table, like a list page)
    GET /session?account=42   → sets the signed session cookie for account 42
    GET /signed?bytes=24000   → the same page, after the cookie and the SELECT (403 without a session)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, timedelta

import psycopg
from flask import Flask, abort, request, session

app = Flask(__name__)
# Every worker must sign with the same key: the driver passes one (bench/run.py).
app.secret_key = os.environ["FLOOR_SECRET_KEY"]
_connection: psycopg.Connection | None = None

PAGE = app.jinja_env.from_string("""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><header><nav><a href="/">Home</a> <a href="/invoices">Invoices</a> <a href="/claims">Claims</a></nav></header>
<main><h1>{{ title }}</h1>
<table><thead><tr><th>Date</th><th>Number</th><th>Doctor</th><th>Amount</th><th>State</th></tr></thead><tbody>
{% for row in rows %}<tr id="row-{{ row.id }}"><td>{{ row.day.isoformat() }}</td><td><a href="/invoices/{{ row.id }}">{{ row.number }}</a></td><td>{{ row.doctor }}</td><td>{{ "%.2f"|format(row.cents / 100) }} €</td><td><span class="tag">{{ row.state }}</span></td></tr>
{% endfor %}</tbody></table></main>
<footer><p>Floor page for the benchmark: {{ rows|length }} rows.</p></footer></body></html>
""")


@dataclass(frozen=True)
class Row:
    id: int
    day: date
    number: str
    doctor: str
    cents: int
    state: str


def rows(count: int) -> list[Row]:
    start = date(2025, 1, 1)
    return [
        Row(i, start + timedelta(days=i % 365), f"2025-{i:06d}", f"Dr Claire Weber & Partners {i % 17}",
            1000 + i * 37 % 9000, ("issued", "shared", "accepted")[i % 3])
        for i in range(count)
    ]


_ROW_BYTES = len(PAGE.render(title="Invoices", rows=rows(101))) - len(PAGE.render(title="Invoices", rows=rows(1)))
_SKELETON = len(PAGE.render(title="Invoices", rows=rows(0)))


@app.get("/")
def page():
    count = max(0, (_size() - _SKELETON) * 100 // _ROW_BYTES)
    return PAGE.render(title="Invoices", rows=rows(count))


def _size() -> int:
    wanted = request.args.get("bytes", "20000")
    return min(int(wanted), 2_000_000) if wanted.isdigit() else 20_000


def _database() -> psycopg.Connection:
    """One connection per worker process, opened on first use (a sync worker serves one request
    at a time, as the portal's pooled connection does)."""
    global _connection
    if _connection is None or _connection.closed:
        _connection = psycopg.connect(os.environ["FLOOR_DATABASE_URL"], autocommit=True)
    return _connection


@app.get("/session")
def start_session():
    session["account"] = request.args.get("account", type=int) or 1
    return "", 204


@app.get("/signed")
def signed_page():
    account = session.get("account")
    if account is None:
        abort(403)
    row = _database().execute("SELECT id, login FROM account WHERE id = %s", (account,)).fetchone()
    if row is None:
        abort(403)
    count = max(0, (_size() - _SKELETON) * 100 // _ROW_BYTES)
    return PAGE.render(title=f"Invoices of {row[1]}", rows=rows(count))


@app.get("/healthz")
def health():
    return {"floor": "ok"}
