"""Load and soak: the portal under gunicorn in its production configuration (PostgreSQL, Redis,
the small bench data set), used by virtual users of all three roles (see bench/README.md).

    .venv/bin/python -m bench.soak --users 50 --minutes 10                 # load: any error?
    .venv/bin/python -m bench.soak --soak --minutes 30 --rate 20           # soak: memory stable?
    bench/soak.sh                                                          # both, one after the other

Each user signs in through the real forms (the TOTP code computed as a phone does), then does
what its role does (pages, PDFs, shares, new invoices, decisions), and signs out and in again
every few minutes. Every request is checked: a 5xx, a connection error or any status other
than the expected one is an error. Load: each user thinks 0.5-2.5 s between actions. Soak:
the users are paced so that the portal receives a steady --rate requests per second, and each
worker's resident memory (VmRSS) is read every 30 s; memory after the warm-up is compared with
memory at the end. Writes bench/soak-results.json and bench/SOAK.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shlex
import sys
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

if __package__ in (None, ""):  # `python bench/soak.py` works as well as `python -m bench.soak`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402
import redis  # noqa: E402

from bench import common, generate, scenarios, soak_report, targets  # noqa: E402
from bench.client import Authenticator, Recorder, Unexpected, User  # noqa: E402
from bench.server import Gunicorn, rss_kb  # noqa: E402

LOGS = common.BENCH / "out"
SAMPLE_SECONDS = 30
ROLES = {"patient": 0.4, "doctor": 0.3, "cns": 0.3}  # share of the users
ONCE = re.compile(r'name="once"[^>]*value="([0-9a-f]{32})"')
INVOICE_ID = re.compile(r"/doctor/invoices/(\d+)$")


@dataclass
class Tally:
    requests: int = 0
    errors: Counter = field(default_factory=Counter)  # kind -> count
    examples: list[str] = field(default_factory=list)
    locks: int = 0  # a patient met the idle lock and unlocked it (not an error)
    sign_ins: int = 0
    actions: Counter = field(default_factory=Counter)

    def error(self, kind: str, example: str) -> None:
        self.errors[kind] += 1
        if len(self.examples) < 30:
            self.examples.append(f"{kind}: {example}")


class Pacer:
    """Hands out request slots at a fixed rate, shared by every user (the soak's steady load)."""

    def __init__(self, rate: float) -> None:
        self.interval, self.next = 1 / rate, time.monotonic()

    async def wait(self) -> None:
        now = time.monotonic()
        slot = max(self.next, now)  # a late user does not earn a burst
        self.next = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)


class Counted(Unexpected):
    """An unexpected answer, already counted as an error."""


class SoakUser(User):
    """A bench user that counts every request and checks its status."""

    def __init__(self, role: str, account: int, number: int, base: str, recorder: Recorder,
                 authenticator: Authenticator, tally: Tally, pacer: Pacer | None) -> None:
        super().__init__(role, account, [base], recorder, authenticator)
        # An address of its own (the per-address rate limits), even when it shares an account.
        self.headers["X-Forwarded-For"] = f"10.{list(ROLES).index(role) + 5}.{number // 250}.{number % 250 + 1}"
        self.tally, self.pacer, self.number = tally, pacer, number
        self.sign_in_again_at = 0.0

    async def request(self, page: str | None, method: str, path: str, *, expect: int = 200,
                      data: dict | None = None, record_failure: bool = True):
        if self.pacer is not None:
            await self.pacer.wait()
        self.tally.requests += 1
        name = page or f"{method} {re.sub(r'[0-9]+', '<id>', path.split('?')[0])}"
        response = await super().request(name, method, path, expect=expect, data=data, record_failure=False)
        if response.status != expect:
            location = response.header("location")
            if self.role == "patient" and response.status in (302, 303) and "/unlock" in location:
                self.tally.locks += 1
            elif record_failure:
                kind = "5xx" if response.status >= 500 else "unexpected 4xx" if response.status >= 400 else \
                    "unexpected status"
                self.tally.error(kind, f"{self.login} {method} {path} → {response.status} {location}")
            if page is None:
                raise Counted(f"{self.login}: {method} {path} → {response.status} {location}")
        return response

    async def sign_in(self) -> None:
        await super().sign_in()
        self.tally.sign_ins += 1

    async def sign_out(self) -> None:
        await self.request("sign-out: POST /logout", "POST", "/logout", expect=303, data={"csrf_token": self.csrf})
        self.cookies.values.clear()


