"""A gunicorn worker killed mid-request and mid-upload, 100 times: what the portal answered is
committed and whole, nothing is half-written, and no uploaded file is left without its row.

The portal runs as a subprocess under gunicorn with the production configuration (three sync
workers, --preload so that each replacement worker is forked in milliseconds) on the test
database: the SQLite file, or PostgreSQL when TEST_DATABASE_URL is set. Each round sends one
state-changing request over a raw socket (a patient shares an invoice, a doctor issues one, an
applicant files an identity request with its document, a patient answers the fund with a
document), finds the worker holding that connection (tests/faults/killing.py) and SIGKILLs it:
while the body is still arriving (half sent, the rest held back), or once it is in, at a random
moment of the work (reading the form, checks, writing the file, the commit), or the moment the
uploaded document reaches the disk. gunicorn's master starts a new worker each time.
About 20 s on two quiet cores, up to 50 s on busy ones (5 s of it waiting for uploads.SETTLE_SECONDS).
"""

from __future__ import annotations

import fcntl
import os
import re
import secrets
import signal
import statistics
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
from cryptography.fernet import Fernet, InvalidToken
from fpdf import FPDF

from bench.server import Gunicorn
from portal.core.identity import make_matricule
from portal.documents import uploads
from portal.extensions import db
from portal.models import (
    AuditEvent,
    Claim,
    ClaimEvent,
    ClaimState,
    ConsentReceipt,
    DataExport,
    IdentityRequest,
    Invoice,
    InvoiceLine,
)
from tests.conftest import TEST_SETTINGS, database_url
from tests.faults.killing import Answer, RawPost, fresh_workers, multipart, worker_holding
from tests.fixtures.claims import new_claim
from tests.fixtures.invoices import new_invoice
from tests.fixtures.legal import LEGAL_ENV
from tests.perf.instances import Browser

KILLS = 100
WORKERS = 3
CALIBRATION_ROUNDS = 3  # per action, no worker killed mid-request: how long each action takes here
DEADLINE_SECONDS = 220
SECRET_KEY = "worker-kill-secret-key-for-this-test-only"


def _pdf(marker: str) -> bytes:
    """A one-page PDF scan of an identity card, about 60 KB (big enough to arrive in pieces),
    unique per round: the marker is printed on the card, so the PNG the portal keeps of it is too."""
    document = FPDF(format=(85.6, 54))
    document.set_subject(" ".join(f"filler line {i:06d} of the scanned document" for i in range(1400)))
    document.add_page()
    document.set_font("Helvetica", size=8)
    document.cell(text=marker)
    return bytes(document.output())


# --- The four actions ----------------------------------------------------------------------------

@dataclass
class Round:
    action: str
    mode: str  # "calibrate" (not killed), "body", "work" or "stored": when the worker is killed (see play)
    key: str | int  # what finds its change: the invoice shared, the date of service, the serial, the claim
    document: bytes | None = None
    killed: bool = False
    seconds: float = 0.0
    answer: Answer = field(default_factory=lambda: Answer(None))

    def succeeded(self) -> bool:
        a = self.answer
        if a.status != 303:
            return False
        return {
            "share": a.path == "/patient/claims",
            "invoice": re.fullmatch(r"/doctor/invoices/\d+", a.path) is not None,
            "identity": a.path.startswith("/activate/request/"),
            "answer": a.path == f"/patient/claims/{self.key}",
        }[self.action]


