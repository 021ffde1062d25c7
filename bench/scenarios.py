"""The pages the load driver exercises, one phase each: every virtual user of the role asks
for the phase's page(s) again and again, on its own targets."""

from __future__ import annotations

import html
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from bench.client import User
from bench.targets import CnsTargets, PatientTargets

NEXT_PAGE = re.compile(r'href="(/cns/claims\?[^"]*after=[^"]*)"')


@dataclass
class Context:
    patients: list[PatientTargets] = field(default_factory=list)
    cns: CnsTargets | None = None
    deep_cursor: dict[int, tuple[str | None, int]] = field(default_factory=dict)  # user -> (next path, depth)
    max_depth: int = 20


Step = Callable[[User, Context, int], Awaitable[bool]]
Prepare = Callable[[User, Context], Awaitable[None]]


@dataclass(frozen=True)
class Phase:
    title: str
    role: str
    step: Step
    prepare: Prepare | None = None  # run once per user before the phase, not measured


def _pick(items: list, i: int, user: User):
    # Users start at different points of their lists, then walk them in order.
    return items[(i + user.index * 7) % len(items)] if items else None


async def _get(user: User, page: str, path: str) -> None:
    response = await user.request(page, "GET", path)
    if await user.unlock_if_needed(response):
        await user.request(page, "GET", path)


# --- Patients --------------------------------------------------------------------------------

async def session_check(user: User, ctx: Context, i: int) -> bool:
    """The poll every signed-in page makes: the least a signed-in request costs in the portal
    (the session read and checked, a fragment of a few lines written), before any page's work."""
    await _get(user, "patient: session check (poll)", "/session/status")
    return True


async def patient_home(user: User, ctx: Context, i: int) -> bool:
    await _get(user, "patient: home", "/patient/")
    return True


async def invoice_list(user: User, ctx: Context, i: int) -> bool:
    await _get(user, "patient: invoice list", "/patient/invoices")
    return True


async def invoice_list_filtered(user: User, ctx: Context, i: int) -> bool:
    targets = ctx.patients[user.index]
    today = date.today()
    doctor = _pick(targets.doctors, i, user)
    choices = (
        "?state=issued",
        f"?date_from={today - timedelta(days=365)}&date_to={today}",
        f"?doctor={doctor}",
        "?page=2",
        f"?state=issued&doctor={doctor}&date_from={today - timedelta(days=540)}",
    )
    await _get(user, "patient: invoice list, filtered", "/patient/invoices" + choices[i % len(choices)])
    return True


async def invoice_detail(user: User, ctx: Context, i: int) -> bool:
    invoice = _pick(ctx.patients[user.index].invoices, i, user)
    await _get(user, "patient: invoice detail", f"/patient/invoices/{invoice}")
    return True


async def invoice_pdf(user: User, ctx: Context, i: int) -> bool:
    invoice = _pick(ctx.patients[user.index].pdf_invoices, i, user)
    await _get(user, "patient: invoice PDF", f"/patient/invoices/{invoice}.pdf")
    return True


async def render_pdfs_at_issue(user: User, ctx: Context) -> None:
    """The portal renders a document when it is issued (a job) and a download reads it; the
    generated data skip that job, so each user fetches its own PDFs once before the phase."""
    targets = ctx.patients[user.index]
    for invoice in targets.pdf_invoices:
        await user.request(None, "GET", f"/patient/invoices/{invoice}.pdf")
    for claim in targets.statements:
        await user.request(None, "GET", f"/patient/claims/{claim}/statement.pdf")


async def statement_pdf(user: User, ctx: Context, i: int) -> bool:
    claim = _pick(ctx.patients[user.index].statements, i, user)
    if claim is None:
        return False
    await _get(user, "patient: statement PDF", f"/patient/claims/{claim}/statement.pdf")
    return True


async def share(user: User, ctx: Context, i: int) -> bool:
    """Confirmation page, then the POST that writes the claim, consent receipt and audit row."""
    shareable = ctx.patients[user.index].shareable
    if not shareable:
        return False
    invoice = shareable.pop()
    await _get(user, "patient: share, confirmation (GET)", f"/patient/invoices/share?invoice={invoice}")
    await user.request("patient: share, submit (POST)", "POST", "/patient/invoices/share", expect=303,
                       data={"csrf_token": user.csrf, "invoice": str(invoice)})
    return True


