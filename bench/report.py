"""bench/RESULTS.md, bench/EXPLAIN.md and bench/results.svg from one run's measurements."""

from __future__ import annotations

import math
from html import escape
from pathlib import Path

# The targets of issue 19 (they replace issue 8's, which asked for less).
P95_PAGE_MS = 50
P95_PDF_MS = 50
READ_SHARE = 0.50  # of the realistic floor's throughput, for every read page …
LIST_SHARE = 0.35  # … but lists and the queue, which render many rows
FLOOR_SHARE = LIST_SHARE  # the line drawn in results.svg
SCALING = 1.2
QUERY_BUDGET = 6
FIRST_VISIT_BYTES = 60 * 1024
BARE_FLOOR = "floor: bare Flask + Jinja"
SIGNED_FLOOR = "floor: signed session + one SELECT"


def _ms(value: float | None) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.1f}"


def _is_pdf(page: str) -> bool:
    return "PDF" in page


def _is_view(row: dict) -> bool:
    """A list or detail page a person looks at: signed-in GET pages, not PDFs, not sign-in."""
    page = row["page"]
    return not page.startswith(("sign-in", "floor")) and "POST" not in page and not _is_pdf(page)


def _is_list(page: str) -> bool:
    return "list" in page or "queue" in page


def _floor_rows(load: dict, kind: str) -> list[dict]:
    """The floor's rows, one per page size it was measured at, smallest first."""
    return sorted((row for row in load["pages"] if row["page"].startswith(f"{kind}, ") and row["rps"]),
                  key=lambda row: row["body_bytes"])


def floor_rps(load: dict, kind: str, size: int) -> float | None:
    """The floor's throughput for a page of `size` bytes. What a request costs the machine (the
    inverse of throughput) grows in a straight line with the page's size; the line goes through
    the smallest and the largest size measured."""
    rows = _floor_rows(load, kind)
    if len(rows) < 2:
        return None
    (x0, t0), (x1, t1) = ((row["body_bytes"], 1 / row["rps"]) for row in (rows[0], rows[-1]))
    return 1 / (t0 + (t1 - t0) * (size - x0) / (x1 - x0))


def share(load: dict, row: dict, kind: str = SIGNED_FLOOR) -> float | None:
    """The page's throughput as a share of the floor's for a page of the same size."""
    floor = floor_rps(load, kind, row["body_bytes"]) if row["rps"] else None
    return row["rps"] / floor if floor else None


def verdicts(run: dict) -> list[tuple[str, str, str]]:
    pages = [row for row in run["load"]["pages"] if not row["page"].startswith("floor")]
    out = _latency_verdicts(pages)
    if _floor_rows(run["load"], SIGNED_FLOOR):
        out.append(_floor_verdict(run["load"], pages))
    out.append(_scaling_verdict(run.get("scaling")))
    out.append(_query_verdict(pages))
    out.append(_first_visit_verdict(run["load"]["first_visit"]))
    out.append(("sign-in costs one argon2 verification", "measured",
                f"one verification: {run['argon2_ms']:.0f} ms (median of {run['argon2_repeat']}, RFC 9106 low-memory "
                f"profile: 64 MiB, 3 passes, 4 lanes)"))
    return out


def _latency_verdicts(pages: list[dict]) -> list[tuple[str, str, str]]:
    slow = [f"{r['page']} ({_ms(r['p95_ms'])} ms)" for r in pages if _is_view(r) and r["p95_ms"] > P95_PAGE_MS]
    slow_pdf = [f"{r['page']} ({_ms(r['p95_ms'])} ms)" for r in pages if _is_pdf(r["page"]) and r["p95_ms"] > P95_PDF_MS]
    return [
        (f"p95 ≤ {P95_PAGE_MS} ms for every list and detail page at 8 clients",
         "met" if not slow else "not met", "; ".join(slow) or "all within"),
        (f"PDFs ≤ {P95_PDF_MS} ms (p95)", "met" if not slow_pdf else "not met", "; ".join(slow_pdf) or "all within"),
    ]


