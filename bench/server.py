"""A gunicorn we start as a subprocess: the benchmark, the soak and the tests that need real
portal processes (tests/perf, tests/faults) all start, wait for and stop it the same way.

It runs in its own process group, so stopping it stops its workers too; `worker_pids()` and
`rss_kb()` read /proc, so the soak can watch the workers' memory and a fault test can kill one.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def children(pid: int) -> list[int]:
    """The processes `pid` started (gunicorn's master: its workers), from /proc."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except OSError:  # the task ended while we looked
            continue
    return sorted(set(found))


def rss_kb(pid: int) -> int | None:
    """Resident memory of a process (VmRSS, kB), or None when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


class Gunicorn:
    """`app` (e.g. "app:app") under gunicorn's sync workers on a free loopback port."""

    def __init__(self, app: str, env: dict[str, str], *, workers: int, log: Path, name: str = "gunicorn",
                 preload: bool = False) -> None:
        self.name, self.port, self.log = name, free_port(), log
        self.url = f"http://127.0.0.1:{self.port}"
        log.parent.mkdir(parents=True, exist_ok=True)
        # --preload: the master imports the app once and forks each worker from it, so a new
        # worker is ready in milliseconds instead of importing everything again.
        self.process = subprocess.Popen(  # noqa: S603 - our interpreter, fixed arguments
            [sys.executable, "-m", "gunicorn", app, "--workers", str(workers), "--bind", f"127.0.0.1:{self.port}",
             "--log-level", "warning", "--error-logfile", str(log), *(["--preload"] if preload else [])],
            cwd=ROOT, env={**os.environ, **env}, start_new_session=True,
        )

    def _log_tail(self) -> str:
        try:
            return self.log.read_text()[-2000:]
        except OSError:
            return ""

    def healthy(self, timeout: float = 2) -> bool:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
            try:
                connection.request("GET", "/healthz")
                return connection.getresponse().status == 200
            finally:
                connection.close()
        except OSError:
            return False

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}; {self.log}:\n{self._log_tail()}")
            if self.healthy():
                return
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not answer on {self.url} within {timeout:.0f} s; {self.log}:\n"
                           f"{self._log_tail()}")

    def worker_pids(self) -> list[int]:
        return children(self.process.pid)

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
