"""`make screenshots`: pictures of the main journeys, from the demo data, in Chromium.

Starts its own portal (`flask --app app demo`, then `flask --app app run`) on a temporary SQLite
database, a temporary instance folder and a free port, so a running `make run` and its data stay
untouched. Signs in as the demo patient, doctor and agent with codes computed from the demo TOTP
secrets, and writes docs/screenshots/<lang>/<name>-<desktop|mobile>.png for every page of SHOTS
in French, German and English. Only a few of the pictures are kept in git (see
docs/screenshots/.gitignore); the README shows those.

    .venv/bin/python -m tests.screenshots [--only NAME ...] [--languages en ...] [--out DIR]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlparse

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"
LANGUAGES = ("fr", "de", "en")
VIEWPORTS = {"desktop": (1280, 900), "mobile": (390, 844)}
# A long page is cut after this many screens: the picture shows the page's top, not all of it.
MAX_SCREENS = 2
SOPHIE = 3  # Sophie Reding: a demo patient without an account (portal/demo.py PATIENTS)


@dataclass(frozen=True)
class Shot:
    name: str  # the file name, before -desktop/-mobile
    role: str | None  # who is signed in: None, "patient", "doctor" or "cns"
    endpoint: str  # the page the picture shows (tests/test_screenshots.py checks it is a real route)
    path: str  # where to go: with `link`, the page that links to it; with `pick`, the page itself
    link: str | None = None  # a regular expression: follow the first link on `path` whose path matches it
    pick: tuple[str, str] | None = None  # (a page, a checkbox name): open `path` with every box's value
    letter: bool = False  # issue an activation code on `path` to reach the letter


SHOTS = [
    Shot("home", None, "public.home", "/"),
    Shot("sign-in", None, "auth.login", "/login"),
    Shot("patient-home", "patient", "patient.home", "/patient/"),
    Shot("invoices", "patient", "patient.invoices", "/patient/invoices"),
    Shot("invoice", "patient", "patient.invoice", "/patient/invoices", link=r"^/patient/invoices/\d+$"),
    Shot("share", "patient", "patient.share", "/patient/invoices/share", pick=("/patient/invoices", "invoice")),
    Shot("claim", "patient", "patient.claim", "/patient/claims", link=r"^/patient/claims/\d+$"),
    Shot("doctor-home", "doctor", "doctor.home", "/doctor/"),
    Shot("invoice-form", "doctor", "doctor.new_invoice", "/doctor/invoices/new"),
    Shot("activation-letter", "doctor", "doctor.issue_activation", "/doctor/activations", letter=True),
    Shot("cns-home", "cns", "cns.home", "/cns/"),
    Shot("queue", "cns", "cns.claims", "/cns/claims"),
    Shot("claim-page", "cns", "cns.claim", "/cns/claims", link=r"^/cns/claims/\d+$"),
]
ROLES = ("patient", "doctor", "cns")


# --- the portal -----------------------------------------------------------------------


def _environment(workdir: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if key not in ("DATABASE_URL", "REDIS_URL", "SMTP_URL", "SMS_URL", "PUBLIC_BASE_URL")}
    env.update(
        PORTAL_ENV="development",
        PORTAL_INSTANCE_DIR=str(workdir / "instance"),
        DATABASE_URL=f"sqlite:///{workdir / 'portal.sqlite3'}",
        SECRET_KEY=secrets.token_hex(32),
        FIELD_ENCRYPTION_KEY=base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        # A patient's session would lock after a minute; taking the pictures takes longer.
        PATIENT_IDLE_LOCK_SECONDS="3600",
        FLASK_DEBUG="0",
    )
    return env


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _flask(*args: str) -> list[str]:
    return [str(Path(sys.executable).with_name("flask")), "--app", "app", *args]


def _wait_until_up(url: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("the portal stopped while starting")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2):  # noqa: S310 - our own local server
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("the portal did not answer within a minute")


# --- the browser ----------------------------------------------------------------------


def _code(login: str) -> str:
    import pyotp

    from portal.demo import demo_secret

    return pyotp.TOTP(demo_secret(login)).now()


def sign_in(page, account: dict) -> None:
    page.goto("/login")
    page.fill("#login", account["login"])
    page.fill("#password", account["password"])
    page.click("#submit")
    page.wait_for_url(re.compile(r"/login/code"))
    page.fill("#code", _code(account["login"]))
    page.click("#submit")
    page.wait_for_url(lambda url: urlparse(url).path != "/login/code")
    if urlparse(page.url).path == "/terms/accept":
        page.check("#accept")
        page.click("#submit")
        page.wait_for_url(lambda url: urlparse(url).path != "/terms/accept")


def _issue_letter(page, language: str) -> None:
    from portal.core.identity import make_matricule
    from portal.demo import PATIENTS

    _given, _surname, birth, serial, *_rest = PATIENTS[SOPHIE]
    matricule = make_matricule(birth, serial)
    page.goto(f"/doctor/activations?lang={language}&matricule={matricule}&birth_date={birth.isoformat()}")
    page.locator("#activation-check form").wait_for()
    page.select_option("#document_type", "identity_card")
    page.fill("#document_last4", "AB12")
    page.fill("#mobile", "+352 621 000 104")
    page.select_option("#language", language)
    page.check("#identity_checked")
    page.click("#activation-check #submit")
    page.locator("article.letter").wait_for()


def open_shot(page, shot: Shot, language: str) -> None:
    if shot.letter:
        _issue_letter(page, language)
        return
    if shot.pick:
        where, name = shot.pick
        page.goto(f"{where}?lang={language}")
        values = page.eval_on_selector_all(f'main input[name="{name}"]', "boxes => boxes.map(box => box.value)")
        page.goto(f"{shot.path}?" + urlencode([(name, value) for value in values]))
    else:
        page.goto(f"{shot.path}?lang={language}")
    if shot.link:
        pattern = re.compile(shot.link)
        hrefs = page.eval_on_selector_all("main a[href]", "links => links.map(a => a.getAttribute('href'))")
        target = next((h for h in hrefs if pattern.match(urlparse(h).path)), None)
        if target is None:
            raise SystemExit(f"{shot.name}: no link matching {shot.link} on {shot.path}")
        page.goto(target)
    page.wait_for_load_state("networkidle")


def capture(page, path: Path, width: int, height: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    full = page.evaluate("document.documentElement.scrollHeight")
    page.screenshot(path=str(path), full_page=True,
                    clip={"x": 0, "y": 0, "width": width, "height": min(full, MAX_SCREENS * height)})
    optimise(path)


def optimise(path: Path) -> None:
    """A palette of 256 colours: a page of flat colours and text loses nothing visible."""
    from PIL import Image

    with Image.open(path) as picture:
        small = picture.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    small.save(path, optimize=True)


def take(base_url: str, accounts: dict, shots: list[Shot], languages, out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS

    written = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for role in (None, *ROLES):
            mine = [shot for shot in shots if shot.role == role]
            if not mine:
                continue
            context = browser.new_context(base_url=base_url, viewport=dict(zip(("width", "height"), VIEWPORTS["desktop"], strict=True)))
            page = context.new_page()
            if role:
                sign_in(page, accounts[role])
            for language in languages:
                for shot in mine:
                    page.set_viewport_size(dict(zip(("width", "height"), VIEWPORTS["desktop"], strict=True)))
                    open_shot(page, shot, language)
                    # The same page at each width: a letter is issued once, not once per picture.
                    for viewport, (width, height) in VIEWPORTS.items():
                        page.set_viewport_size({"width": width, "height": height})
                        target = out / language / f"{shot.name}-{viewport}.png"
                        capture(page, target, width, height)
                        written.append(target)
                        print(target.relative_to(ROOT) if target.is_relative_to(ROOT) else target, flush=True)
            context.close()
        browser.close()
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="names of SHOTS to take (default: all)")
    parser.add_argument("--languages", nargs="*", default=list(LANGUAGES))
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    shots = [shot for shot in SHOTS if not args.only or shot.name in args.only]

    with tempfile.TemporaryDirectory(prefix="portal-screenshots-") as workdir:
        env = _environment(Path(workdir))
        seeded = subprocess.run(_flask("demo", "--json"), cwd=ROOT, env=env, check=True,  # noqa: S603 - fixed arguments
                                capture_output=True, text=True)
        accounts = {}
        for account in json.loads(seeded.stdout):
            accounts.setdefault(account["role"], account)  # the first of each role, as the e2e tests use
        port = _free_port()
        server = subprocess.Popen(_flask("run", "--host", "127.0.0.1", "--port", str(port), "--no-reload"),  # noqa: S603
                                  cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_until_up(url, server)
            take(url, accounts, shots, args.languages, args.out)
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