@dataclass
class Stage:
    server: Gunicorn
    patient: Browser
    doctor: Browser
    matricule: str
    shareable: list[int]
    questions: list[int]  # claims waiting for the patient's answer
    uploads: Path
    serial: int = 0

    def request(self, action: str) -> tuple[RawPost, str | int, bytes | None]:
        self.serial += 1
        port = self.server.port
        if action == "share":
            invoice_id = self.shareable.pop()
            body = urlencode({"csrf_token": self.patient.csrf, "invoice": invoice_id}).encode()
            return RawPost(port, self.patient, "/patient/invoices/share", body,
                           "application/x-www-form-urlencoded"), invoice_id, None
        if action == "invoice":
            # Each round's invoice has a date of service of its own: how it is found afterwards.
            service = (date.today() - timedelta(days=10 + self.serial)).isoformat()
            body = urlencode({
                "csrf_token": self.doctor.csrf, "matricule": self.matricule, "service_date": service,
                "lines-0-code": "C1", "lines-0-quantity": "1", "paid_on_site": "yes", "payer_is_patient": "yes",
                "submit": "Issue the invoice",
            }).encode()
            return RawPost(port, self.doctor, "/doctor/invoices/new", body,
                           "application/x-www-form-urlencoded"), service, None
        document = _pdf(f"round-{self.serial}-{secrets.token_hex(8)}")
        if action == "identity":
            applicant = Browser(f"10.77.{self.serial // 250}.{self.serial % 250 + 1}")
            applicant.get(self.server.url, "/activate/request")  # the form: a session and its CSRF token
            body, kind = multipart({
                "csrf_token": applicant.csrf, "matricule": make_matricule(date(1990, 4, 2), 700),
                "surname": "Hoffmann", "given_name": f"Applicant {self.serial}", "birth_date": "1990-04-02",
                "mobile": "+352621555123", "email": "", "consent": "y", "submit": "Send the request",
            }, document)
            return RawPost(port, applicant, "/activate/request", body, kind), self.serial, document
        claim_id = self.questions.pop()
        body, kind = multipart({"csrf_token": self.patient.csrf, "message": f"Here it is ({self.serial}).",
                                 "submit": "Send my answer"}, document)
        return RawPost(port, self.patient, f"/patient/claims/{claim_id}/answer", body, kind), claim_id, document


def files(folder: Path) -> set[Path]:
    return {path for path in folder.rglob("*") if path.is_file()} if folder.exists() else set()


def play(stage: Stage, action: str, mode: str, delay: float = 0.0) -> Round:
    """One request; its worker is killed unless mode is "calibrate" or the answer came first."""
    post, key, document = stage.request(action)
    played = Round(action, mode, key, document)
    half = len(post.body) // 2
    post.send(post.head + post.body[: half if mode == "body" else -1])
    worker = worker_holding(stage.server, post.client_port)
    if mode == "body":  # the worker is waiting for the rest of the body: killed there
        os.kill(worker, signal.SIGKILL)
        played.killed = True
        post.send(post.body[half:])
        played.answer = post.answer()
        return played
    before = files(stage.uploads.parent)
    post.send(post.body[-1:])
    started = time.perf_counter()
    if mode == "work":  # somewhere in the work: reading the form, checking, writing, committing
        time.sleep(delay)
    elif mode == "stored":  # the moment the document reaches the disk
        while not post.answered() and files(stage.uploads.parent) <= before:
            time.sleep(0.0005)
    if mode != "calibrate" and not post.answered():  # no byte of the answer yet
        os.kill(worker, signal.SIGKILL)
        played.killed = True
    played.answer = post.answer()
    played.seconds = time.perf_counter() - started
    return played


# --- Setting the stage ---------------------------------------------------------------------------

@pytest.fixture
def stage(app_ctx, make_patient, make_doctor, make_staff, tmp_path):
    patient, doctor, staff = make_patient(), make_doctor(), make_staff()
    shareable = [new_invoice(patient, doctor, days_ago=5).id for _ in range(45)]
    questions = [new_claim(patient, doctor, staff, state="info_requested").id for _ in range(45)]
    logins = {"patient": (patient.login, patient.password, patient.secret),
              "doctor": (doctor.login, doctor.password, doctor.secret)}
    matricule = patient.profile.matricule
    db.session.remove()  # nothing held open while the workers write
    instance = tmp_path / "instance"
    env = {
        "PORTAL_ENV": "production", "DATABASE_URL": database_url(), "REDIS_URL": "", "TRUSTED_PROXIES": "1",
        "PUBLIC_BASE_URL": "http://127.0.0.1", **LEGAL_ENV,
        "SECRET_KEY": SECRET_KEY, "FIELD_ENCRYPTION_KEY": TEST_SETTINGS["FIELD_ENCRYPTION_KEY"],
        "PORTAL_INSTANCE_DIR": str(instance),
        # The patient's session must not lock for idleness between two of their rounds: not what is tested here.
        "PATIENT_IDLE_LOCK_SECONDS": "3600",
    }
    # --preload (fork each new worker from a master that imported the app) keeps the hundred
    # restarts within the test's time; a worker runs the same code either way.
    server = Gunicorn("app:app", env, workers=WORKERS, log=tmp_path / "gunicorn.log", name="portal", preload=True)
    try:
        server.wait_ready()
        browsers = {}
        for role, (login, password, secret) in logins.items():
            browser = Browser(f"10.76.0.{len(browsers) + 1}")
            assert browser.sign_in(server.url, login, password, secret).status == 303
            assert browser.get(server.url, f"/{role}/").status == 200  # and a page with the CSRF token
            browsers[role] = browser
        yield Stage(server, browsers["patient"], browsers["doctor"], matricule, shareable, questions,
                    instance / "uploads")
    finally:
        server.stop()


