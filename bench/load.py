"""The load driver: signs virtual users in through the real forms, then runs one phase per
page with `concurrency` users at once, and measures the floor the same way.

    .venv/bin/python -m bench.load --portal http://127.0.0.1:8001 --floor http://127.0.0.1:8100 \\
        --database portal_bench_small --duration 5 --out /tmp/load.json

Loopback only: it refuses any other host. Each phase stops by itself after `duration`
seconds (after a short warm-up that is not recorded), or when its users run out of work
(invoices to share, claims to decide).
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import re
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from urllib.parse import urljoin, urlsplit

from bench import common, scenarios, targets, wire
from bench.client import Authenticator, Recorder, Sample, User

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
FLOOR_PAGE = "floor: bare Flask + Jinja"
SIGNED_FLOOR_PAGE = "floor: signed session + one SELECT"
# Each floor is measured at two page sizes that bracket the portal's HTML pages (5.4 to 20 KB):
# a floor costs more per request the more rows it writes, so each page is compared with the
# floor at its own size (bench/report.py draws the line through the two).
FLOOR_SIZES = (5_000, 20_000)


def floor_title(kind: str, size: int) -> str:
    return f"{kind}, {size:,} bytes"


@dataclass
class PhaseResult:
    title: str
    role: str
    seconds: float
    pages: list[str]
    requests: int
    driver_cpu: float  # the driver's own CPU time over the phase's wall time (1.0 = one core)


@dataclass
class Options:
    portals: list[str]
    floor: str
    database: str
    concurrency: int = 8
    duration: float = 20.0
    warmup: float = 2.0
    roles: tuple[str, ...] = ("patient", "doctor", "cns")


def _loopback(url: str) -> str:
    host = urlsplit(url).hostname
    if host not in LOOPBACK:
        raise SystemExit(f"refusing to load {url}: the benchmark stays on the loopback interface")
    return url.rstrip("/")


async def run_phase(phase_title: str, role: str, users: list[User], step, ctx, opts: Options,
                    recorder: Recorder) -> PhaseResult:
    recorder.recording = False
    recorder.phase += 1
    before = len(recorder.samples)
    began, cpu_began = time.perf_counter(), time.process_time()
    stop_at = began + opts.warmup + opts.duration

    async def loop(user: User) -> None:
        i = 0
        while time.perf_counter() < stop_at:
            if not await step(user, ctx, i):
                return
            i += 1

    async def start_recording() -> float:
        await asyncio.sleep(opts.warmup)
        recorder.recording = True
        return time.perf_counter()

    recording_task = asyncio.create_task(start_recording())
    await asyncio.gather(*(loop(user) for user in users))
    ended = time.perf_counter()
    if recording_task.done():
        recorded_from = recording_task.result()
    else:  # the users ran out of work during the warm-up: keep what they did
        recording_task.cancel()
        recorded_from = began
        recorder.recording = True
    recorder.recording = False
    fresh = recorder.samples[before:]
    pages = list(dict.fromkeys(sample.page for sample in fresh))
    cpu = (time.process_time() - cpu_began) / max(ended - began, 1e-6)
    return PhaseResult(phase_title, role, max(ended - recorded_from, 1e-6), pages, len(fresh), round(cpu, 2))


async def sign_in(role: str, opts: Options, recorder: Recorder, authenticator: Authenticator) -> list[User]:
    users = [User(role, i, opts.portals, recorder, authenticator) for i in range(opts.concurrency)]
    recorder.recording, phase, recorder.phase = True, recorder.phase, -1
    # A few at a time, like people arriving: each sign-in costs one argon2 verification.
    semaphore = asyncio.Semaphore(4)

    async def one(user: User) -> None:
        async with semaphore:
            await user.sign_in()

    await asyncio.gather(*(one(user) for user in users))
    recorder.recording, recorder.phase = False, phase
    return users


async def first_visit(base: str) -> dict:
    """A browser's first visit to the sign-in page: the page and every asset it names, as
    transferred (compressed, headers included), and any URL on another host."""
    headers = {"Accept-Encoding": wire.ACCEPT_ENCODING, "Sec-Fetch-Site": "none", "X-Forwarded-Proto": "https",
               "X-Forwarded-For": "10.9.0.1", "User-Agent": "portal-bench/first-visit"}
    page = await wire.fetch(base + "/login", headers=headers)
    page_bytes, page_encoding = wire.as_proxy_sends(page)
    total = page_bytes + wire.header_bytes(page)
    refs = set(re.findall(r'<(?:link|script|img)\b[^>]*?(?:href|src)="([^"]+)"', page.text))
    seen, foreign, assets = set(), set(), []
    while refs:
        url = urljoin(base + "/login", html.unescape(refs.pop()))
        if urlsplit(url).netloc != urlsplit(base).netloc:
            foreign.add(url)
            continue
        if url in seen:
            continue
        seen.add(url)
        asset = await wire.fetch(url, headers={**headers, "Sec-Fetch-Site": "same-origin"})
        total += asset.wire_bytes + wire.header_bytes(asset)
        assets.append({"url": urlsplit(url).path, "status": asset.status, "bytes": asset.wire_bytes,
                       "encoding": asset.header("content-encoding"), "cache": asset.header("cache-control")})
        if "css" in asset.header("content-type"):
            refs.update(re.findall(r"url\(['\"]?([^'\")]+)['\"]?\)", asset.text))
    return {"page_bytes": page_bytes, "page_encoding": page_encoding,
            "total_bytes": total, "assets": assets, "foreign": sorted(foreign)}


async def drive(opts: Options) -> dict:
    opts.portals = [_loopback(url) for url in opts.portals]
    opts.floor = _loopback(opts.floor)
    recorder, authenticator = Recorder(), Authenticator()
    url = common.database_url(opts.database)
    ctx = scenarios.Context()
    phases: list[PhaseResult] = []
    visit = await first_visit(opts.portals[0])
    for role in opts.roles:
        if role == "patient":
            ctx.patients = targets.patients(url, opts.concurrency)
        elif role == "cns":
            ctx.cns = targets.cns(url, opts.concurrency)
        phases += await _role_phases(role, opts, ctx, recorder, authenticator)
        # The floors after each role: the machine's state drifts during a run, and the mean of
        # these is what every page is compared with.
        for size in FLOOR_SIZES:
            print(f"  floors at {size:,} bytes …", file=sys.stderr, flush=True)
            phases.append(await _floor(opts, ctx, recorder, authenticator, size))
            phases.append(await _signed_floor(opts, ctx, recorder, authenticator, size))
    return {
        "options": {**asdict(opts), "roles": list(opts.roles)},
        "floor_sizes": list(FLOOR_SIZES),
        "floor_rps": {title: [round(p.requests / p.seconds, 1) for p in phases if p.title == title]
                      for title in dict.fromkeys(p.title for p in phases if p.role == "floor")},
        "first_visit": visit,
        "queue_length": ctx.cns.queue_length if ctx.cns else None,
        "phases": [asdict(p) for p in phases],
        "pages": summarise(recorder.samples, phases),
    }


async def _role_phases(role: str, opts: Options, ctx, recorder: Recorder,
                       authenticator: Authenticator) -> list[PhaseResult]:
    """The role's users signed in, then one phase per page of the role."""
    users = await sign_in(role, opts, recorder, authenticator)
    done = []
    try:
        for phase in scenarios.PHASES[role]:
            print(f"  {phase.title} …", file=sys.stderr, flush=True)
            if phase.prepare:
                await asyncio.gather(*(phase.prepare(user, ctx) for user in users))
            done.append(await run_phase(phase.title, role, users, phase.step, ctx, opts, recorder))
    finally:
        await asyncio.gather(*(user.close() for user in users))
    return done


