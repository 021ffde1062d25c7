"""Versioned terms of use: publishing, the acceptance rule, and rendering the text."""

from __future__ import annotations

from pathlib import Path

from flask import g
from markupsafe import Markup, escape
from sqlalchemy.orm import load_only

from portal import audit
from portal.config import LANGUAGES, ROOT
from portal.core.refused import Refused
from portal.extensions import db
from portal.models import Account, TermsDecision, TermsVersion

CONTENT = ROOT / "portal" / "content" / "terms"


# Asked on every request: the texts themselves are not needed to know the number.
_NUMBER_ONLY = load_only(TermsVersion.id, TermsVersion.number, TermsVersion.published_at)


def current_version() -> TermsVersion | None:
    if "terms_version" not in g:
        g.terms_version = db.session.scalar(
            db.select(TermsVersion).options(_NUMBER_ONLY).order_by(TermsVersion.number.desc()).limit(1)
        )
    return g.terms_version


def decision_for(account: Account, version: TermsVersion) -> TermsDecision | None:
    return db.session.scalar(
        db.select(TermsDecision).where(
            TermsDecision.account_id == account.id,
            TermsDecision.terms_version_id == version.id,
        )
    )


def needs_decision(account: Account) -> bool:
    """True while the account has not accepted the newest published version.

    Asked before every signed-in page: the newest version and this account's decision on
    it come in one query (the version is kept for the request, as current_version does)."""
    if "terms_version" in g:
        version = g.terms_version
        if version is None:
            return False
        decision = decision_for(account, version)
        return decision is None or not decision.is_accepted
    accepted = (
        db.select(TermsDecision.is_accepted)
        .where(TermsDecision.account_id == account.id, TermsDecision.terms_version_id == TermsVersion.id)
        .scalar_subquery()
    )
    row = db.session.execute(
        db.select(TermsVersion, accepted).options(_NUMBER_ONLY).order_by(TermsVersion.number.desc()).limit(1)
    ).first()
    g.terms_version = row[0] if row else None
    return row is not None and not row[1]


def decide(account: Account, version: TermsVersion, *, accepted: bool) -> TermsDecision:
    decision = decision_for(account, version) or TermsDecision(
        account_id=account.id, terms_version_id=version.id, is_accepted=accepted
    )
    decision.is_accepted = accepted
    db.session.add(decision)
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
