"""The CNS staff's space."""

from __future__ import annotations

from flask import flash, g, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import load_only

from portal.accounts import terms
from portal.claims import overview
from portal.core import clock, htmx
from portal.extensions import db
from portal.models import TermsVersion
from portal.web import ownership
from portal.web.access import allow
from portal.web.cns import admin
from portal.web.cns.blueprint import bp
from portal.web.cns.forms import TermsPublishForm


@bp.get("/")
@allow("cns")
def home():
    staff = ownership.current_agent()
    return render_template("cns/home.html", staff=staff, facts=overview.for_staff(staff) if staff else None, today=clock.today(),
                           administrator=admin.is_administrator(current_user))


@bp.route("/terms", methods=["GET", "POST"])
@allow("cns")
def terms_versions():
    form = TermsPublishForm()
    administrator = admin.is_administrator(current_user)
    if request.method == "POST":
        admin.require_administrator()
    if form.validate_on_submit() and _fresh_code(form):
        version = terms.publish(
            {"fr": form.text_fr.data, "de": form.text_de.data, "en": form.text_en.data}, actor=current_user
        )
        db.session.commit()
        flash(_("Version %(number)d of the terms of use is published.", number=version.number), "success")
        return htmx.redirect(url_for("cns.terms_versions"))
    # The list shows numbers and dates: three full texts per version would be read for nothing.
    versions = db.session.scalars(
        db.select(TermsVersion).options(load_only(TermsVersion.number, TermsVersion.published_at))
        .order_by(TermsVersion.number.desc())
    ).all()
    return render_template("cns/terms.html", form=form, versions=versions, administrator=administrator)


def _fresh_code(form) -> bool:
    problem = admin.check_code(current_user, form.code.data, stage="terms")
    if problem is None:
        return True
    db.session.commit()  # the failure counts towards the lock
    form.code.errors.append(admin.CODE_ERRORS[problem])
    g.invalid_form = True  # answered with 400, like any refused form
    return False