async def _floor(opts: Options, ctx, recorder: Recorder, authenticator: Authenticator, size: int) -> PhaseResult:
    users = [User("floor", i, [opts.floor], recorder, authenticator) for i in range(opts.concurrency)]

    async def step(user: User, _ctx, _i: int) -> bool:
        await user.request(title, "GET", f"/?bytes={size}")
        return True

    title = floor_title(FLOOR_PAGE, size)
    try:
        return await run_phase(title, "floor", users, step, ctx, opts, recorder)
    finally:
        await asyncio.gather(*(user.close() for user in users))


async def _signed_floor(opts: Options, ctx, recorder: Recorder, authenticator: Authenticator,
                        size: int) -> PhaseResult:
    """The realistic floor: each user holds a signed session for its own account row."""
    users = [User("floor", i, [opts.floor], recorder, authenticator) for i in range(opts.concurrency)]
    for user in users:
        await user.request(None, "GET", f"/session?account={user.index + 1}", expect=204)

    async def step(user: User, _ctx, _i: int) -> bool:
        await user.request(title, "GET", f"/signed?bytes={size}")
        return True

    title = floor_title(SIGNED_FLOOR_PAGE, size)
    try:
        return await run_phase(title, "floor", users, step, ctx, opts, recorder)
    finally:
        await asyncio.gather(*(user.close() for user in users))


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]


