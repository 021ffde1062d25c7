"""For every table: does it hold a patient's data, how is it exported, what does erasure do?

One declaration per table, read by the export, the erasure and their tests: a table added
to the schema without a line here fails both tests, so nobody adds personal data that the
"manage my personal data" rights silently miss.
"""

from __future__ import annotations

from dataclasses import dataclass

# What erasure does with a table's rows about the erased patient.
DELETE = "delete"  # the rows go
DETACH = "detach"  # kept by legal obligation, cut from the person (submitted claims, their invoices)
PSEUDONYMISE = "pseudonymise"  # kept without the person's identifiers (the audit trail)
KEEP_APART = "keep_apart"  # kept, unlinked from the person (the register of requests)
NONE = "none"  # holds no patient's data (reference data, staff, doctors)


@dataclass(frozen=True)
class Decision:
    export_group: str | None  # the group of the export and of the access view; None: nothing to export
    erasure: str
    why: str


TABLES: dict[str, Decision] = {
    # The person and their account
    "patient": Decision("identity", DELETE, "the portal's copy of the registry entry, contact data, bank account"),
    "account": Decision("account", DELETE, "the sign-in account"),
    "credential": Decision("account", DELETE, "password hash and authenticator secret; exported as dates only"),
    "recovery_code": Decision("account", DELETE, "hashes of recovery codes; exported as counts only"),
    "user_session": Decision("account", DELETE, "signed-in sessions"),
    "terms_decision": Decision("terms", DELETE, "acceptances of the terms of use"),
    "guardian_link": Decision("account", DELETE, "a parent's access to a child's space"),
    "registry_guardian": Decision(None, DELETE, "the register's copy of who is a child's guardian"),
    "guardian_request": Decision(None, DELETE, "a doctor's request that CNS staff confirm a parental link"),
    "activation_code": Decision("account", DELETE, "activation codes issued for the person"),
    "activation_flow": Decision(None, DELETE, "activations under way in a browser; digests of step secrets"),
    "pending_reactivation": Decision(None, DELETE, "a new password hash and authenticator waiting to apply"),
    "contact_code": Decision(None, DELETE, "one-time codes sent to the register's contacts; keyed digests only"),
    "security_alert": Decision(None, DELETE, "alerts sent to the owner, with a link that blocks the account"),
    "account_block": Decision(None, DELETE, "blocks of the account, who set them and why"),
    "identity_request": Decision("identity_requests", DELETE, "self-service identity requests and their photo"),
    "outbox_message": Decision("notifications", DELETE, "SMS and e-mail sent to the person"),
    # Invoices and claims
    "invoice": Decision("invoices", DETACH, "unshared invoices go; those of submitted claims are kept"),
    "invoice_line": Decision("invoices", DETACH, "follows its invoice"),
    "invoice_report": Decision("invoices", DELETE, "errors the patient reported to a doctor"),
    "claim": Decision("claims", DETACH, "submitted claims are kept by law, cut from the person"),
    "claim_event": Decision("claims", DETACH, "a kept claim's history; the patient's answers and documents go"),
    "statement": Decision("claims", DETACH, "statements of kept claims"),
    "statement_line": Decision("claims", DETACH, "follows its statement"),
    "stored_document": Decision(None, DELETE, "invoice and statement PDFs as rendered, exported as the PDFs"),
    "consent_receipt": Decision("consents", DELETE, "the patient's choices to share"),
    "notification": Decision("notifications", DELETE, "notices in the patient's space"),
    # The rights themselves
    "data_export": Decision(None, DELETE, "the export files themselves"),
    "data_request": Decision("data_requests", KEEP_APART, "the register of requests keeps no link to the person"),
    "help_request": Decision("help_requests", DELETE, "messages to the fund (\"Contact the fund\") and their "
                             "attachments; purged three years after the last answer"),
    "help_reply": Decision("help_requests", DELETE, "the fund's answers to those messages"),
    "audit_event": Decision("access_log", PSEUDONYMISE, "the trail of accesses; identifiers removed"),
    "erasure_tombstone": Decision(None, NONE, "what an erasure leaves: no personal data"),
    # No patient's data
    "act": Decision(None, NONE, "the nomenclature"),
    "terms_version": Decision(None, NONE, "published terms of use"),
    "maintenance_window": Decision(None, NONE, "maintenance windows an operator scheduled"),
    "claim_count": Decision(None, NONE, "numbers of claims per fund, state and channel: nobody's data"),
    "doctor": Decision(None, NONE, "doctors; a patient's export names them through invoices"),
    "cns_staff": Decision(None, NONE, "staff of the funds"),
}

# The groups of the export and of the "access" part of the page, in the order shown.
GROUPS = (
    "identity",
    "account",
    "terms",
    "invoices",
    "claims",
    "consents",
    "notifications",
    "identity_requests",
    "data_requests",
    "help_requests",
    "access_log",
)


def undeclared(table_names) -> list[str]:
    return sorted(set(table_names) - set(TABLES))