# --- What the database and the folder must show afterwards ---------------------------------------

def _audited(event: str, key: str) -> set:
    return {row.data.get(key) for row in db.session.scalars(db.select(AuditEvent).where(AuditEvent.event == event))}


def _readable(folder: Path, name: str | None, sent: bytes | None = None) -> bool:
    """Whether the file decrypts, and is what the portal keeps of the document `sent` (a PDF is
    kept as a PNG of its page; drawing the same file again gives the same bytes)."""
    try:
        content = Fernet(TEST_SETTINGS["FIELD_ENCRYPTION_KEY"].encode()).decrypt((folder / name).read_bytes())
    except (OSError, TypeError, InvalidToken):
        return False
    return sent is None or content == uploads.clean(sent)[0]


def half_written(folder: Path) -> list[str]:
    """Every row the actions write must come with its companions (and its file)."""
    return _half_shared() + _half_issued() + _half_filed(folder) + _half_answered(folder)


def _half_shared() -> list[str]:
    problems = []
    receipts = set(db.session.scalars(db.select(ConsentReceipt.claim_id)))
    shared_audit, shared_events = _audited("claim.shared", "claim_id"), set(
        db.session.scalars(db.select(ClaimEvent.claim_id).where(ClaimEvent.kind == "shared")))
    for claim_id in db.session.scalars(db.select(Claim.id)):
        for missing, present in (("consent receipt", receipts), ("audit row", shared_audit),
                                 ("'shared' event", shared_events)):
            if claim_id not in present:
                problems.append(f"claim {claim_id} without its {missing}")
    return problems


def _half_issued() -> list[str]:
    problems = []
    with_lines = set(db.session.scalars(db.select(InvoiceLine.invoice_id)))
    issued_audit = _audited("invoice.issued", "invoice_id")
    for invoice_id in db.session.scalars(db.select(Invoice.id)):
        if invoice_id not in with_lines:
            problems.append(f"invoice {invoice_id} without lines")
        if invoice_id not in issued_audit:
            problems.append(f"invoice {invoice_id} without its audit row")
    return problems


def _half_filed(folder: Path) -> list[str]:
    problems = []
    filed_audit = _audited("identity_request.filed", "request_id")
    for filed in db.session.scalars(db.select(IdentityRequest)):
        if filed.id not in filed_audit:
            problems.append(f"identity request {filed.id} without its audit row")
        if not _readable(folder, filed.document_name):
            problems.append(f"identity request {filed.id} without its document")
    return problems


def _half_answered(folder: Path) -> list[str]:
    problems = []
    answered_audit = _audited("claim.info_answered", "claim_id")
    answers = {event.claim_id: event for event in db.session.scalars(
        db.select(ClaimEvent).where(ClaimEvent.kind == "info_answered"))}
    for claim in db.session.scalars(db.select(Claim).where(Claim.state.in_((ClaimState.IN_REVIEW,
                                                                            ClaimState.INFO_REQUESTED)))):
        asked = any(event.kind == "info_requested" for event in claim.events)
        if not asked:
            continue
        if (claim.state == ClaimState.IN_REVIEW) != (claim.id in answers) or (claim.id in answers) != (
                claim.id in answered_audit):
            problems.append(f"claim {claim.id} ({claim.state}): answer event {claim.id in answers}, "
                            f"audit row {claim.id in answered_audit}")
        if claim.id in answers and not _readable(folder, answers[claim.id].document_name):
            problems.append(f"claim {claim.id}: the answer's document is missing")
    return problems


