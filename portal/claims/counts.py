"""How many claims each state holds, per fund and channel, frozen claims left out: the queue's
counts, read from a few rows (ClaimCount) instead of counting the claim table.

Every change that creates a claim, moves it to another state, freezes, lifts or deletes it
passes what it changed to `shift`, in the same transaction. Each shift is one
INSERT … ON CONFLICT DO UPDATE SET n = n + delta: the database adds, so two transactions never
overwrite each other's count, and the row lock it takes is held to the commit, so a count
never shows a change that was rolled back. The rows of one shift are written in key order,
so two transactions moving claims in opposite directions take their locks in the same order.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from functools import cache

from sqlalchemy import bindparam, func
from sqlalchemy.dialects import postgresql, sqlite

from portal.extensions import db
from portal.models import Claim, ClaimCount

Key = tuple[str, str, str]  # fund, state, channel


def shift(deltas: Counter[Key] | dict[Key, int]) -> None:
    """Add each delta to its count (a count that does not exist yet starts from 0)."""
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    table = ClaimCount.__table__
    for (fund, state, channel), delta in sorted(deltas.items()):
        if not delta:
            continue
        statement = dialect.insert(table).values(fund=fund, state=state, channel=channel, n=delta)
        db.session.execute(statement.on_conflict_do_update(
            index_elements=["fund", "state", "channel"], set_={"n": table.c.n + statement.excluded.n},
        ))


def added(fund: str, state: str, channel: str) -> None:
    shift({(fund, state, channel): 1})


def moved(fund: str, channel: str, before: str, after: str) -> None:
    shift({(fund, before, channel): -1, (fund, after, channel): 1})


def changes(rows: Iterable, sign: int) -> Counter[Key]:
    """`sign` for each of these rows (fund, state, channel), as one Counter to shift."""
    found: Counter[Key] = Counter()
    for fund, state, channel in rows:
        found[(fund, state, channel)] += sign
    return found


def by_state(*, fund: str | None = None, channel: str | None = None) -> dict[str, int]:
    """Claims not frozen per state, within one fund and one channel if given."""
    found = db.session.execute(_by_state_statement(fund is not None, channel is not None),
                               {"fund": fund, "channel": channel})
    return {state: int(n) for state, n in found.all()}


@cache
def _by_state_statement(by_fund: bool, by_channel: bool):
    """Built once for each of its four shapes, the values bound (the queue reads it on every page)."""
    query = db.select(ClaimCount.state, func.sum(ClaimCount.n)).group_by(ClaimCount.state)
    if by_fund:
        query = query.where(ClaimCount.fund == bindparam("fund"))
    if by_channel:
        query = query.where(ClaimCount.channel == bindparam("channel"))
    return query


def in_state(state: str, *, fund: str | None = None):
    """by_state's number for one state, as a scalar subquery (for a page's one SELECT of counts)."""
    query = db.select(func.coalesce(func.sum(ClaimCount.n), 0)).where(ClaimCount.state == state)
    if fund is not None:
        query = query.where(ClaimCount.fund == fund)
    return query.scalar_subquery()


def counted() -> dict[Key, int]:
    """What the claims themselves say: the truth the counts must equal."""
    return {
        (fund, state, channel): n for fund, state, channel, n in db.session.execute(
            db.select(Claim.fund, Claim.state, Claim.channel, func.count())
            .where(Claim.frozen_at.is_(None)).group_by(Claim.fund, Claim.state, Claim.channel)
        ).all()
    }


def kept() -> dict[Key, int]:
    """The counts as kept, zeros left out (a count that went back to 0 keeps its row)."""
    return {
        (row.fund, row.state, row.channel): row.n for row in db.session.scalars(db.select(ClaimCount)) if row.n
    }


def recount() -> None:
    """Rebuild the counts from the claims, in the caller's transaction (repair, bulk loads).

    On PostgreSQL the counts are locked first: a change running meanwhile waits, then adds its
    delta to a count that did not include it (it was not committed when the claims were counted).
    """
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(db.text("LOCK TABLE claim_count IN SHARE ROW EXCLUSIVE MODE"))
    db.session.execute(db.delete(ClaimCount))
    db.session.execute(db.insert(ClaimCount).from_select(
        ["fund", "state", "channel", "n"],
        db.select(Claim.fund, Claim.state, Claim.channel, func.count())
        .where(Claim.frozen_at.is_(None)).group_by(Claim.fund, Claim.state, Claim.channel),
    ))
