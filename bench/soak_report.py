"""bench/soak-results.json and bench/SOAK.md from a load or soak run (bench/soak.py).

The JSON keeps the last run of each kind ("load", "soak"); SOAK.md is drawn from both, so
running one kind again keeps the other's figures.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from bench.load import percentile

RESULTS = "soak-results.json"


def _ms(values: list[float], fraction: float) -> float:
    return round(percentile(values, fraction) * 1000, 1)


def _memory(memory: list, warmup_seconds: float) -> dict:
    """Each worker's RSS after the warm-up and at the end; a worker that changed pid restarted."""
    if not memory:
        return {}
    warm = next((sample for sample in memory if sample[0] >= warmup_seconds), memory[-1])
    end = memory[-1]
    seen = {pid for _t, _load, workers in memory for pid in workers}
    return {
        "sample_seconds": [round(t) for t, _load, _workers in memory],
        "load_average": [round(load, 2) for _t, load, _workers in memory],
        "series_kb": {str(pid): [workers.get(pid) for _t, _load, workers in memory] for pid in sorted(seen)},
        "warm_at_s": round(warm[0]), "end_at_s": round(end[0]),
        "workers": [_worker(memory, warm, pid, end_kb) for pid, end_kb in sorted(end[2].items())],
        "total": _total(warm, end),
        "workers_seen": len(seen), "workers_at_end": len(end[2]),
    }


def _worker(memory: list, warm: list, pid, end_kb: int | None) -> dict:
    """One worker's RSS after the warm-up, at the end and at its largest in between."""
    warm_kb = warm[2].get(pid)
    after = [workers[pid] for t, _load, workers in memory if t >= warm[0] and workers.get(pid)]
    growth = (end_kb - warm_kb) if warm_kb and end_kb else None
    return {"pid": pid, "warm_kb": warm_kb, "end_kb": end_kb, "growth_kb": growth,
            "growth_pct": round(100 * growth / warm_kb, 1) if growth is not None else None,
            "max_kb": max(after) if after else None}


def _total(warm: list, end: list) -> dict:
    """All the workers alive at the end: their RSS after the warm-up and at the end."""
    warm_total = sum(warm[2].get(pid) or 0 for pid in end[2])
    end_total = sum(kb or 0 for kb in end[2].values())
    return {"warm_kb": warm_total, "end_kb": end_total, "growth_kb": end_total - warm_total,
            "growth_pct": round(100 * (end_total - warm_total) / warm_total, 1) if warm_total else None}


def summarise(run: dict, plan, *, warmup_minutes: float) -> dict:
    tally, samples = run["tally"], run["samples"]
    latencies = sorted(sample.seconds for sample in samples)
    by_page: dict[str, list[float]] = {}
    for sample in samples:
        by_page.setdefault(sample.page, []).append(sample.seconds)
    pages = [{"page": page, "requests": len(found), "p50_ms": _ms(sorted(found), 0.5),
              "p95_ms": _ms(sorted(found), 0.95), "max_ms": round(max(found) * 1000, 1)}
             for page, found in sorted(by_page.items())]
    errors = {kind: tally.errors.get(kind, 0) for kind in ("5xx", "connection", "unexpected 4xx", "unexpected status")}
    return {
        "users": plan.users, "minutes": plan.minutes, "think_s": plan.think, "rate": plan.rate,
        "session_minutes": plan.session_minutes, "warmup_minutes": warmup_minutes,
        "seconds": round(run["seconds"], 1), "requests": tally.requests, "answered": len(samples),
        "requests_per_s": round(tally.requests / run["seconds"], 1),
        "errors": sum(tally.errors.values()), "errors_by_kind": errors, "error_examples": tally.examples,
        "idle_locks_met": tally.locks, "sign_ins": tally.sign_ins, "actions": dict(tally.actions.most_common()),
        "latency_ms": {"p50": _ms(latencies, 0.5), "p95": _ms(latencies, 0.95), "p99": _ms(latencies, 0.99),
                       "max": round(latencies[-1] * 1000, 1) if latencies else None},
        "pages": pages, "claims_left_undecided": run["queue_left"], "driver_cpu": round(run["driver_cpu"], 2),
        "cores": os.cpu_count(), "memory": _memory(run["memory"], warmup_minutes * 60),
    }


