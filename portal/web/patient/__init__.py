"""The patient's space: invoices, sharing them with the fund, claims, and personal data.

Importing the package registers every route on `bp`."""

from portal.web.patient import (  # noqa: F401  (each adds its routes to bp)
    claims,
    contact_confirm,
    erasure,
    export,
    help,
    invoices,
    message_settings,
    my_data,
    notifications,
    reactivation,
    sharing,
    views,
)
from portal.web.patient.blueprint import bp

__all__ = ["bp"]