# --- What each role does, besides the benchmark's pages (bench/scenarios.py) --------------------

@dataclass
class Context(scenarios.Context):
    url: str = ""
    doctor_invoices: dict[int, list[int]] = field(default_factory=dict)  # account index -> its invoices
    waiting: deque = field(default_factory=deque)  # (claim id, version, cents) nobody decided yet
    dealt: set = field(default_factory=set)


async def patient_claims(user: SoakUser, ctx: Context, i: int) -> bool:
    await scenarios._get(user, "patient: claim list", "/patient/claims")
    return True


async def patient_claim(user: SoakUser, ctx: Context, i: int) -> bool:
    claim = scenarios._pick(ctx.patients[user.index].statements, i, user)
    if claim is None:
        return False
    await scenarios._get(user, "patient: claim page", f"/patient/claims/{claim}")
    return True


async def polls(user: SoakUser, ctx: Context, i: int) -> bool:
    """What an open page asks in the background: the session status, and a patient's notices."""
    await user.request("poll: session status", "GET", "/session/status")
    if user.role == "patient":
        await user.request("poll: notice count", "GET", "/patient/notifications/count")
    return True


async def doctor_invoice(user: SoakUser, ctx: Context, i: int) -> bool:
    invoice = scenarios._pick(ctx.doctor_invoices[user.index], i, user)
    await user.request("doctor: invoice page", "GET", f"/doctor/invoices/{invoice}")
    return True


async def doctor_pdf(user: SoakUser, ctx: Context, i: int) -> bool:
    invoice = scenarios._pick(ctx.doctor_invoices[user.index], i, user)
    await user.request("doctor: invoice PDF", "GET", f"/doctor/invoices/{invoice}.pdf")
    return True


async def issue_invoice(user: SoakUser, ctx: Context, i: int) -> bool:
    """A new invoice for a bench patient, paid at the practice: that patient can share it."""
    form = await user.request("doctor: new invoice, form (GET)", "GET", "/doctor/invoices/new")
    user.remember_csrf(form)
    once = ONCE.search(form.text)
    patient = random.randrange(common.BENCH_USERS)  # noqa: S311 - load mix, not a secret
    response = await user.request("doctor: new invoice, issue (POST)", "POST", "/doctor/invoices/new", expect=303, data={
        "csrf_token": user.csrf, "once": once.group(1) if once else "", "matricule": common.patient_login(patient),
        "service_date": (date.today() - timedelta(days=random.randrange(1, 30))).isoformat(),  # noqa: S311
        "lines-0-code": "C1", "lines-0-quantity": "1", "paid_on_site": "yes", "payer_is_patient": "yes",
        "submit": "Issue the invoice",
    })
    issued = INVOICE_ID.search(response.header("location"))
    if issued:
        ctx.patients[patient].shareable.append(int(issued.group(1)))
        ctx.doctor_invoices[user.index].append(int(issued.group(1)))
    return True


async def decide(user: SoakUser, ctx: Context, i: int) -> bool:
    """Take up the oldest claim nobody decided, then accept it."""
    if not ctx.waiting:
        return False
    await scenarios.take_up_and_accept(user, *ctx.waiting.popleft())
    return True


async def statistics_page(user: SoakUser, ctx: Context, i: int) -> bool:
    await user.request("cns: statistics", "GET", "/cns/statistics")
    return True


