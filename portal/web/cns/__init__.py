"""The health fund's staff: the claims queue and decisions, paper intake, requests, statistics, administration.

Importing the package registers every route on `bp`."""

from portal.web.cns import (  # noqa: F401  (each adds its routes to bp)
    activation_checks,
    admin,
    administration,
    claims,
    data_requests,
    guardian_requests,
    help,
    identity_requests,
    intake,
    statistics,
    views,
)
from portal.web.cns.blueprint import bp

__all__ = ["bp"]
