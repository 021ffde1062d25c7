"""What each virtual user works on, read from the database before the load: its invoices,
statements, the invoices it may still share, the claims it may decide. Reading ids here
keeps the measured requests to the pages themselves."""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg

from bench import common

QUEUE_PAGE = 25  # portal/review.PAGE_SIZE


@dataclass
class PatientTargets:
    invoices: list[int] = field(default_factory=list)
    pdf_invoices: list[int] = field(default_factory=list)
    statements: list[int] = field(default_factory=list)  # claim ids with a statement
    shareable: list[int] = field(default_factory=list)
    doctors: list[int] = field(default_factory=list)


@dataclass
class CnsTargets:
    claims: list[int] = field(default_factory=list)  # to open
    decisions: list[list[tuple[int, int, int]]] = field(default_factory=list)  # per user: (id, version, cents)
    deepest_after: str | None = None
    queue_length: int = 0


def patients(url: str, count: int) -> list[PatientTargets]:
    found = []
    with psycopg.connect(url) as conn:
        for index in range(count):
            login = common.patient_login(index)
            (patient_id,) = conn.execute("SELECT id FROM patient WHERE matricule = %s", [login]).fetchone()
            targets = PatientTargets()
            for invoice_id, doctor_id, live, expired, shareable in conn.execute(
                "SELECT i.id, i.doctor_id, c.id IS NOT NULL, i.expires_at <= now(), "
                "  i.channel = 'digital' AND i.is_paid_on_site AND i.is_payer_patient AND i.voided_at IS NULL "
                "FROM invoice i LEFT JOIN claim c ON c.invoice_id = i.id AND c.state <> 'withdrawn' "
                "WHERE i.patient_id = %s ORDER BY i.service_date DESC, i.id DESC", [patient_id]
            ):
                targets.invoices.append(invoice_id)
                if not expired:
                    targets.pdf_invoices.append(invoice_id)
                if shareable and not live and not expired:
                    targets.shareable.append(invoice_id)
                if doctor_id not in targets.doctors:
                    targets.doctors.append(doctor_id)
            targets.statements = [row[0] for row in conn.execute(
                "SELECT c.id FROM claim c JOIN statement s ON s.claim_id = c.id WHERE c.patient_id = %s ORDER BY c.id",
                [patient_id],
            )]
            found.append(targets)
    return found


def cns(url: str, users: int, *, sample: int = 2000) -> CnsTargets:
    targets = CnsTargets()
    with psycopg.connect(url) as conn:
        targets.claims = [row[0] for row in conn.execute(
            "SELECT id FROM claim WHERE frozen_at IS NULL ORDER BY md5(id::text) LIMIT %s", [sample]
        )]
        # The oldest waiting claims go to the deciding agents, dealt round-robin so no two take the same.
        shared = conn.execute(
            "SELECT id, version, computed_cents FROM claim WHERE state = 'shared' AND frozen_at IS NULL "
            "ORDER BY shared_at, id"
        ).fetchall()
        targets.decisions = [shared[i::users] for i in range(users)]
        targets.queue_length = len(shared)
        targets.deepest_after = deepest_after(conn)
    return targets


def deepest_after(conn: psycopg.Connection, state: str = "shared") -> str | None:
    """The `after=` of the queue's last page (default filters: one state, oldest first), in the
    portal's own format: microseconds since 1970, colon, id."""
    (count,) = conn.execute(
        "SELECT count(*) FROM claim WHERE state = %s AND frozen_at IS NULL", [state]
    ).fetchone()
    if count <= QUEUE_PAGE:
        return None
    before_last = (count - 1) // QUEUE_PAGE * QUEUE_PAGE - 1
    row = conn.execute(
        "SELECT (extract(epoch FROM shared_at) * 1000000)::bigint, id FROM claim "
        "WHERE state = %s AND frozen_at IS NULL ORDER BY shared_at, id OFFSET %s LIMIT 1", [state, before_last]
    ).fetchone()
    return f"{row[0]}:{row[1]}"
