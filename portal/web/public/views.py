"""Pages anyone may read, and the load balancer's health check."""

from __future__ import annotations

from flask import abort, current_app, jsonify, render_template, session
from sqlalchemy import text

from portal.accounts import terms
from portal.core import i18n
from portal.extensions import db
from portal.models import OutboxMessage
from portal.web.access import PUBLIC, allow
from portal.web.public.blueprint import bp


def _content(name: str) -> str:
    return f"public/content/{name}_{i18n.language()}.html"


@bp.get("/")
@allow(PUBLIC)
def home():
    return render_template("public/home.html", content=_content("home"))


@bp.get("/terms")
@allow(PUBLIC)
def terms_of_use():
    version = terms.current_version()
    language = i18n.language()
    if version is not None:
        body, number, published = version.text(language), version.number, version.published_at
    else:
        body, number, published = terms.bundled_texts(1)[language], 1, None
    return render_template("public/terms.html", body=terms.render(body), number=number, published=published)


@bp.get("/privacy")
@allow(PUBLIC)
def privacy():
    return render_template("public/privacy.html", content=_content("privacy"))


@bp.get("/accessibility")
@allow(PUBLIC)
def accessibility():
    return render_template("public/accessibility.html", content=_content("accessibility"))


@bp.get("/erased")
@allow(PUBLIC)
def erased():
    """The last page an erased patient sees; the reference is shown once, then forgotten."""
    return render_template("public/erased.html", reference=session.pop("erased", None),
                           open_claims=session.pop("erased_open_claims", 0))


@bp.get("/healthz")
@allow(PUBLIC)
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # any failure to reach the database means "not ready"
        db.session.rollback()
        return jsonify(status="unavailable", database="unreachable"), 503
    return jsonify(status="ok", database="ok")


@bp.get("/dev/outbox")
@allow(PUBLIC)
def outbox():
    """Demo mode only: the SMS and e-mails the portal would have sent."""
    if not current_app.config["DEMO_MODE"]:
        abort(404)

    messages = db.session.scalars(db.select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(50)).all()
    return render_template("public/outbox.html", messages=messages)