def summarise(samples: list[Sample], phases: list[PhaseResult]) -> list[dict]:
    """Per page: latency percentiles, throughput, bytes and queries.

    Throughput: a phase with one page is measured directly (requests / seconds). When a phase
    alternates pages (confirm then submit, take up then accept), each page is given the share of
    the phase's time its own requests took, so its figure means "requests per second if the
    clients asked for this page alone". The floor, measured in several phases, adds them up."""
    by_page: dict[str, list[Sample]] = {}
    busy: dict[int, float] = {}
    # Pages in the order they ran; within a phase, the GET before the POST, take-up before accept
    # (recording starts after the warm-up, which may fall between the two requests of a step).
    ordered = sorted(samples, key=lambda s: (s.phase, s.phase >= 0 and "POST" in s.page, "accept" in s.page))
    for sample in ordered:
        by_page.setdefault(sample.page, []).append(sample)
        busy[sample.phase] = busy.get(sample.phase, 0.0) + sample.seconds
    return [_page_row(page, found, phases, busy) for page, found in by_page.items()]


def _page_row(page: str, found: list[Sample], phases: list[PhaseResult], busy: dict[int, float]) -> dict:
    latencies = sorted(s.seconds for s in found)
    spent: dict[int, float] = {}
    for sample in found:
        spent[sample.phase] = spent.get(sample.phase, 0.0) + sample.seconds
    time_on_page = _time_on_page(spent, phases, busy)
    queries = [s.queries for s in found if s.queries is not None]
    return {
        "page": page,
        "phase": ", ".join(dict.fromkeys(phases[i].title for i in spent if i >= 0)) or "sign-in",
        "requests": len(found),
        "errors": sum(not s.ok for s in found),
        "statuses": sorted({s.status for s in found}),
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p95_ms": percentile(latencies, 0.95) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "mean_ms": statistics.fmean(latencies) * 1000,
        "rps": len(found) / time_on_page if time_on_page else None,
        "wire_bytes": int(statistics.median(s.wire_bytes for s in found)),
        "body_bytes": int(statistics.median(s.body_bytes for s in found)),
        "queries_median": statistics.median(queries) if queries else None,
        "queries_max": max(queries) if queries else None,
    }


def _time_on_page(spent: dict[int, float], phases: list[PhaseResult], busy: dict[int, float]) -> float:
    """Each phase's seconds, in the share this page's requests took of the phase's busy time."""
    return sum(phases[i].seconds * spent[i] / busy[i] for i in spent if i >= 0 and busy[i])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--portal", action="append", required=True, help="base URL; repeat for several instances")
    parser.add_argument("--floor", required=True)
    parser.add_argument("--database", required=True, help="the database the portal serves (for the targets)")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per phase, after the warm-up")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--roles", default="patient,doctor,cns")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    if not 1 <= args.concurrency <= common.BENCH_USERS:
        parser.error(f"--concurrency must be between 1 and {common.BENCH_USERS} (one account per virtual user)")
    opts = Options(args.portal, args.floor, args.database, args.concurrency, args.duration, args.warmup,
                   tuple(args.roles.split(",")))
    result = asyncio.run(drive(opts))
    with open(args.out, "w") as out:
        json.dump(result, out, indent=1)
    for row in result["pages"]:
        print(f"{row['page']:45} n={row['requests']:5} err={row['errors']:3} p50={row['p50_ms']:7.1f} "
              f"p95={row['p95_ms']:7.1f} rps={row['rps'] or 0:7.1f} q={row['queries_max']}")


if __name__ == "__main__":
    main()
