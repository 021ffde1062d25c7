"""Signing in and out, the second factor, forgotten passwords, and the signed-in person's own account settings.: the blueprint every module of this package adds its routes to."""

from flask import Blueprint

bp = Blueprint("auth", __name__)