def committed(played: Round, folder: Path) -> bool:
    """Whether the round's change is in the database, whole (with the document it sent)."""
    if played.action == "share":
        return db.session.scalar(db.select(Claim.id).where(
            Claim.invoice_id == played.key, Claim.state != ClaimState.WITHDRAWN)) is not None
    if played.action == "invoice":
        return db.session.scalar(db.select(Invoice.id).where(
            Invoice.service_date == date.fromisoformat(played.key))) is not None
    if played.action == "identity":
        filed = db.session.scalar(db.select(IdentityRequest).where(
            IdentityRequest.given_name == f"Applicant {played.key}"))
        return filed is not None and _readable(folder, filed.document_name, played.document)
    event = db.session.scalar(db.select(ClaimEvent).where(ClaimEvent.claim_id == played.key,
                                                          ClaimEvent.kind == "info_answered"))
    return event is not None and _readable(folder, event.document_name, played.document)


def orphans(folder: Path) -> list[str]:
    """Files no row points to, and files still waiting for a commit."""
    referenced = {
        *db.session.scalars(db.select(IdentityRequest.document_name)),
        *db.session.scalars(db.select(ClaimEvent.document_name).where(ClaimEvent.document_name.is_not(None))),
        *db.session.scalars(db.select(DataExport.file_name)),
    }
    unreferenced = [path for path in files(folder) if path.name not in referenced]
    return sorted(str(path) for path in [*unreferenced, *files(folder.parent / uploads.PENDING)])


# --- The test ------------------------------------------------------------------------------------

ACTIONS = ("share", "invoice", "identity", "answer")
UPLOADING = ("identity", "answer")


