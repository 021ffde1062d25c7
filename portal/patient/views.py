"""The patient's space."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from portal import accounts
from portal.access import allow

bp = Blueprint("patient", __name__, url_prefix="/patient")


@bp.get("/")
@allow("patient")
def home():
    return render_template("patient/home.html", person=accounts.profile(current_user))


@bp.get("/invoices")
@allow("patient")
def invoices():
    return render_template("patient/invoices.html")


@bp.get("/my-data")
@allow("patient", before_terms=True)
def my_data():
    return render_template("patient/my_data.html", person=accounts.profile(current_user))