# (action, weight) per role
MIX = {
    "patient": [(scenarios.patient_home, 3), (scenarios.invoice_list, 3), (scenarios.invoice_list_filtered, 2),
                (scenarios.invoice_detail, 3), (scenarios.invoice_pdf, 1), (scenarios.statement_pdf, 1),
                (patient_claims, 2), (patient_claim, 2), (scenarios.share, 2), (polls, 3)],
    "doctor": [(scenarios.doctor_home, 2), (scenarios.doctor_form, 1), (scenarios.doctor_list, 3),
               (doctor_invoice, 2), (doctor_pdf, 1), (issue_invoice, 2), (polls, 3)],
    "cns": [(scenarios.queue, 3), (scenarios.queue_filtered, 2), (scenarios.queue_deep, 2), (scenarios.claim_page, 3),
            (decide, 2), (statistics_page, 1), (polls, 3)],
}


def load_targets(ctx: Context) -> None:
    ctx.patients = targets.patients(ctx.url, common.BENCH_USERS)
    ctx.cns = targets.cns(ctx.url, 1)
    with psycopg.connect(ctx.url) as conn:
        for index in range(common.BENCH_USERS):
            ctx.doctor_invoices[index] = [row[0] for row in conn.execute(
                "SELECT i.id FROM invoice i JOIN doctor d ON d.id = i.doctor_id WHERE d.provider_code = %s "
                "AND i.expires_at > now() ORDER BY i.id DESC LIMIT 200", [common.doctor_login(index)])]
    refresh_waiting(ctx)


def refresh_waiting(ctx: Context) -> None:
    """Claims the patients shared since the last look join the agents' queue."""
    with psycopg.connect(ctx.url) as conn:
        for claim, version, cents in conn.execute(
            "SELECT id, version, computed_cents FROM claim WHERE state = 'shared' AND frozen_at IS NULL "
            "ORDER BY shared_at, id"
        ):
            if claim not in ctx.dealt:
                ctx.dealt.add(claim)
                ctx.waiting.append((claim, version, cents))


# --- The run -------------------------------------------------------------------------------------

@dataclass
class Plan:
    users: int
    minutes: float
    think: float | None  # mean seconds between a user's actions (load); None when paced
    rate: float | None  # requests per second for all users together (soak)
    session_minutes: float = 5.0  # a user signs out and in again about this often


def roles_for(users: int) -> list[tuple[str, int]]:
    """(role, account index) per user: the roles' shares, accounts reused once all are taken."""
    counts = {role: round(users * share) for role, share in ROLES.items()}
    counts["patient"] += users - sum(counts.values())
    return [(role, k % common.BENCH_USERS) for role, count in counts.items() for k in range(count)]


async def drive(plan: Plan, server: Gunicorn, database: str) -> dict:
    ctx = Context(url=common.database_url(database))
    load_targets(ctx)
    tally, recorder, authenticator = Tally(), Recorder(), Authenticator()
    pacer = Pacer(plan.rate) if plan.rate else None
    users = [SoakUser(role, account, number, server.url, recorder, authenticator, tally, pacer)
             for number, (role, account) in enumerate(roles_for(plan.users))]
    memory: list[tuple[float, float, dict[int, int | None]]] = []  # seconds, load average, RSS per worker
    began, cpu_began = time.monotonic(), time.process_time()
    stop_at = began + plan.minutes * 60
    rng = random.Random(1)  # noqa: S311 - a reproducible load mix

    async def watch_memory() -> None:
        while True:
            memory.append((time.monotonic() - began, os.getloadavg()[0],
                           {pid: rss_kb(pid) for pid in server.worker_pids()}))
            if time.monotonic() >= stop_at:
                return
            await asyncio.sleep(min(SAMPLE_SECONDS, max(stop_at - time.monotonic(), 0.1)))

    async def refresh() -> None:
        while time.monotonic() < stop_at:
            await asyncio.sleep(60)
            await asyncio.to_thread(refresh_waiting, ctx)

    arriving = asyncio.Semaphore(4)  # people arrive a few at a time: each sign-in is one argon2 hash

    async def live(user: SoakUser) -> None:
        actions, weights = zip(*MIX[user.role], strict=True)
        i, signed_in = 0, False
        await asyncio.sleep(rng.uniform(0, min(30, plan.minutes * 6)))  # spread the arrivals
        while time.monotonic() < stop_at:
            try:
                if not signed_in or time.monotonic() >= user.sign_in_again_at:
                    if signed_in:
                        await user.sign_out()
                    async with arriving:
                        await user.sign_in()
                    signed_in = True
                    user.sign_in_again_at = time.monotonic() + plan.session_minutes * 60 * rng.uniform(0.6, 1.4)
                action = rng.choices(actions, weights)[0]
                if await action(user, ctx, i):
                    tally.actions[action.__name__] += 1
                i += 1
            except Unexpected as failed:  # a step of signing in or unlocking went wrong: start again
                if not isinstance(failed, Counted):
                    tally.error("unexpected status", str(failed))
                signed_in = False
            except (OSError, EOFError, ValueError, IndexError) as failed:
                tally.error("connection", f"{user.login}: {failed.__class__.__name__}: {failed}")
            if plan.think:
                await asyncio.sleep(rng.uniform(0.5, 2 * plan.think - 0.5))

    watcher, refresher = asyncio.create_task(watch_memory()), asyncio.create_task(refresh())
    await asyncio.gather(*(live(user) for user in users))
    await watcher
    refresher.cancel()
    seconds = time.monotonic() - began
    return {"tally": tally, "samples": recorder.samples, "memory": memory, "seconds": seconds,
            "driver_cpu": (time.process_time() - cpu_began) / seconds, "queue_left": len(ctx.waiting)}