@pytest.mark.committing
def test_workers_killed_mid_request_and_mid_upload_lose_nothing_and_leave_nothing_half_done(stage, figures):
    rounds = []
    for action in ACTIONS:
        for _ in range(CALIBRATION_ROUNDS):
            fresh_workers(stage.server, WORKERS)
            rounds.append(play(stage, action, "calibrate"))
    assert all(r.succeeded() for r in rounds), [(r.action, r.answer) for r in rounds]
    takes = {action: statistics.median(r.seconds for r in rounds if r.action == action) for action in ACTIONS}

    horizon = {action: 1.2 * seconds for action, seconds in takes.items()}
    kills, started, i, rng = 0, time.monotonic(), 0, secrets.SystemRandom()
    while kills < KILLS and time.monotonic() - started < DEADLINE_SECONDS:
        action = ACTIONS[i % len(ACTIONS)]
        mode = ("body", "work", "stored")[i // len(ACTIONS) % 3]
        if mode == "stored" and action not in UPLOADING:
            mode = "work"
        played = play(stage, action, mode, delay=rng.uniform(0, horizon[action]))
        if mode == "work":
            # Spread the kills over the whole of the work, commit included, on fresh workers too
            # (slower): an answer before the kill pulls the horizon in, a kill pushes it out,
            # so that about one of these rounds in four is answered.
            horizon[action] *= 1.15 if played.killed else 0.7
        rounds.append(played)
        kills += played.killed
        i += 1

    # Then the portal goes on: the next uploads settle the files the killed workers left waiting
    # (uploads.sweep(), once SETTLE_SECONDS have passed since their last write or commit).
    pending_after_kills = len(files(stage.uploads.parent / uploads.PENDING))
    time.sleep(uploads.SETTLE_SECONDS)
    rounds += [play(stage, action, "calibrate") for action in UPLOADING]

    answered = [r for r in rounds if r.answer.status is not None]
    assert all(r.succeeded() for r in answered), [(r.action, r.mode, r.answer) for r in answered if not r.succeeded()]
    # The portal still answers, signed in and out.
    assert stage.server.healthy()
    assert stage.patient.get(stage.server.url, "/patient/claims").status == 200
    stage.server.stop()

    db.session.remove()
    lost_rows = [f"{r.action} {r.key} ({r.mode}, answered {r.answer})" for r in answered
                 if not committed(r, stage.uploads)]
    half, strays = half_written(stage.uploads), orphans(stage.uploads)
    killed = [r for r in rounds if r.killed]
    figures.add("faults.worker_kills", len(killed))
    figures.add("faults.worker_kill.rounds", len(rounds))
    figures.add("faults.worker_kill.killed_mid_body", sum(r.mode == "body" for r in killed))
    figures.add("faults.worker_kill.killed_while_working", sum(r.mode == "work" for r in killed))
    figures.add("faults.worker_kill.killed_as_the_file_was_written", sum(r.mode == "stored" for r in killed))
    figures.add("faults.worker_kill.committed_though_killed", sum(committed(r, stage.uploads) for r in killed))
    figures.add("faults.worker_kill.answered", len(answered))
    figures.add("faults.worker_kill.pending_files_after_the_kills", pending_after_kills)
    figures.add("faults.rows_lost", len(lost_rows))
    figures.add("faults.half_written", len(half))
    figures.add("faults.orphan_files", len(strays))
    assert len(killed) == KILLS, f"only {len(killed)} kills in {DEADLINE_SECONDS} s"
    assert lost_rows == []
    assert half == []
    assert strays == []


# --- The same rules in one process: a transaction that does not commit, a writer that died ---------

def _filed(name: str) -> None:
    db.session.add(IdentityRequest(
        reference=secrets.token_urlsafe(18), matricule=make_matricule(date(1990, 4, 2), 701), surname="Hoffmann",
        given_name="Paul", birth_date=date(1990, 4, 2), mobile="+352621555123", document_name=name,
        document_type="application/pdf",
    ))
    db.session.flush()


def _left_by_a_dead_writer(folder: Path, name: str) -> Path:
    """A waiting file as a killed worker leaves it: unlocked, and older than SETTLE_SECONDS."""
    path = folder / uploads.PENDING / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(Fernet(TEST_SETTINGS["FIELD_ENCRYPTION_KEY"].encode()).encrypt(b"%PDF-1.4 scan\n%%EOF"))
    long_ago = time.time() - uploads.SETTLE_SECONDS - 1
    os.utime(path, (long_ago, long_ago))
    return path


def test_an_upload_whose_transaction_ends_without_commit_leaves_no_file(app_ctx):
    instance = Path(app_ctx.instance_path)
    name = uploads.store(b"%PDF-1.4 scan\n%%EOF")
    _filed(name)
    assert (instance / uploads.PENDING / name).exists() and not (instance / "uploads" / name).exists()
    db.session.rollback()
    assert not (instance / uploads.PENDING / name).exists() and not (instance / "uploads" / name).exists()


def test_a_savepoint_released_after_the_upload_commits_nothing_yet(app_ctx):
    instance = Path(app_ctx.instance_path)
    name = uploads.store(b"%PDF-1.4 scan\n%%EOF")
    with db.session.begin_nested():  # as filing an identity request does, to catch a resent form
        _filed(name)
    assert not (instance / "uploads" / name).exists()
    db.session.rollback()
    assert not (instance / uploads.PENDING / name).exists() and not (instance / "uploads" / name).exists()


def test_a_committed_upload_takes_its_place(app_ctx):
    instance = Path(app_ctx.instance_path)
    name = uploads.store(b"%PDF-1.4 scan\n%%EOF")
    _filed(name)
    db.session.commit()
    assert (instance / "uploads" / name).exists() and not (instance / uploads.PENDING / name).exists()
    assert uploads.load(name) == b"%PDF-1.4 scan\n%%EOF"


def test_the_next_upload_settles_what_killed_writers_left_and_spares_a_live_one(app_ctx):
    instance = Path(app_ctx.instance_path)
    committed_first, abandoned, live = (secrets.token_hex(16) for _ in range(3))
    kept = _left_by_a_dead_writer(instance, committed_first)
    _filed(committed_first)  # its worker died after the commit, before moving the file
    dropped = _left_by_a_dead_writer(instance, abandoned)  # its worker died before the commit
    still_writing = _left_by_a_dead_writer(instance, live)
    with still_writing.open("rb") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # a live transaction holds its file locked
        uploads.store(b"%PDF-1.4 another scan\n%%EOF")
        assert not kept.exists() and uploads.load(committed_first) == b"%PDF-1.4 scan\n%%EOF"
        assert not dropped.exists() and not (instance / "uploads" / abandoned).exists()
        assert still_writing.exists()
    still_writing.unlink()


def test_a_committed_file_still_waiting_is_read_all_the_same(app_ctx):
    instance = Path(app_ctx.instance_path)
    name = secrets.token_hex(16)
    _left_by_a_dead_writer(instance, name)
    _filed(name)
    assert uploads.load(name) == b"%PDF-1.4 scan\n%%EOF"
    assert (instance / "uploads" / name).exists()

