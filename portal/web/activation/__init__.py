"""Activating an account with the code a doctor or the fund issued, step by step.

Importing the package registers every route on `bp`."""

from portal.web.activation import views  # noqa: F401  (each adds its routes to bp)
from portal.web.activation.blueprint import bp

__all__ = ["bp"]
