"""Killing the gunicorn worker that holds a given request, for tests/faults/test_worker_kill.py.

The worker is found without any help from the portal: the server's end of the client's
connection in /proc/net/tcp gives a socket inode, and the worker with that socket among its
file descriptors (/proc/<pid>/fd) is the one reading or answering the request.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import select
import signal
import socket
import time
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlsplit

from bench.server import Gunicorn
from tests.perf.instances import Browser


def multipart(fields: dict[str, str], document: bytes) -> tuple[bytes, str]:
    boundary = secrets.token_hex(12)
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="document"; filename="scan.pdf"\r\n'
        f"Content-Type: application/pdf\r\n\r\n".encode() + document + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


# --- Finding and killing the worker that holds a connection -------------------------------------

def _server_side_inode(server_port: int, client_port: int) -> int:
    """The socket inode of the server's end of our connection (0 until a worker accepted it)."""
    table = Path("/proc/net/tcp").read_text()
    at = table.find(f" 0100007F:{server_port:04X} 0100007F:{client_port:04X} ")
    if at < 0:
        return 0
    fields = table[at:table.find("\n", at)].split()
    return int(fields[8])  # local, remote, state, queues, timer, retransmits, uid, timeout, inode


def worker_holding(server: Gunicorn, client_port: int, timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        inode = _server_side_inode(server.port, client_port)
        if inode:
            target = f"socket:[{inode}]"
            for pid in server.worker_pids():
                try:
                    if any(os.readlink(f"/proc/{pid}/fd/{fd}") == target for fd in os.listdir(f"/proc/{pid}/fd")):
                        return pid
                except OSError:  # that worker ended meanwhile
                    continue
        time.sleep(0.005)
    raise AssertionError(f"no worker took the connection from port {client_port} within {timeout} s")


# --- One request over a raw socket ---------------------------------------------------------------

@dataclass
class Answer:
    status: int | None  # None: the connection ended without an answer
    location: str = ""

    @property
    def path(self) -> str:
        return urlsplit(self.location).path


class RawPost:
    """A POST sent in pieces, so that a worker can be killed between them."""

    def __init__(self, port: int, browser: Browser, path: str, body: bytes, content_type: str) -> None:
        self.browser, self.body = browser, body
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.client_port = self.sock.getsockname()[1]
        head = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close",
                f"X-Forwarded-For: {browser.ip}", "X-Forwarded-Proto: https", f"Referer: https://127.0.0.1:{port}/",
                f"Content-Type: {content_type}", f"Content-Length: {len(body)}"]
        if browser.cookies:
            head.append("Cookie: " + "; ".join(f"{name}={value}" for name, value in browser.cookies.items()))
        self.head = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")

    def send(self, data: bytes) -> None:
        with contextlib.suppress(OSError):  # the worker is gone: what it did not read is lost with it
            self.sock.sendall(data)

    def answered(self) -> bool:
        return bool(select.select([self.sock], [], [], 0)[0])

    def answer(self) -> Answer:
        raw = b""
        try:
            while chunk := self.sock.recv(65536):
                raw += chunk
        except OSError:
            pass
        finally:
            self.sock.close()
        if not raw.startswith(b"HTTP/"):
            return Answer(None)
        head = raw.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
        headers = [line.split(":", 1) for line in head[1:] if ":" in line]
        for name, value in headers:
            if name.strip().lower() == "set-cookie":
                for key, morsel in SimpleCookie(value.strip()).items():
                    self.browser.cookies[key] = morsel.value
        location = next((value.strip() for name, value in headers if name.strip().lower() == "location"), "")
        return Answer(int(head[0].split()[1]), location)


def fresh_workers(server: Gunicorn, workers: int) -> None:
    """Replace every (idle) worker, so that the next request meets a worker's first-request
    costs as the rounds after a kill do."""
    old = set(server.worker_pids())
    for pid in old:
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while not (len(new := set(server.worker_pids()) - old) == workers and new == set(server.worker_pids())):
        assert time.monotonic() < deadline, "gunicorn did not replace its workers"
        time.sleep(0.01)
