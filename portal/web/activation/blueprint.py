"""Activating an account with the code a doctor or the fund issued, step by step.: the blueprint every module of this package adds its routes to."""

from flask import Blueprint

bp = Blueprint("activation", __name__, url_prefix="/activate")
