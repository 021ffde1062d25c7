"""Pages anyone may open: the blueprint every module of this package adds its routes to."""

from flask import Blueprint

bp = Blueprint("public", __name__)
