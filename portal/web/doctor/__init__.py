"""The doctor's space: identity checks and activation codes, invoices, reports on invoices.

Importing the package registers every route on `bp`."""

from portal.web.doctor import activations, help, invoices, payments, questions, reports, views  # noqa: F401  (each adds its routes to bp)
from portal.web.doctor.blueprint import bp

__all__ = ["bp"]
