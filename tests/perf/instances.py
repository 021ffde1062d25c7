"""Real portal instances in subprocesses, and a browser that talks to them over loopback.

The browser plays the TLS-terminating proxy too (X-Forwarded-For / -Proto, TRUSTED_PROXIES=1),
so the instances run with the production configuration: Secure cookies, SSL-strict CSRF.
"""

from __future__ import annotations

import http.client
import re
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pyotp

from bench.server import Gunicorn

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class Instance(Gunicorn):
    """One gunicorn serving app:app with one worker (bench/server.py starts, waits for and stops it)."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        super().__init__("app:app", env, workers=1, log=log, name="instance")

    def wait_ready(self, timeout: float = 40) -> None:
        super().wait_ready(timeout)


@dataclass
class Response:
    status: int
    location: str
    text: str


class Browser:
    """Cookies, a client address, and the forms' CSRF token; nothing follows redirects."""

    def __init__(self, ip: str, cookies: dict[str, str] | None = None) -> None:
        self.ip = ip
        self.cookies = dict(cookies or {})
        self.csrf = ""

    def request(self, base: str, method: str, path: str, form: dict | None = None) -> Response:
        netloc = urlsplit(base).netloc
        headers = {"X-Forwarded-For": self.ip, "X-Forwarded-Proto": "https", "Referer": f"https://{netloc}/"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode({"csrf_token": self.csrf, **form})
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection(*netloc.split(":"), timeout=30)
        try:
            connection.request(method, path, body, headers)
            raw = connection.getresponse()
            text = raw.read().decode()
            for header in raw.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(header).items():
                    if morsel["max-age"] == "0" or "1970" in morsel["expires"]:
                        self.cookies.pop(name, None)
                    else:
                        self.cookies[name] = morsel.value
        finally:
            connection.close()
        found = CSRF.search(text)
        if found:
            self.csrf = found.group(1)
        return Response(raw.status, raw.headers.get("Location", ""), text)

    def get(self, base: str, path: str) -> Response:
        return self.request(base, "GET", path)

    def post(self, base: str, path: str, **form) -> Response:
        return self.request(base, "POST", path, form)

    def sign_in(self, base: str, login: str, password: str, secret: str) -> Response:
        self.get(base, "/login")
        response = self.post(base, "/login", login=login, password=password)
        assert response.status == 303 and response.location.endswith("/login/code"), response.text[-500:]
        self.get(base, "/login/code")
        return self.post(base, "/login/code", code=pyotp.TOTP(secret).now())
