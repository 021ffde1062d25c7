"""The CNS staff's space."""

from __future__ import annotations

from flask import Blueprint, flash, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import load_only

from portal import accounts, htmx, review, terms
from portal.access import allow
from portal.cns.forms import TermsPublishForm
from portal.extensions import db
from portal.models import ClaimState, TermsVersion

bp = Blueprint("cns", __name__, url_prefix="/cns")


@bp.get("/")
@allow("cns")
def home():
    staff = accounts.profile(current_user)
    waiting = review.counts(staff)[ClaimState.SHARED] if staff else 0
    return render_template("cns/home.html", staff=staff, waiting=waiting)


@bp.route("/terms", methods=["GET", "POST"])
@allow("cns")
def terms_versions():
    form = TermsPublishForm()
    if form.validate_on_submit():
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
    return render_template("cns/terms.html", form=form, versions=versions)


from portal.cns import claims as _claims  # noqa: E402,F401
from portal.cns import data_requests as _data_requests  # noqa: E402,F401
from portal.cns import identity_requests as _identity_requests  # noqa: E402,F401  (registers routes on bp)
from portal.cns import intake as _intake  # noqa: E402,F401
from portal.cns import statistics as _statistics  # noqa: E402,F401