def headline(result: dict) -> str:
    memory = result["memory"].get("total", {})
    return (f"{result['mode']}: {result['requests']} requests, {result['errors']} errors "
            f"({', '.join(f'{k} {v}' for k, v in result['errors_by_kind'].items())}), "
            f"p50 {result['latency_ms']['p50']} ms, p95 {result['latency_ms']['p95']} ms; workers' memory "
            f"{memory.get('warm_kb', 0) / 1024:.1f} → {memory.get('end_kb', 0) / 1024:.1f} MB")


def _mb(kb: int | None) -> str:
    return "–" if kb is None else f"{kb / 1024:.1f}"


def _section(result: dict) -> list[str]:
    kind = result["mode"]
    if kind == "load":
        title = f"## Load: {result['users']} users for {result['minutes']:g} minutes"
        pace = f"each user thinks 0.5–{2 * result['think_s'] - 0.5:g} s between actions"
    else:
        title = f"## Soak: {result['rate']:g} requests/s for {result['minutes']:g} minutes"
        pace = f"{result['users']} users paced together to {result['rate']:g} requests/s"
    e = result["errors_by_kind"]
    lat = result["latency_ms"]
    loads = result["memory"].get("load_average", [])
    lines = [
        title, "",
        f"`{result['command']}` — {result['date']}, {result['cores']} cores, {result['workers']} gunicorn sync "
        f"workers, production configuration (PostgreSQL `{result['database']}`, Redis), {pace}; every user signs "
        f"out and in again about every {result['session_minutes']:g} minutes. The driver used "
        f"{result['driver_cpu']:.0%} of a core; load average {min(loads, default=0):.1f}–{max(loads, default=0):.1f} "
        "during the run (other work shared the machine, so latencies are pessimistic).", "",
        "| requests | errors | 5xx | connection errors | unexpected 4xx | other unexpected | req/s | p50 | p95 | p99 |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {result['requests']:,} | **{result['errors']}** | {e['5xx']} | {e['connection']} | {e['unexpected 4xx']} | "
        f"{e['unexpected status']} | {result['requests_per_s']} | {lat['p50']} ms | {lat['p95']} ms | {lat['p99']} ms |",
        "",
        f"Sign-ins (password and TOTP): {result['sign_ins']}; idle locks met and unlocked: {result['idle_locks_met']}; "
        "actions: " + ", ".join(f"{name} {count}" for name, count in result["actions"].items()) + ".",
    ]
    if result["error_examples"]:
        lines += ["", "Errors (first ones):", ""] + [f"- `{example}`" for example in result["error_examples"]]
    memory = result["memory"]
    if memory:
        total = memory["total"]
        lines += [
            "", f"Workers' resident memory (VmRSS, sampled every 30 s) after the warm-up ({memory['warm_at_s']} s) "
            f"and at the end ({memory['end_at_s']} s); {memory['workers_seen']} worker processes seen, "
            f"{memory['workers_at_end']} at the end:", "",
            "| worker pid | after warm-up MB | at the end MB | growth MB | growth % | highest after warm-up MB |",
            "|---:|---:|---:|---:|---:|---:|",
        ]
        for row in memory["workers"]:
            lines.append(f"| {row['pid']} | {_mb(row['warm_kb'])} | {_mb(row['end_kb'])} | {_mb(row['growth_kb'])} | "
                         f"{row['growth_pct'] if row['growth_pct'] is not None else '–'} | {_mb(row['max_kb'])} |")
        lines.append(f"| all | {_mb(total['warm_kb'])} | {_mb(total['end_kb'])} | {_mb(total['growth_kb'])} | "
                     f"{total['growth_pct']} | |")
    lines += ["", "<details><summary>Per page</summary>", "",
              "| page | requests | p50 ms | p95 ms | max ms |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {p['page']} | {p['requests']} | {p['p50_ms']} | {p['p95_ms']} | {p['max_ms']} |" for p in result["pages"]]
    lines += ["", "</details>", ""]
    return lines


def write(result: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    path = out / RESULTS
    runs = json.loads(path.read_text()) if path.exists() else {}
    runs[result["mode"]] = result
    path.write_text(json.dumps(runs, indent=1) + "\n")
    lines = ["# Load and soak", "",
             "Written by `bench/soak.py` (see bench/README.md, \"Load and soak\"); every figure, and the memory "
             f"samples, are in `bench/{RESULTS}`. An error is any 5xx, a connection error, or any status other than "
             "the one the step expects (a patient meeting the idle lock and unlocking is counted apart).", ""]
    for kind in ("load", "soak"):
        if kind in runs:
            lines += _section(runs[kind])
    (out / "SOAK.md").write_text("\n".join(lines))
