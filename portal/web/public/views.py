"""Pages anyone may read, and the load balancer's health check."""

from __future__ import annotations

from flask import abort, current_app, jsonify, render_template, request, session
from sqlalchemy import text

from portal import maintenance
from portal.accounts import terms
from portal.core import clock, i18n
from portal.extensions import db
from portal.models import OutboxMessage
from portal.privacy import notice
from portal.web.access import PUBLIC, allow
from portal.web.public.blueprint import bp


def _content(name: str) -> str:
    return f"public/content/{name}_{i18n.language()}.html"


@bp.get("/")
@allow(PUBLIC)
def home():
    return render_template("public/home.html", content=_content("home"),
                           signed_out=request.args.get("signed_out") == "1")


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
    return render_template("public/privacy.html", content=_content("privacy"), current=notice.current(),
                           history=notice.HISTORY)


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
    """Ready or not, and any maintenance window announced. During a window the answer stays 200,
    whatever the database: the instance is up and answers every page with the maintenance 503,
    which the load balancer should pass on rather than take every instance out at once."""
    window = maintenance.announced()
    about = {}
    if window is not None:
        about = {"maintenance": {"state": "under_way" if window.is_on(clock.now()) else "scheduled",
                                 "starts_at": window.starts_at.isoformat(), "ends_at": window.ends_at.isoformat()}}
    under_way = window is not None and window.is_on(clock.now())
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # any failure to reach the database means "not ready"
        db.session.rollback()
        if under_way:
            return jsonify(status="maintenance", database="unreachable", **about)
        return jsonify(status="unavailable", database="unreachable", **about), 503
    return jsonify(status="maintenance" if under_way else "ok", database="ok", **about)


@bp.get("/dev/outbox")
@allow(PUBLIC)
def outbox():
    """Demo mode only: the SMS and e-mails the portal would have sent."""
    if not current_app.config["DEMO_MODE"]:
        abort(404)

    messages = db.session.scalars(db.select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(50)).all()
    return render_template("public/outbox.html", messages=messages)
