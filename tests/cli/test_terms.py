"""flask --app app terms publish: never the same text twice, never a traceback."""

from __future__ import annotations

import pytest

from portal.accounts import terms
from portal.extensions import db
from portal.models import TermsVersion
from tests.fixtures.cli import refused

TEXTS = {"fr": "## Objet\n\nTexte.", "de": "## Gegenstand\n\nText.", "en": "## Purpose\n\nText."}


def versions() -> list[int]:
    return list(db.session.scalars(db.select(TermsVersion.number).order_by(TermsVersion.number)))


@pytest.fixture
def folder(tmp_path):
    for lang, text in TEXTS.items():
        (tmp_path / f"{lang}.txt").write_text(text, encoding="utf-8")
    return tmp_path


def publish(runner, *options):
    return runner.invoke(args=["terms", "publish", *options])


def test_publishing_the_shipped_texts_twice_is_refused(runner, app_ctx):
    result = publish(runner)
    assert result.exit_code == 0, result.output
    published = versions()
    assert db.session.scalar(db.select(TermsVersion.text_en).where(TermsVersion.number == published[-1])) == (
        terms.bundled_texts(terms.newest_bundled())["en"])
    refused(publish(runner), f"version {published[-1]}, the current version", "--from FOLDER")
    refused(publish(runner), "the current version")  # a third time: still a message, not a missing file
    assert versions() == published


def test_texts_from_a_folder_are_published_once(runner, folder, app_ctx):
    publish(runner)
    before = versions()
    result = publish(runner, "--from", str(folder))
    assert result.exit_code == 0, result.output
    assert versions() == [*before, before[-1] + 1]
    assert terms.current_version().number == before[-1] + 1
    # The same texts again, saved on Windows this time: nothing new to accept.
    for lang, text in TEXTS.items():
        (folder / f"{lang}.txt").write_bytes(text.replace("\n", "\r\n").encode() + b"\r\n")
    refused(publish(runner, "--from", str(folder)), "the current version", "Nothing was written.")
    assert versions() == [*before, before[-1] + 1]


def test_one_changed_language_is_a_new_version(runner, folder, app_ctx):
    publish(runner, "--from", str(folder))
    (folder / "de.txt").write_text("## Gegenstand\n\nNeuer Text.", encoding="utf-8")
    assert publish(runner, "--from", str(folder)).exit_code == 0


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (lambda folder: (folder / "en.txt").unlink(), "has no en.txt: the terms need fr.txt, de.txt, en.txt"),
        (lambda folder: (folder / "de.txt").write_text("  \n"), "de.txt is empty."),
        (lambda folder: (folder / "fr.txt").write_bytes("Übersetzung".encode("latin-1")), "fr.txt is not UTF-8 text"),
    ],
)
def test_a_folder_missing_a_text_is_refused(runner, folder, app_ctx, change, error):
    before = versions()
    change(folder)
    refused(publish(runner, "--from", str(folder)), error)
    assert versions() == before
