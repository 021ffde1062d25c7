"""The patient's space: invoices, sharing them with the fund, claims, and personal data.

Importing the package registers every route on `bp`."""

from portal.web.patient import claims, erasure, export, invoices, my_data, notifications, reactivation, sharing, views  # noqa: F401  (each adds its routes to bp)
from portal.web.patient.blueprint import bp

__all__ = ["bp"]