def _floor_verdict(load: dict, pages: list[dict]) -> tuple[str, str, str]:
    """Read pages (signed-in GETs, not PDFs) against the realistic floor at their own size."""
    shares = [(r["page"], share(load, r)) for r in pages if _is_view(r) and r["rps"]]
    low = [f"{page} ({found:.0%})" for page, found in shares
           if found < (LIST_SHARE if _is_list(page) else READ_SHARE)]
    floors = ", ".join(f"{row['rps']:.0f} req/s at {row['body_bytes']:,} bytes" for row in _floor_rows(load, SIGNED_FLOOR))
    return (f"every read page ≥ {READ_SHARE:.0%} of the realistic floor's throughput at its size, lists and the "
            f"queue ≥ {LIST_SHARE:.0%}", "met" if not low else "not met",
            "; ".join(low) or f"realistic floor {floors}")


def _scaling_verdict(scaling: dict | None) -> tuple[str, str, str]:
    target = f"every queue sort and filter and the patient's invoice list ≤ {SCALING}× their time at 10,000 rows"
    if not (scaling and scaling.get("ratios")):
        return (target, "not measured", "needs both data sets: run with --size large")
    over = [f"{title} ×{ratio:.2f}" for title, ratio in scaling["ratios"].items() if ratio > SCALING]
    detail = "; ".join(f"{title} ×{ratio:.2f}" for title, ratio in scaling["ratios"].items())
    return (target, "met" if not over else "not met", detail)


def _query_verdict(pages: list[dict]) -> tuple[str, str, str]:
    counted = [r for r in pages if r["queries_max"] is not None and not r["page"].startswith("sign-in")]
    over = [f"{r['page']} ({r['queries_max']})" for r in counted if r["queries_max"] > QUERY_BUDGET
            and "POST" not in r["page"]]
    actions = [f"{r['page']} {r['queries_max']}" for r in counted if "POST" in r["page"]]
    return (f"at most {QUERY_BUDGET} SQL queries per page (X-Query-Count, largest seen)",
            "met" if counted and not over else "not met" if over else "not measured",
            ("; ".join(over) or "every page within") + (f" (form submissions, not pages: {'; '.join(actions)})"
                                                        if actions else ""))


def _first_visit_verdict(visit: dict) -> tuple[str, str, str]:
    small = visit["total_bytes"] <= FIRST_VISIT_BYTES and not visit["foreign"]
    return ("first visit to the sign-in page ≤ 60 KB compressed, no other host", "met" if small else "not met",
            f"{visit['total_bytes'] / 1024:.1f} KB in {1 + len(visit['assets'])} requests; "
            f"other hosts: {', '.join(visit['foreign']) or 'none'}")


def results_md(run: dict) -> str:
    load, data, opts = run["load"], run["data"], run["load"]["options"]
    lines = _setup_md(run)
    lines += _pages_md(load)
    lines += _scaling_md(run.get("scaling"))
    lines += _first_visit_md(load["first_visit"])
    lines += [
        "",
        "## Argon2",
        "",
        f"One argon2id verification with the portal's parameters (RFC 9106 low-memory profile) costs "
        f"**{run['argon2_ms']:.0f} ms** on this machine (median of {run['argon2_repeat']}, measured directly). "
        "Sign-in runs exactly one (unknown logins verify a dummy hash), so POST /login above is that plus a page.",
        "",
        "## Targets of issue 19",
        "",
        "| target | verdict | detail |",
        "|---|---|---|",
    ]
    lines += [f"| {target} | **{verdict}** | {detail} |" for target, verdict, detail in verdicts(run)]
    if data["size"] != "large" or opts["concurrency"] != 8:
        lines += ["", f"These verdicts are indicative only: the targets are set for 1,000,000 invoices and 8 clients; "
                  f"this run used the {data['size']} data set and {opts['concurrency']} clients."]
    lines.append("")
    return "\n".join(lines)


