"""Twenty identical submissions of one form at the same moment have one effect.

A double click, a second tab, a browser that resends after a time-out: each is the same
session posting the same form again. For every state-changing form the portal offers, twenty
copies of one signed-in browser post the same data behind a barrier; afterwards the effect
(rows, audit rows, notices) is there exactly once, and every other answer is a redirect or a
page saying it was already done, never a 5xx. (tests/claims/test_concurrency.py and
tests/activation/ race the domain functions of sharing and redeeming; here every form goes
through its HTTP route, the session guard included.)

The cases live in tests/faults/duplicate_cases.py.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from portal.core import clock
from portal.extensions import db
from tests.conftest import make_app
from tests.faults.duplicate_cases import CASES, Case
from tests.fixtures.clients import page, sign_in_committed, text_of

PARALLEL = 20
COOKIE = "portal_session"


# --- The storm -----------------------------------------------------------------------------------

@dataclass
class Answers:
    statuses: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    pages: list[str] = field(default_factory=list)  # what a 5xx said, for the failure message

    @property
    def sent(self) -> int:
        return sum(self.statuses.values()) + len(self.errors)


def storm(application, cookie: str, path: str, data: dict, files=None) -> Answers:
    """PARALLEL copies of one browser post the same form at the same moment."""
    clients = []
    for _ in range(PARALLEL):
        client = application.test_client()
        client.set_cookie(COOKIE, cookie)
        clients.append(client)
    barrier = threading.Barrier(PARALLEL, timeout=30)
    answers, lock = Answers(), threading.Lock()

    def send(client):
        body = {**data, **(files() if files else {})}
        try:
            # Lined up before any request touches the database (SQLite's BEGIN IMMEDIATE
            # would otherwise let the first thread hold the lock while the rest wait here).
            barrier.wait()
            response = client.post(path, data=body)
        except Exception as exc:  # collected: a thread's exception would otherwise vanish
            with lock:
                answers.errors.append(repr(exc))
            return
        with lock:
            answers.statuses[response.status_code] += 1
            if response.status_code >= 500:
                answers.pages.append(text_of(response)[:300])

    threads = [threading.Thread(target=send, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def counted(effects: dict[str, Callable[[], int]]) -> dict[str, int]:
    try:
        return {name: count() for name, count in effects.items()}
    finally:
        db.session.commit()  # no transaction left open: on SQLite it would hold the write lock


@pytest.fixture(autouse=True)
def _objects_stay_loaded(app_ctx):
    """The test commits after each read of its own, so that no transaction of the test holds
    SQLite's write lock while a request runs; what it loaded stays readable after the commit."""
    session = db.session()
    session.expire_on_commit = False
    yield
    session.expire_on_commit = True


@pytest.fixture(scope="module")
def storm_app(app):
    # Errors answer with the portal's 500 page, as in production, instead of reaching the test.
    return make_app(PROPAGATE_EXCEPTIONS=False)


def _form(browser, case: Case, extra: dict) -> tuple[str, dict]:
    path = case.path.format(**extra)
    data = {}
    if case.form_page:
        shown = page(browser.get(case.form_page))
        form = shown.find("form", action=path)
        assert form is not None, f"no form posts to {path} on {case.form_page}"
        data = {field["name"]: field.get("value", "") for field in form.select("input[type=hidden]")}
    data.update(case.data)
    data.update({key: value for key, value in extra.items() if f"{{{key}}}" not in case.path})
    return path, data


@pytest.mark.committing
@pytest.mark.parametrize("name", list(CASES))
def test_twenty_identical_submissions_have_one_effect(name, storm_app, people, figures):
    case = CASES[name](people)
    person = people[case.role] if case.role else None
    db.session.commit()  # ends the test's own transaction: on SQLite it would hold the write lock
    browser = sign_in_committed(storm_app, person, lang="en", half=case.half_signed_in)
    if case.visit:
        browser.get(case.visit)
    if case.walk:
        case.walk(browser)
    extra = case.after_sign_in(person) if case.after_sign_in else {}
    db.session.commit()
    path, data = _form(browser, case, extra)
    # Time stands still during the storm: no session reaches its idle lock meanwhile.
    clock.freeze(clock.now())
    before = counted(case.effects)

    answers = storm(storm_app, browser.get_cookie(COOKIE).value, path, data, case.files)

    after = counted(case.effects)
    created = {effect: after[effect] - before[effect] for effect in case.effects}
    figures.add("faults.concurrent_submissions", answers.sent)
    for status, count in answers.statuses.items():
        figures.add(f"faults.concurrent_submissions.status_{status}", count)
    figures.add("faults.duplicates", sum(max(count - 1, 0) for count in created.values()))
    assert answers.errors == [], answers.errors
    server_errors = sum(count for status, count in answers.statuses.items() if status >= 500)
    figures.add("faults.concurrent_5xx", server_errors)
    assert server_errors == 0, (answers.statuses, answers.pages[:3])
    # The others: sent where the first went, the page saying it is already done, or the limit.
    assert set(answers.statuses) <= {200, 303, 400, 409, 429}, answers.statuses
    assert created == dict.fromkeys(case.effects, 1), (created, answers.statuses)
