"""A virtual user: one browser (cookies, CSRF token) behind the TLS-terminating proxy the
driver plays, signing in through the real forms and timing every request."""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field
from itertools import cycle

import pyotp

from bench import common, wire

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
STEP = 30


@dataclass
class Sample:
    page: str
    status: int
    seconds: float
    wire_bytes: int  # as transferred (compressed when the portal compressed it)
    body_bytes: int
    queries: int | None
    started: float
    ok: bool
    phase: int = -1  # index of the load phase it belongs to (-1: signing in)


@dataclass
class Recorder:
    samples: list[Sample] = field(default_factory=list)
    recording: bool = True
    phase: int = -1

    def add(self, sample: Sample) -> None:
        if self.recording:
            sample.phase = self.phase
            self.samples.append(sample)


class Unexpected(Exception):
    pass


class Authenticator:
    """Codes as a phone shows them; never the same 30-second step twice for one login
    (the portal accepts each step once per account, and one step ahead of its clock)."""

    def __init__(self) -> None:
        self.last_step: dict[str, int] = {}

    async def code(self, login: str) -> str:
        now = time.time()
        step = max(int(now // STEP), self.last_step.get(login, -1) + 1)
        wait = (step - 1) * STEP - now + 0.5
        if wait > 0:
            await asyncio.sleep(wait)
        self.last_step[login] = step
        return pyotp.TOTP(common.totp_secret(login)).at(step * STEP)


class User:
    def __init__(self, role: str, index: int, bases: list[str], recorder: Recorder, authenticator: Authenticator):
        self.role, self.index, self.recorder, self.authenticator = role, index, recorder, authenticator
        self.login = common.LOGINS[role](index) if role in common.LOGINS else ""
        self.bases = cycle(bases)  # several instances: round robin, as a load balancer would
        self.csrf = ""
        # The portal's cookies are Secure and this is plain http: TLS ends at the proxy the
        # driver stands in for, so the jar sends them anyway.
        self.cookies = wire.Cookies()
        ip = f"10.{ {'patient': 1, 'doctor': 2, 'cns': 3}.get(role, 4) }.{index // 250}.{index % 250 + 1}"
        self.headers = {
            "X-Forwarded-For": ip, "X-Forwarded-Proto": "https", "Accept-Language": "fr",
            "Accept-Encoding": wire.ACCEPT_ENCODING, "Sec-Fetch-Site": "same-origin",
            "User-Agent": f"portal-bench/{role}-{index}",
        }

    async def close(self) -> None:
        """Nothing to close: each request has its own connection."""

    async def request(self, page: str | None, method: str, path: str, *, expect: int = 200,
                      data: dict | None = None, record_failure: bool = True) -> wire.Reply:
        """Time one request and record it under `page`; with no page, anything unexpected raises."""
        base = next(self.bases)
        headers = dict(self.headers)
        if method == "POST":  # SSL-strict CSRF wants a same-origin Referer on https POSTs
            headers["Referer"] = base.replace("http://", "https://") + "/"
        cookies = self.cookies.header()
        if cookies:
            headers["Cookie"] = cookies
        started = time.perf_counter()
        response = await wire.fetch(base + path, method, headers, data)
        seconds = time.perf_counter() - started
        self.cookies.update(response)
        count = response.header("x-query-count")
        ok = response.status == expect
        if page is not None and (ok or record_failure):
            self.recorder.add(Sample(page, response.status, seconds, response.wire_bytes, len(response.body),
                                     int(count) if count else None, started, ok))
        if not ok and page is None:
            raise Unexpected(f"{self.login}: {method} {path} → {response.status} {response.header('location')}")
        return response

    def remember_csrf(self, response: wire.Reply) -> None:
        found = CSRF.search(response.text)
        if found:
            self.csrf = found.group(1)

    async def sign_in(self) -> None:
        login_page = await self.request("sign-in: GET /login", "GET", "/login")
        self.remember_csrf(login_page)
        await self.request("sign-in: POST /login (argon2)", "POST", "/login", expect=303,
                           data={"csrf_token": self.csrf, "login": self.login, "password": common.PASSWORD})
        for attempt in range(2):
            self.remember_csrf(await self.request("sign-in: GET /login/code", "GET", "/login/code"))
            response = await self.request(
                "sign-in: POST /login/code", "POST", "/login/code", expect=303, record_failure=bool(attempt),
                data={"csrf_token": self.csrf, "code": await self.authenticator.code(self.login)},
            )
            if response.status == 303:
                break
            # The step was used already (an earlier run moments ago): the next one will do.
            if attempt:
                raise Unexpected(f"{self.login}: the one-time code was refused twice")
        if "/terms/accept" in response.header("location"):
            raise Unexpected(f"{self.login}: the terms of use are not accepted (regenerate the data)")
        self.remember_csrf(await self.request(None, "GET", f"/{self.role}/"))

    async def unlock_if_needed(self, response: wire.Reply) -> bool:
        """A patient idle for a minute meets the lock page; the password unlocks it."""
        if response.status in (302, 303) and "/unlock" in response.header("location"):
            page = await self.request(None, "GET", "/unlock")
            self.remember_csrf(page)
            await self.request(None, "POST", "/unlock", expect=303,
                               data={"csrf_token": self.csrf, "password": common.PASSWORD})
            return True
        return False
