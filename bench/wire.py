"""A lean HTTP/1.1 client for the driver: one connection per request, as gunicorn's sync
workers close each one anyway. Lean matters: the driver shares the machine's two cores with
the servers it measures, and a heavy client would cap the floor more than the portal.
"""

from __future__ import annotations

import asyncio
import gzip
import zlib
from dataclasses import dataclass
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit

try:
    import brotli
except ImportError:  # then the driver asks for gzip only
    brotli = None

ACCEPT_ENCODING = "br, gzip" if brotli else "gzip"


@dataclass
class Reply:
    status: int
    headers: list[tuple[str, str]]  # names in lower case
    body: bytes  # decoded
    wire_bytes: int  # the body as transferred

    def header(self, name: str, default: str = "") -> str:
        return next((value for key, value in self.headers if key == name), default)

    def all(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name]

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def _dechunk(payload: bytes) -> bytes:
    out, position = bytearray(), 0
    while True:
        end = payload.index(b"\r\n", position)
        size = int(payload[position:end].split(b";")[0], 16)
        if size == 0:
            return bytes(out)
        out += payload[end + 2:end + 2 + size]
        position = end + 2 + size + 2


def _decode(body: bytes, encoding: str) -> bytes:
    if encoding == "br" and brotli:
        return brotli.decompress(body)
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    return body


async def fetch(url: str, method: str = "GET", headers: dict[str, str] | None = None,
                form: dict | None = None) -> Reply:
    parts = urlsplit(url)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    body = urlencode(form, doseq=True).encode() if form is not None else b""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {parts.netloc}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if form is not None:
        lines += ["Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(body)}"]
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port or 80)
    try:
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        raw = await reader.read()  # to the end: the server closes the connection
    finally:
        writer.close()
    head, _, payload = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    reply_headers = []
    for line in header_lines:
        name, _, value = line.partition(":")
        reply_headers.append((name.strip().lower(), value.strip()))
    reply = Reply(int(status_line.split()[1]), reply_headers, payload, len(payload))
    if reply.header("transfer-encoding").lower() == "chunked":
        reply.body = _dechunk(payload)
        reply.wire_bytes = len(reply.body)
    reply.body = _decode(reply.body, reply.header("content-encoding").lower())
    return reply


# What nginx's brotli module uses unless told otherwise (brotli_comp_level).
PROXY_BROTLI_QUALITY = 6


def as_proxy_sends(reply: Reply) -> tuple[int, str]:
    """The body's size and encoding as the compressing proxy in front of the workers sends it:
    a page the worker left uncompressed goes out in brotli (gzip without the module)."""
    encoding = reply.header("content-encoding")
    if encoding:
        return reply.wire_bytes, encoding
    if brotli:
        return len(brotli.compress(reply.body, quality=PROXY_BROTLI_QUALITY)), "br, by the proxy"
    return len(gzip.compress(reply.body, 6)), "gzip, by the proxy"


def header_bytes(reply: Reply) -> int:
    return 17 + sum(len(name) + len(value) + 4 for name, value in reply.headers) + 2


class Cookies:
    """A one-site cookie jar: the driver talks to 127.0.0.1 only, every path under /."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def update(self, reply: Reply) -> None:
        for header in reply.all("set-cookie"):
            for name, morsel in SimpleCookie(header).items():
                if morsel["max-age"] == "0" or "1970" in morsel["expires"]:
                    self.values.pop(name, None)
                else:
                    self.values[name] = morsel.value

    def header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.values.items())