def _setup_md(run: dict) -> list[str]:
    machine, data, opts = run["machine"], run["data"], run["load"]["options"]
    return [
        "# Benchmark results",
        "",
        f"Written by `{run['command']}` on {run['date']}. Timing figures live here, not in tests.",
        "",
        "## Machine and set-up",
        "",
        f"- CPU: {machine['cpu']} — {machine['nproc']} cores (nproc); memory {machine['memory_gb']:.1f} GB",
        f"- {machine['postgres']}; Redis {machine['redis']}; Python {machine['python']}",
        f"- Portal: gunicorn, {run['workers']} sync workers per instance × {run['instances']} instance(s), "
        "production configuration (PORTAL_ENV=production, PostgreSQL, Redis, one trusted proxy played by the driver)",
        f"- Load: {opts['concurrency']} concurrent clients, {opts['duration']:g} s per page after a {opts['warmup']:g} s "
        "warm-up, loopback only; every virtual user signed in through the forms with its own account",
        f"- Data: **{data['size']}** — " + ", ".join(f"{count:,} {table}" for table, count in data["rows"].items()
                                                     if table in ("patient", "doctor", "invoice", "invoice_line",
                                                                  "claim", "statement", "notification",
                                                                  "audit_event")),
        f"  (generated in {data['seconds']:.0f} s)",
        "",
    ]


