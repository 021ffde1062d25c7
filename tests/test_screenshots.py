"""`make screenshots` takes pictures of real pages, and the README shows pictures that exist.

Cheap: reads the script's list against the portal's URL map, without starting Chromium.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from werkzeug.exceptions import MethodNotAllowed, NotFound

from tests.screenshots import LANGUAGES, OUT, ROOT, SHOTS, VIEWPORTS

README = ROOT / "README.md"
PICTURE = re.compile(r"docs/screenshots/(?P<language>\w+)/(?P<name>[\w-]+)-(?P<viewport>desktop|mobile)\.png")


def endpoint_of(app, path: str, method: str = "GET") -> str:
    try:
        endpoint, _args = app.url_map.bind("localhost").match(path, method=method)
    except (NotFound, MethodNotAllowed):
        pytest.fail(f"{method} {path} is no route of the portal")
    return endpoint


@pytest.mark.parametrize("shot", SHOTS, ids=[shot.name for shot in SHOTS])
def test_each_picture_shows_a_page_of_the_portal(app, shot):
    assert shot.endpoint in app.view_functions
    if shot.role:
        assert shot.endpoint.split(".")[0] == shot.role, "a role's picture shows a page of that role"
    if shot.letter:
        # The letter is the answer to issuing a code on the activations page.
        assert endpoint_of(app, shot.path, "POST") == shot.endpoint
        assert endpoint_of(app, shot.path) == "doctor.activations"
    elif shot.link:
        # The link to follow leads to the page the picture names.
        endpoint_of(app, shot.path)
        rule = next(rule for rule in app.url_map.iter_rules() if rule.endpoint == shot.endpoint)
        example = rule.rule.replace("<int:", "<").replace("<claim_id>", "7").replace("<invoice_id>", "7")
        assert re.match(shot.link, example), f"{shot.link} does not match {rule.rule}"
        assert endpoint_of(app, example) == shot.endpoint
    else:
        assert endpoint_of(app, shot.path) == shot.endpoint
    if shot.pick:
        endpoint_of(app, shot.pick[0])


def test_the_set_covers_every_role_and_the_staff_work_pages():
    names = {shot.name for shot in SHOTS}
    assert {None, "patient", "doctor", "cns"} == {shot.role for shot in SHOTS}
    assert {"patient-home", "doctor-home", "cns-home", "queue", "claim-page"} <= names
    assert len(names) == len(SHOTS), "two pictures would overwrite each other"
    assert VIEWPORTS == {"desktop": (1280, 900), "mobile": (390, 844)}


def test_the_readme_shows_pictures_the_script_takes_and_that_are_committed():
    shown = PICTURE.findall(README.read_text(encoding="utf-8"))
    assert 6 <= len(shown) <= 8, "a few pictures, not the whole set"
    names = {shot.name for shot in SHOTS}
    total = 0
    for language, name, viewport in shown:
        assert language in LANGUAGES and name in names and viewport in VIEWPORTS
        picture = OUT / language / f"{name}-{viewport}.png"
        assert picture.exists(), f"{picture} is shown in the README but missing"
        assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        total += picture.stat().st_size
    assert total < 2 * 1024 * 1024, f"the README's pictures weigh {total} bytes"


def test_only_the_readme_pictures_are_kept_in_git():
    ignore = (OUT / ".gitignore").read_text(encoding="utf-8")
    kept = {Path(line.removeprefix("!/")).as_posix() for line in ignore.splitlines() if line.startswith("!")}
    shown = {"/".join((language, f"{name}-{viewport}.png"))
             for language, name, viewport in PICTURE.findall(README.read_text(encoding="utf-8"))}
    assert kept == shown
