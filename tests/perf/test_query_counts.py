"""At most 6 SQL statements per page, whatever the data size (issues 8 and 19).

Every GET page of every role is opened twice: in a small world (one of each thing), then
after `world.grow` added 30 more invoices, claims, notifications, audit rows, requests,
sessions and children. A page must answer as expected, stay within its budget, and run
the same number of statements both times: a count that grows with the data is an N+1.

The world is built and measured once for the module (signing in and issuing claims is
what takes time), in one transaction rolled back at the end; each page opens inside a
savepoint rolled back after it, so no page sees another's side effects. The clock stands
still 6 seconds after the last sign-in, so every page pays for the session's activity
write, the worst case.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from portal import maintenance
from portal.accounts import terms
from portal.core import clock
from portal.extensions import db
from portal.web.patient import doctor_choices
from tests.conftest import rolled_back
from tests.fixtures.queries import count_queries
from tests.perf import world
from tests.perf.pages import EXEMPT, PAGES, Page

IDS = [page.id for page in PAGES]


@dataclass
class Visit:
    status: int
    statements: list[str]

    def listing(self) -> str:
        return "\n".join(f"  {n}. {' '.join(s.split())[:220]}" for n, s in enumerate(self.statements, 1))


def _visit(app, connection, w: world.World, page: Page) -> Visit:
    # What the builder left in the session is kept (commit releases its savepoint); closing
    # the session then keeps its next savepoint from enclosing, and undoing, this page's one.
    db.session.commit()
    db.session.remove()
    savepoint = connection.begin_nested()
    try:
        clock.freeze(w.visit_at)
        client = w.clients[page.who] if page.who else app.test_client()
        with app.test_request_context():
            if page.prepare:
                page.prepare(w, client)
            url = page.url(w)
        doctor_choices.forget()  # the worst case: the patient's doctors filter is cold
        # The terms number, by contrast, is read once per process every 30 seconds: the
        # page is counted as a worker serves it nearly always, with the number known.
        terms.current_number()
        maintenance.known()  # likewise the maintenance windows, read every few seconds
        with count_queries() as statements:
            response = client.get(url, headers=page.headers)
        if page.cleanup:
            page.cleanup(client)
        return Visit(response.status_code, list(statements))
    finally:
        db.session.remove()
        savepoint.rollback()
        terms.forget_current()  # a version the page published is gone with its savepoint
        maintenance.forget()


@pytest.fixture(scope="module")
def measured(app):
    """{"small": {page id: Visit}, "grown": {…}}, measured before any test of the module runs."""
    with app.app_context(), rolled_back() as connection:
        try:
            clock.freeze(datetime.now(UTC).replace(microsecond=0))
            w = world.build(app)
            # Past the 5-second activity interval, well inside the patient's 60-second lock.
            w.visit_at = clock.now() + timedelta(seconds=6)
            small = {page.id: _visit(app, connection, w, page) for page in PAGES}
            world.grow(w)
            grown = {page.id: _visit(app, connection, w, page) for page in PAGES}
        finally:
            clock.freeze(None)
            world.remove_files()
    if os.environ.get("QUERY_COUNTS_FILE"):
        _write_counts(Path(os.environ["QUERY_COUNTS_FILE"]), small, grown)
    return {"small": small, "grown": grown}


def _write_counts(path: Path, small: dict, grown: dict) -> None:
    """The figures for the benchmark report (bench/query_counts.sh): status and count per page, both sizes."""
    lines = [f"{'page':64} {'status':>6} {'small':>5} {'grown':>5}"]
    lines += [f"{page_id:64} {small[page_id].status:>6} {len(small[page_id].statements):>5} "
              f"{len(grown[page_id].statements):>5}" for page_id in IDS]
    path.write_text("\n".join(lines) + "\n")


def test_every_get_page_has_a_case(app):
    get_endpoints = {rule.endpoint for rule in app.url_map.iter_rules() if "GET" in rule.methods}
    covered = {page.endpoint for page in PAGES}
    missing = sorted(get_endpoints - covered - set(EXEMPT))
    assert not missing, f"add these pages to tests/perf/pages.py (or to EXEMPT, with a reason): {missing}"
    assert not covered - get_endpoints, f"cases for routes that are gone: {sorted(covered - get_endpoints)}"
    assert len(IDS) == len(set(IDS)), "two cases with the same id"


@pytest.mark.parametrize("page", PAGES, ids=IDS)
def test_page_stays_within_its_query_budget(measured, page):
    visit = measured["small"][page.id]
    status, count = visit.status, len(visit.statements)
    assert status == page.status, f"{page.id} answered {status}"
    assert count <= page.budget, f"{page.id}: {count} statements, budget {page.budget}:\n{visit.listing()}"


@pytest.mark.parametrize("page", PAGES, ids=IDS)
def test_page_runs_as_many_queries_with_much_more_data(measured, page):
    small, grown = measured["small"][page.id], measured["grown"][page.id]
    status, before, after = grown.status, len(small.statements), len(grown.statements)
    assert status == page.status, f"{page.id} answered {status} with more data"
    assert after == before, f"{page.id}: {before} statements with little data, {after} with more:\n{grown.listing()}"