def _pages_md(load: dict) -> list[str]:
    lines = [
        "## Pages",
        "",
        "Throughput is requests per second with all clients on that page, compared with two floors serving a "
        "page of the same size: × bare is Flask + Jinja alone (no session, no database), × signed is Flask "
        "reading a signed session cookie and running one SELECT by primary key on the same PostgreSQL database, "
        "the least any signed-in page can do. Each floor is measured at "
        + " and ".join(f"{size:,}" for size in load["floor_sizes"])
        + " bytes of HTML; for a page in between, its cost per request is read off the straight line through "
        "the two. Bytes: as transferred / decoded; the workers leave compression to the proxy in front of them, "
        "as in the README's production set-up (COMPRESS_RESPONSES=0), and neither floor compresses. Queries: SQL "
        "statements per request, median / largest (X-Query-Count).",
        "",
        "| page | p50 ms | p95 ms | p99 ms | req/s | × bare | × signed | SQL queries | bytes | requests | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    # Sign-in first, then the pages in the order they ran, the floors last.
    for row in sorted(load["pages"], key=lambda r: (r["page"].startswith("floor"), not r["page"].startswith("sign-in"))):
        lines.append(_page_row(load, row))
    phases = load["phases"]
    floor_cpu = [p["driver_cpu"] for p in phases if p["role"] == "floor"]
    portal_cpu = [p["driver_cpu"] for p in phases if p["role"] != "floor"]
    each = "; ".join(f"{title} {', '.join(f'{v:.0f}' for v in values)}" for title, values in load["floor_rps"].items())
    lines += [
        "",
        "Sign-in rows are the virtual users' own sign-ins (a few requests each), not a throughput phase. "
        f"The floors, measured after each role's pages (req/s): {each}. "
        "The driver shares the machine: it used "
        f"{max(floor_cpu, default=0):.0%} of a core at most while driving the floors, "
        f"{sum(portal_cpu) / max(len(portal_cpu), 1):.0%} on average during the portal's pages.",
        "",
    ]
    return lines


def _page_row(load: dict, row: dict) -> str:
    floor = row["page"].startswith("floor")
    ratios = " | ".join("–" if floor or found is None else f"{found:.2f}"
                        for found in (share(load, row, BARE_FLOOR), share(load, row, SIGNED_FLOOR)))
    queries = "–" if row["queries_max"] is None else f"{row['queries_median']:g} / {row['queries_max']}"
    rps = f"{row['rps']:.1f}" if row["rps"] else "–"
    return (
        f"| {row['page']} | {_ms(row['p50_ms'])} | {_ms(row['p95_ms'])} | {_ms(row['p99_ms'])} | {rps} | {ratios} | "
        f"{queries} | {row['wire_bytes']:,} / {row['body_bytes']:,} | {row['requests']} | {row['errors']} |"
    )


def _scaling_md(scaling: dict | None) -> list[str]:
    lines = ["## Data size: 10,000 against 1,000,000 rows", ""]
    if not (scaling and scaling.get("ratios")):
        return lines + ["Not measured in this run: it needs the large data set (`--size large`).", ""]
    lines += [
        f"The portal's own functions for each page (the queries its view runs), median of {scaling.get('repeat', 30)} "
        "calls on each size, the sizes called in turn, every statement prepared as in a running portal:",
        "",
        "| page | " + " | ".join(f"{m['database']} ({m['rows']['invoices']:,} invoices, {m['rows']['claims']:,} "
                                 "claims) ms" for m in scaling["runs"]) + " | ratio |",
        "|---|" + "---:|" * (len(scaling["runs"]) + 1),
    ]
    for title, ratio in scaling["ratios"].items():
        cells = " | ".join(f"{m['pages'][title]['median_ms']:.2f}" for m in scaling["runs"])
        lines.append(f"| {title} | {cells} | ×{ratio:.2f} |")
    return lines + ["", "Plans at the large size: [EXPLAIN.md](EXPLAIN.md).", ""]


def _first_visit_md(visit: dict) -> list[str]:
    lines = [
        "## First visit to the sign-in page",
        "",
        f"{visit['total_bytes'] / 1024:.1f} KB transferred (headers included) in {1 + len(visit['assets'])} requests; "
        f"the page itself {visit['page_bytes']:,} bytes ({visit['page_encoding'] or 'uncompressed'}); other hosts: "
        f"{', '.join(visit['foreign']) or 'none'}.",
        "",
        "| asset | bytes | encoding | Cache-Control |",
        "|---|---:|---|---|",
    ]
    return lines + [f"| {a['url']} | {a['bytes']:,} | {a['encoding'] or '–'} | {a['cache'] or '–'} |"
                    for a in visit["assets"]]


def explain_md(run: dict) -> str:
    runs = run["scaling"]["runs"]
    largest = next(m for m in reversed(runs) if any("explain" in entry for entry in m["pages"].values()))
    lines = [
        "# Query plans",
        "",
        f"`EXPLAIN (ANALYZE, BUFFERS)` of every statement the pages below run, on `{largest['database']}` "
        f"({largest['rows']['invoices']:,} invoices, {largest['rows']['claims']:,} claims), written by "
        f"`{run['command']}` on {run['date']}.",
        "",
    ]
    for title, entry in largest["pages"].items():
        lines += _plans_md(title, entry.get("explain", []))
    if largest.get("plans"):
        lines += ["# Every order and filter", "",
                  "The queue's other orders and filters, and the invoice lists' filters, each as its page runs it.", ""]
        for title, plans in largest["plans"].items():
            lines += _plans_md(title, plans)
    return "\n".join(lines)


def _plans_md(title: str, plans: list) -> list[str]:
    lines = [f"## {title}", ""]
    for number, (statement, plan) in enumerate(plans, start=1):
        lines += [f"### Statement {number}", "", "```sql", statement.strip(), "```", "", "```", plan, "```", ""]
    return lines


def results_svg(run: dict) -> str:
    """Two panels of horizontal bars: p95 latency against its target, throughput against the realistic floor."""
    pages = [row for row in run["load"]["pages"] if not row["page"].startswith(("sign-in", "floor"))]
    load = run["load"]
    shares = [share(load, row) for row in pages]
    label_w, bar_w, row_h, top = 300, 300, 22, 60
    width = label_w + 2 * bar_w + 80
    height = top + row_h * len(pages) + 50
    max_ms, max_ratio = _axis_ends(pages, shares)
    x1, x2 = label_w, label_w + bar_w + 40
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        'font-family="DejaVu Sans, Arial, sans-serif" font-size="12">',
        f'<title>Benchmark: p95 latency and throughput against the floor ({escape(run["data"]["size"])} data set)</title>',
        f'<rect width="{width}" height="{height}" fill="#fff"/>',
        f'<text x="{x1}" y="22" font-weight="bold">p95 latency (ms)</text>',
        f'<text x="{x1}" y="40" fill="#555">line: {P95_PAGE_MS} ms (pages), {P95_PDF_MS} ms (PDFs); grey: form posts</text>',
        f'<text x="{x2}" y="22" font-weight="bold">throughput ÷ realistic floor</text>',
        f'<text x="{x2}" y="40" fill="#555">line: {FLOOR_SHARE:.0%} (lists); read pages {READ_SHARE:.0%}</text>',
    ]
    for i, (row, found) in enumerate(zip(pages, shares, strict=True)):
        y = top + i * row_h
        out.append(f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end">{escape(row["page"])}</text>')
        if not math.isnan(row["p95_ms"]):
            out += _latency_bar(row, x1, y, bar_w, max_ms, row_h)
        if found is not None:
            out += _throughput_bar(found, x2, y, bar_w, max_ratio, row_h)
    bottom = top + row_h * len(pages)
    tx = x2 + bar_w * FLOOR_SHARE / max_ratio
    out.append(f'<line x1="{tx:.1f}" x2="{tx:.1f}" y1="{top}" y2="{bottom}" stroke="#000" stroke-dasharray="3,2"/>')
    floors = ", ".join(f"{row['rps']:.0f} req/s at {row['body_bytes']:,} bytes" for row in _floor_rows(load, SIGNED_FLOOR))
    if floors:
        out.append(f'<text x="{x2}" y="{bottom + 20}" fill="#555">realistic floor: {floors}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _axis_ends(pages: list[dict], shares: list[float | None]) -> tuple[float, float]:
    """The latency and the throughput ratio at the right end of each panel."""
    max_ms = max([P95_PDF_MS * 1.2] + [r["p95_ms"] for r in pages if not math.isnan(r["p95_ms"])])
    max_ratio = max([1.0] + [found for found in shares if found is not None])
    return max_ms, max_ratio


def _latency_bar(row: dict, x: int, y: int, bar_w: int, max_ms: float, row_h: int) -> list[str]:
    """The row's p95 bar (`bar_w` pixels for `max_ms`) and its target line."""
    # Form submissions have no latency target of their own: grey, without a target line.
    target = P95_PDF_MS if _is_pdf(row["page"]) else P95_PAGE_MS if _is_view(row) else None
    w = bar_w * row["p95_ms"] / max_ms
    colour = "#757575" if target is None else "#2e7d32" if row["p95_ms"] <= target else "#c62828"
    out = [f'<rect x="{x}" y="{y + 4}" width="{w:.1f}" height="{row_h - 8}" fill="{colour}"/>',
           f'<text x="{x + w + 4:.1f}" y="{y + 15}">{row["p95_ms"]:.0f}</text>']
    if target is not None:
        tx = x + bar_w * target / max_ms
        out.append(f'<line x1="{tx:.1f}" x2="{tx:.1f}" y1="{y + 2}" y2="{y + row_h - 2}" stroke="#000" '
                   'stroke-dasharray="3,2"/>')
    return out


def _throughput_bar(ratio: float, x: int, y: int, bar_w: int, max_ratio: float, row_h: int) -> list[str]:
    w = bar_w * ratio / max_ratio
    colour = "#1565c0" if ratio >= FLOOR_SHARE else "#c62828"
    return [f'<rect x="{x}" y="{y + 4}" width="{w:.1f}" height="{row_h - 8}" fill="{colour}"/>',
            f'<text x="{x + w + 4:.1f}" y="{y + 15}">{ratio:.2f}</text>']


# Sections other commands write into RESULTS.md (bench/jobs.py, bench/messages.py): kept when a
# run rewrites the file.
KEPT = (("<!-- worker jobs -->", "<!-- /worker jobs -->"), ("<!-- messages:start -->", "<!-- messages:end -->"))


def _kept_section(path: Path) -> str:
    text = path.read_text() if path.exists() else ""
    return "".join(
        "\n" + start + text.split(start, 1)[1].split(end, 1)[0] + end + "\n"
        for start, end in KEPT if start in text and end in text
    )


def write(run: dict, folder: Path) -> None:
    kept = _kept_section(folder / "RESULTS.md")
    (folder / "RESULTS.md").write_text(results_md(run) + kept)
    (folder / "results.svg").write_text(results_svg(run))
    if run.get("scaling") and run["scaling"].get("explain"):
        (folder / "EXPLAIN.md").write_text(explain_md(run))
