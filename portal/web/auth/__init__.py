"""Signing in and out, the second factor, forgotten passwords, and the signed-in person's own account settings.

Importing the package registers every route on `bp`."""

from portal.web.auth import account, views  # noqa: F401  (each adds its routes to bp)
from portal.web.auth.blueprint import bp

__all__ = ["bp"]