def portal_env(database: str, redis_url: str) -> dict[str, str]:
    env = common.portal_env(database, redis_url)
    env.pop("BENCH_COUNT_QUERIES")  # production has no query counter
    return env


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--soak", action="store_true", help="a steady --rate instead of users who think")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--minutes", type=float, default=None, help="default: 10 (load), 30 (soak)")
    parser.add_argument("--rate", type=float, default=20.0, help="soak: requests per second, all users together")
    parser.add_argument("--think", type=float, default=1.5, help="load: mean seconds between a user's actions")
    parser.add_argument("--session-minutes", type=float, default=5.0,
                        help="each user signs out and in again about this often")
    parser.add_argument("--warmup-minutes", type=float, default=5.0, help="memory is compared from here on")
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1),
                        help="gunicorn sync workers (default: 2 × cores, as bench/run.py)")
    parser.add_argument("--database", default="portal_soak", help="dropped and generated again (small set)")
    parser.add_argument("--redis", default=common.REDIS_URL, help="a Redis database of its own: it is flushed")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=common.BENCH, help="folder for soak-results.json and SOAK.md")
    args = parser.parse_args(argv)
    mode = "soak" if args.soak else "load"
    minutes = args.minutes if args.minutes is not None else (30 if args.soak else 10)
    plan = Plan(args.users, minutes, None if args.soak else args.think, args.rate if args.soak else None,
                args.session_minutes)
    command = ".venv/bin/python -m bench.soak " + shlex.join(argv if argv is not None else sys.argv[1:])

    print(f"generating the small data set into {args.database} …", flush=True)
    generate.generate("small", args.database, args.seed, quiet=True)
    redis.Redis.from_url(args.redis).flushdb()
    server = Gunicorn("app:app", portal_env(args.database, args.redis), workers=args.workers,
                      log=LOGS / f"soak-{mode}-portal.log", name="portal")
    try:
        server.wait_ready()
        print(f"{mode}: {args.users} users for {minutes:g} min on {server.url} "
              f"({args.workers} workers) …", flush=True)
        run = asyncio.run(drive(plan, server, args.database))
        master_exited = server.process.poll() is not None
    finally:
        server.stop()
    result = soak_report.summarise(run, plan, warmup_minutes=min(args.warmup_minutes, minutes / 2))
    result.update({"mode": mode, "command": command, "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                   "workers": args.workers, "database": args.database, "master_exited": master_exited})
    soak_report.write(result, args.out)
    print(soak_report.headline(result), flush=True)


if __name__ == "__main__":
    main()
