"""Retention: what the portal deletes once its time is over (`flask --app app purge`).

Documents (invoices and their PDFs) are kept two years from issue.
"""

from __future__ import annotations

from portal import invoices


def purge() -> dict[str, int]:
    """Run every purge; returns counts by kind. Running it twice deletes nothing more."""
    return {"invoices": invoices.purge_expired()}
