"""The health fund's staff: the blueprint every module of this package adds its routes to."""

from flask import Blueprint

bp = Blueprint("cns", __name__, url_prefix="/cns")
