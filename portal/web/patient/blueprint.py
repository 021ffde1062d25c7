"""The patient's space: the blueprint every module of this package adds its routes to."""

from flask import Blueprint

bp = Blueprint("patient", __name__, url_prefix="/patient")
