"""Pages anyone may open: home, terms, privacy, legal notice, accessibility, health check, and the links in security alerts.

Importing the package registers every route on `bp`."""

from portal.web.public import block, help, legal, not_me, views  # noqa: F401  (each adds its routes to bp)
from portal.web.public.blueprint import bp

__all__ = ["bp"]
