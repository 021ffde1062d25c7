"""Versioned terms of use: publishing, the acceptance rule, and rendering the text."""

from __future__ import annotations

import time
from pathlib import Path

from flask import g
from markupsafe import Markup, escape
from sqlalchemy import event
from sqlalchemy.orm import load_only

from portal import audit
from portal.config import LANGUAGES, ROOT
from portal.core.refused import Refused
from portal.extensions import db
from portal.models import Account, TermsDecision, TermsVersion

CONTENT = ROOT / "portal" / "content" / "terms"


# The texts are loaded only by the pages that show them.
_NUMBER_ONLY = load_only(TermsVersion.id, TermsVersion.number, TermsVersion.published_at)


def current_version() -> TermsVersion | None:
    if "terms_version" not in g:
        g.terms_version = db.session.scalar(
            db.select(TermsVersion).options(_NUMBER_ONLY).order_by(TermsVersion.number.desc()).limit(1)
        )
    return g.terms_version


# Every signed-in page asks which version is current, and the answer changes a few times a
# year: each process keeps the number for CURRENT_SECONDS. A version published by another
# instance reaches this one within that time; one published here is seen at once.
CURRENT_SECONDS = 30.0
_current: tuple[float, int | None] | None = None


def current_number() -> int | None:
    global _current
    now = time.monotonic()
    if _current is None or now - _current[0] > CURRENT_SECONDS:
        number = db.session.scalar(db.select(db.func.max(TermsVersion.number)))
        _current = (now, number)
    return _current[1]


def forget_current(*_args) -> None:
    global _current
    _current = None


def needs_decision(account: Account) -> bool:
    """True while the account has not accepted the newest published version."""
    number = current_number()
    return number is not None and (account.terms_accepted or 0) < number


def decision_for(account: Account, version: TermsVersion) -> TermsDecision | None:
    return db.session.scalar(
        db.select(TermsDecision).where(
            TermsDecision.account_id == account.id,
            TermsDecision.terms_version_id == version.id,
        )
    )


def decide(account: Account, version: TermsVersion, *, accepted: bool) -> TermsDecision:
    decision = decision_for(account, version) or TermsDecision(
        account_id=account.id, terms_version_id=version.id, is_accepted=accepted
    )
    decision.is_accepted = accepted
    db.session.add(decision)
    if accepted:
        account.terms_accepted = max(account.terms_accepted or 0, version.number)
    event = audit.TERMS_ACCEPTED if accepted else audit.TERMS_REFUSED
    audit.record(event, actor=account, version=version.number)
    return decision


class TermsRefused(Refused):
    pass


class TermsUnchanged(TermsRefused):
    pass


def bundled_texts(number: int) -> dict[str, str]:
    """The texts of a version shipped with the portal (portal/content/terms/<n>/)."""
    folder = CONTENT / str(number)
    return {lang: (folder / f"{lang}.txt").read_text(encoding="utf-8") for lang in LANGUAGES}


def newest_bundled() -> int:
    """The number of the newest version shipped with the portal (its highest folder).

    The numbers of published versions need not match: staff also publish from /cns/terms."""
    return max(int(folder.name) for folder in CONTENT.iterdir() if folder.is_dir() and folder.name.isdigit())


def read_folder(folder: Path) -> dict[str, str]:
    """fr.txt, de.txt and en.txt from an operator's folder; raises TermsRefused."""
    files = {lang: folder / f"{lang}.txt" for lang in LANGUAGES}
    missing = [path.name for path in files.values() if not path.is_file()]
    if missing:
        raise TermsRefused(f"{folder} has no {', '.join(missing)}: the terms need {', '.join(p.name for p in files.values())}.")
    texts, problems = {}, []
    for lang, path in files.items():
        try:
            texts[lang] = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            problems.append(f"{path.name} is not UTF-8 text: save it as UTF-8.")
            continue
        if not texts[lang].strip():
            problems.append(f"{path.name} is empty.")
    if problems:
        raise TermsRefused(*problems)
    return texts


def _same(one: str, other: str) -> bool:
    # Line endings and surrounding blank lines do not show once rendered.
    return one.replace("\r\n", "\n").strip() == other.replace("\r\n", "\n").strip()


def publish_changed(texts: dict[str, str], *, actor: Account | None = None) -> TermsVersion:
    """Publish, unless the texts are those of the current version: everybody would be asked
    to accept again what they already accepted."""
    current = db.session.scalar(db.select(TermsVersion).order_by(TermsVersion.number.desc()).limit(1))
    if current is not None and all(_same(texts.get(lang) or "", getattr(current, f"text_{lang}")) for lang in LANGUAGES):
        raise TermsUnchanged(
            f"These texts are those of version {current.number}, the current version of the terms of use."
        )
    return publish(texts, actor=actor)


def publish(texts: dict[str, str], *, actor: Account | None = None) -> TermsVersion:
    """Publish a new version; every account meets it at its next request."""
    missing = [lang for lang in LANGUAGES if not (texts.get(lang) or "").strip()]
    if missing:
        raise ValueError(f"missing texts: {missing}")
    latest = db.session.scalar(db.select(db.func.max(TermsVersion.number))) or 0
    version = TermsVersion(number=latest + 1, text_fr=texts["fr"], text_de=texts["de"], text_en=texts["en"])
    db.session.add(version)
    audit.record(audit.TERMS_PUBLISHED, actor=actor, version=version.number)
    g.pop("terms_version", None)
    # Read again once the publication is settled either way: read before that, the number
    # would be kept even if the transaction rolled back.
    forget_current()
    session = db.session()
    event.listen(session, "after_commit", forget_current, once=True)
    event.listen(session, "after_soft_rollback", forget_current, once=True)
    return version


def render(text: str) -> Markup:
    """Plain text to safe HTML: blank lines part paragraphs, `## ` starts a heading,
    `- ` starts a list item. Everything is escaped, so staff-written text cannot inject markup."""
    html: list[str] = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        lines = [line.strip() for line in block.strip().split("\n") if line.strip()]
        items: list[str] = []
        for line in lines:
            if line.startswith("- "):
                items.append(f"<li>{escape(line[2:])}</li>")
                continue
            if items:
                html.append("<ul>" + "".join(items) + "</ul>")
                items = []
            if line.startswith("## "):
                html.append(f"<h2>{escape(line[3:])}</h2>")
            else:
                html.append(f"<p>{escape(line)}</p>")
        if items:
            html.append("<ul>" + "".join(items) + "</ul>")
    return Markup("\n".join(html))  # noqa: S704  # nosec B704: every piece was escaped above
