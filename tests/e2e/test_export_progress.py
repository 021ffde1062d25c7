"""The export page follows the job that builds the ZIP: while it runs, the section says so and
htmx asks every 2 seconds where it stands; when it is done, the download link appears without a
reload. The page with the export under way is audited with axe-core in every language.

The live server runs jobs inline, right after the request that asked for them; here the job is
held at its start (before it opens a transaction, so SQLite stays free for the other pages)
until the test has looked, as a worker that has not reached it yet would leave it.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from portal.privacy import export
from tests.e2e.audit import Audit
from tests.e2e.claims_steps import open_page
from tests.e2e.signing import STEP_TIMEOUT_MS

pytestmark = pytest.mark.e2e

LANGUAGES = ["fr", "de", "en"]
WAITING = {"fr": "En attente", "de": "Wartet auf den Start", "en": "Waiting to start"}


@pytest.fixture
def held_job(monkeypatch):
    """The export job waits at its start until `release` is set; `started` says it got there."""
    started, release = threading.Event(), threading.Event()
    real = export._claim

    def waiting(export_id, resumed):
        started.set()
        release.wait(STEP_TIMEOUT_MS / 1000 * 4)
        return real(export_id, resumed)

    monkeypatch.setattr(export, "_claim", waiting)
    yield started, release
    release.set()  # never leave the server's thread waiting


def test_the_export_section_shows_progress_then_the_link_without_a_reload(signed_in, live_server, held_job,
                                                                          monkeypatch):
    started, release = held_job
    # Watching a poll is not activity: on a loaded machine the patients' 14-second idle lock could
    # end the wait before the link comes. The lock has tests of its own (test_idle_lock.py).
    monkeypatch.setitem(live_server.app.config["IDLE_LOCK"], "patient", timedelta(minutes=5))
    anne = live_server.accounts["patient"]
    asking = signed_in("patient")
    open_page(asking, "/patient/my-data?lang=en", anne)
    # The click's answer waits for the job (inline, after the request): do not wait for it here.
    asking.locator('#export form[action$="/my-data/export"] [type=submit]').click(no_wait_after=True)
    assert started.wait(STEP_TIMEOUT_MS / 1000), "the export job did not start"

    watching = asking.context.new_page()  # the same browser: its cookie will hold the link's token
    watching.set_default_timeout(STEP_TIMEOUT_MS)
    audit = Audit()
    for language in LANGUAGES:
        open_page(watching, f"/patient/my-data?lang={language}#export", anne)
        progress = watching.locator("#export-progress")
        expect(progress).to_contain_text(WAITING[language])
        audit.check(watching, f"/patient/my-data with the export under way ({language})")
    audit.assert_clean()
    # The audits can outlast the patients' 14-second idle lock on a loaded machine: open the page
    # once more (unlocking it if needed), then watch it without reloading.
    open_page(watching, "/patient/my-data?lang=en#export", anne)
    expect(progress).to_contain_text(WAITING["en"])
    expect(progress).to_have_attribute("hx-trigger", "every 2s")
    expect(progress.get_by_role("link", name="Check again")).to_be_visible()  # for a browser without JavaScript

    release.set()
    asking.wait_for_url("**/patient/my-data")
    # No reload of the watching page: htmx polls and swaps the link in.
    link = progress.get_by_role("link", name="Download the ZIP file")
    expect(link).to_be_visible()
    # The swapped-in confirmation panel takes the focus (static/js/focus.js), as the page that waits
    # for it would want a screen reader to say.
    expect(progress.locator("#export-ready")).to_contain_text("Your export is ready")
    watching.wait_for_function("() => document.activeElement && document.activeElement.id === 'export-ready'")
    with watching.expect_download() as download:
        link.click()
    assert download.value.suggested_filename.endswith(".zip")
    watching.close()
