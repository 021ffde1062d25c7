"""Why an agent accepts another amount than the one computed from the tariffs. The words are
what the agent chooses from and what the patient reads on the claim and the statement (page
and PDF), each in their own language; the claim keeps the key (Claim.adjustment_reason)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

ADJUSTMENT_REASONS = {
    "not_covered": _l("An act is not covered by the health insurance"),
    "ceiling": _l("A reimbursement ceiling applies"),
    "duplicate_act": _l("An act was billed twice"),
    "tariff": _l("The tariff was corrected"),
    "other": _l("Another reason, explained in the note"),
}
# The reason whose words say nothing by themselves: the agent must write to the patient.
NEEDS_NOTE = "other"
