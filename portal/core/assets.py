"""Static files under fingerprinted URLs with a year's cache, and compressed responses.

Each file in static/ is hashed and compressed once, at start-up, from its contents: a fresh
clone needs no build step, and every instance behind the load balancer computes the same URLs.
Templates link `asset_url('css/portal.css')` → /static/css/portal.<hash>.css.

Why not a library: Flask-Static-Digest fingerprints and compresses only through a `flask digest
compile` step that writes copies and a manifest into static/, then leaves serving to Flask's static
route (with its `Vary: Cookie`, see StaticFiles) or a proxy. WhiteNoise serves files from a WSGI
middleware, but hashed names come from Django's collectstatic and the .br/.gz files from its own
compress command, both build steps writing files; without them it serves plain names with its own
cache and CORS headers. Flask-Assets bundles into output files and, by default, marks versions with
a query string. None computes names and compressed bodies in memory at start-up, so this module
does; Flask-Compress (a library) still compresses the dynamic pages below.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import re
from dataclasses import dataclass, field
from pathlib import Path

import brotli
from flask import Flask, current_app, request, url_for
from flask_compress import Compress
from werkzeug.security import safe_join
from werkzeug.utils import get_content_type
from werkzeug.wrappers import Request, Response

from portal.core import headers

# A fingerprinted URL names one version of the file for ever.
IMMUTABLE = "public, max-age=31536000, immutable"
# A plain /static URL (a bookmark, a hand-written link) may change at the next release.
SHORT = "public, max-age=300"

# Text worth compressing; PDFs, ZIPs and images are compressed already.
TEXT_TYPES = (
    "text/html",
    "text/css",
    "text/plain",
    "text/csv",
    "text/javascript",
    "application/javascript",
    "application/json",
    "application/xml",
    "image/svg+xml",
)
ENCODINGS = ("br", "gzip")  # in order of preference when the client accepts both

FINGERPRINTED = re.compile(r"^(?P<stem>.+)\.(?P<digest>[0-9a-f]{12})(?P<suffix>\.[^./]+)$")

# BREACH needs the victim's browser to send many requests another site started, each
# reflecting the attacker's guess next to a secret. Pages do hold one: Flask-WTF's CSRF token is
# not masked (its random part is the same on every page of a session), though it is signed with
# the current second, so the whole token changes every second and the random part alone is
# refused. The session cookie is SameSite=Lax, so background requests from another site carry
# no session; and those requests say so in Sec-Fetch-Site: their responses go out uncompressed.
# "none" is the person typing the address or following a bookmark. Browsers too old to send the
# header (and non-browser clients) get compression: the trade-off the README describes.
COMPRESSED_FETCH_SITES = {"same-origin", "none"}


@dataclass
class Asset:
    path: str  # as templates name it: css/portal.css
    url_path: str  # css/portal.<digest>.css
    digest: str
    mimetype: str
    modified_ns: int
    bodies: dict[str, bytes] = field(default_factory=dict)  # by Content-Encoding; "identity" always

    @classmethod
    def load(cls, folder: Path, file: Path) -> Asset:
        data = file.read_bytes()
        path = file.relative_to(folder).as_posix()
        digest = hashlib.sha256(data).hexdigest()[:12]
        stem, dot, suffix = path.rpartition(".")
        url_path = f"{stem}.{digest}.{suffix}" if dot and "/" not in suffix else f"{path}.{digest}"
        mimetype = mimetypes.guess_type(path)[0] or "application/octet-stream"
        asset = cls(path, url_path, digest, mimetype, file.stat().st_mtime_ns, {"identity": data})
        if mimetype in TEXT_TYPES:
            # Highest levels: paid once per worker at start-up (about 0.1 s for htmx), not per request.
            for encoding, body in (
                ("br", brotli.compress(data, quality=11)),
                ("gzip", gzip.compress(data, 9, mtime=0)),
            ):
                if len(body) < len(data):
                    asset.bodies[encoding] = body
        return asset


class Manifest:
    def __init__(self, folder: Path, watch: bool = False) -> None:
        self.folder = folder
        # Development: pick up an edited file without a restart (one stat per lookup).
        self.watch = watch
        self.by_path: dict[str, Asset] = {}
        self.by_url: dict[str, Asset] = {}
        for file in sorted(folder.rglob("*")):
            if file.is_file() and not file.name.startswith("."):
                self._add(file)

    def _add(self, file: Path) -> Asset:
        asset = Asset.load(self.folder, file)
        self.by_path[asset.path] = asset
        self.by_url[asset.url_path] = asset
        return asset

    def get(self, path: str) -> Asset | None:
        asset = self.by_path.get(path)
        if self.watch:
            joined = safe_join(str(self.folder), path)
            file = Path(joined) if joined else None
            if file is not None and file.is_file() and (asset is None or file.stat().st_mtime_ns != asset.modified_ns):
                asset = self._add(file)
        return asset


def asset_url(path: str) -> str:
    """The fingerprinted URL of a file in static/, for templates in place of url_for('static')."""
    asset = current_app.extensions["assets"].get(path)
    if asset is None:
        # Fail loudly: a typo would otherwise ship as a broken link.
        raise LookupError(f"no file static/{path}")
    return url_for("static", filename=asset.url_path)


class StaticFiles:
    """WSGI middleware that answers /static/… from the manifest before Flask sees the request.

    Inside Flask, Flask-Login's after_request reads the session on every response, so Flask
    adds `Vary: Cookie` (and may re-set the cookie): a browser would then drop a year-long
    cached file as soon as the session cookie changes, at sign-in for one. Here no session,
    hook or database is involved. Files not in the manifest fall through to Flask's own route.
    """

    def __init__(self, wsgi_app, manifest: Manifest, prefix: str) -> None:
        self.wsgi_app = wsgi_app
        self.manifest = manifest
        self.prefix = prefix.rstrip("/") + "/"

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith(self.prefix) and environ["REQUEST_METHOD"] in ("GET", "HEAD"):
            found = self.find(path.removeprefix(self.prefix))
            if found is not None:
                return self.send(*found, Request(environ))(environ, start_response)
        return self.wsgi_app(environ, start_response)

    def find(self, filename: str) -> tuple[Asset, str] | None:
        asset = self.manifest.by_url.get(filename)
        if asset is not None:
            return asset, IMMUTABLE
        match = FINGERPRINTED.match(filename)
        if match:
            # During a rolling deploy a page from a newer instance may ask an older one for
            # another version: send this one, but let no cache keep it under that name.
            asset = self.manifest.get(match["stem"] + match["suffix"])
            if asset is not None:
                return asset, IMMUTABLE if asset.digest == match["digest"] else "no-cache"
        asset = self.manifest.get(filename)
        return (asset, SHORT) if asset is not None else None

    @staticmethod
    def send(asset: Asset, cache_control: str, request: Request) -> Response:
        offered = [encoding for encoding in ENCODINGS if encoding in asset.bodies]
        encoding = request.accept_encodings.best_match(offered, default="identity")
        response = Response(asset.bodies[encoding], content_type=get_content_type(asset.mimetype, "utf-8"))
        response.headers.update(headers.STATIC_FILES)
        if encoding != "identity":
            response.headers["Content-Encoding"] = encoding
        response.headers["Cache-Control"] = cache_control
        response.vary.add("Accept-Encoding")
        response.set_etag(f"{asset.digest}-{encoding}")
        return response.make_conditional(request)


def compress_response(response: Response) -> Response:
    response.vary.update(("Accept-Encoding", "Sec-Fetch-Site"))
    if request.headers.get("Sec-Fetch-Site", "none") not in COMPRESSED_FETCH_SITES:
        return response
    return current_app.extensions["compress"].after_request(response)


def init_app(app: Flask) -> None:
    manifest = app.extensions["assets"] = Manifest(Path(app.static_folder), watch=app.debug)
    app.wsgi_app = StaticFiles(app.wsgi_app, manifest, app.static_url_path)
    app.add_template_global(asset_url)
    for name, value in {
        "COMPRESS_REGISTER": False,  # compress_response decides first, for BREACH
        "COMPRESS_MIMETYPES": list(TEXT_TYPES),
        "COMPRESS_ALGORITHM": list(ENCODINGS),
    }.items():
        app.config.setdefault(name, value)
    if not app.config.setdefault("COMPRESS_RESPONSES", True):
        return  # a reverse proxy compresses pages; static files keep their ready-made bodies
    # One per app: Flask-Compress keeps the settings of the app it was last bound to.
    app.extensions["compress"] = Compress(app)
    app.after_request(compress_response)
