"""The floor: bare Flask + Jinja rendering a page of a given size, with no database, no
session and no i18n. Served by gunicorn with the portal's settings; each portal page's
throughput is reported as a share of this one's.

    gunicorn bench.floor:app --workers 4 --bind 127.0.0.1:8100
    GET /?bytes=24000   → an HTML page of about 24,000 bytes (rows of a table, like a list page)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask import Flask, request

app = Flask(__name__)

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
    wanted = request.args.get("bytes", "20000")
    size = min(int(wanted), 2_000_000) if wanted.isdigit() else 20_000
    count = max(0, (size - _SKELETON) * 100 // _ROW_BYTES)
    return PAGE.render(title="Invoices", rows=rows(count))


@app.get("/healthz")
def health():
    return {"floor": "ok"}