# --- Doctors ---------------------------------------------------------------------------------

async def doctor_home(user: User, ctx: Context, i: int) -> bool:
    await _get(user, "doctor: home", "/doctor/")
    return True


async def doctor_form(user: User, ctx: Context, i: int) -> bool:
    await _get(user, "doctor: invoice form", "/doctor/invoices/new")
    return True


async def doctor_list(user: User, ctx: Context, i: int) -> bool:
    await _get(user, "doctor: invoice list", "/doctor/invoices" + ("?page=2" if i % 4 == 3 else ""))
    return True


# --- CNS staff -------------------------------------------------------------------------------

async def queue(user: User, ctx: Context, i: int) -> bool:
    await _get(user, "cns: queue", "/cns/claims")
    return True


async def queue_filtered(user: User, ctx: Context, i: int) -> bool:
    today = date.today()
    choices = (
        "?state=accepted&sort=newest",
        "?state=in_review&fund=CNS",
        "?state=&channel=paper_qr&amount_min=50",
        f"?state=accepted&date_from={today - timedelta(days=30)}&sort=amount_high",
        "?state=rejected&doctor=98000001",
    )
    await _get(user, "cns: queue, filtered", "/cns/claims" + choices[i % len(choices)])
    return True


async def queue_deep(user: User, ctx: Context, i: int) -> bool:
    """Follow the queue's "Next page" links (after= keysets) down to max_depth pages, then start over."""
    path, depth = ctx.deep_cursor.get(user.index, (None, 0))
    if path is None or depth >= ctx.max_depth:
        response = await user.request(None, "GET", "/cns/claims")
        depth = 0
    else:
        response = await user.request("cns: queue, deep pages (after=)", "GET", path)
        depth += 1
    found = NEXT_PAGE.search(response.text)
    ctx.deep_cursor[user.index] = (html.unescape(found.group(1)) if found else None, depth)
    return True


async def queue_deepest(user: User, ctx: Context, i: int) -> bool:
    if ctx.cns is None or ctx.cns.deepest_after is None:
        return False
    await _get(user, "cns: queue, deepest page", f"/cns/claims?after={ctx.cns.deepest_after}")
    return True


async def claim_page(user: User, ctx: Context, i: int) -> bool:
    claim = _pick(ctx.cns.claims, i, user)
    await _get(user, "cns: claim page", f"/cns/claims/{claim}")
    return True


async def take_up_and_accept(user: User, claim: int, version: int, cents: int) -> None:
    """Take a waiting claim up, then accept the computed amount (the version moved by one)."""
    await user.request("cns: decision, take up (POST)", "POST", f"/cns/claims/{claim}/take-up", expect=303,
                       data={"csrf_token": user.csrf})
    await user.request("cns: decision, accept (POST)", "POST", f"/cns/claims/{claim}/accept", expect=303,
                       data={"csrf_token": user.csrf, "version": str(version + 1), "amount": f"{cents / 100:.2f}",
                             "reason": ""})


async def decision(user: User, ctx: Context, i: int) -> bool:
    mine = ctx.cns.decisions[user.index]
    if not mine:
        return False
    await take_up_and_accept(user, *mine.pop(0))
    return True


PHASES = {
    "patient": [
        Phase("session check", "patient", session_check),
        Phase("patient home", "patient", patient_home),
        Phase("invoice list", "patient", invoice_list),
        Phase("invoice list, filtered", "patient", invoice_list_filtered),
        Phase("invoice detail", "patient", invoice_detail),
        Phase("invoice PDF", "patient", invoice_pdf, prepare=render_pdfs_at_issue),
        Phase("statement PDF", "patient", statement_pdf),
        Phase("share an invoice", "patient", share),
    ],
    "doctor": [
        Phase("doctor home", "doctor", doctor_home),
        Phase("doctor invoice form", "doctor", doctor_form),
        Phase("doctor invoice list", "doctor", doctor_list),
    ],
    "cns": [
        Phase("CNS queue", "cns", queue),
        Phase("CNS queue, filtered", "cns", queue_filtered),
        Phase("CNS queue, deep pages", "cns", queue_deep),
        Phase("CNS queue, deepest page", "cns", queue_deepest),
        Phase("CNS claim page", "cns", claim_page),
        Phase("decision", "cns", decision),
    ],
}
