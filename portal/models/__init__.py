"""All models, importable from one place (Alembic reads the metadata from here)."""

from portal.models.account import Account, AccountStatus, Role
from portal.models.activation import ActivationCode, GuardianLink, IdentityRequest
from portal.models.activation_flow import ActivationFlow, PendingReactivation
from portal.models.audit import AuditEvent
from portal.models.auth import Credential, RecoveryCode, TermsDecision, TermsVersion, UserSession
from portal.models.claim import (
    Claim,
    ClaimCount,
    ClaimEvent,
    ClaimState,
    ConsentReceipt,
    InvoiceReport,
    NoticeKind,
    Notification,
    Statement,
    StatementLine,
)
from portal.models.guardians import GuardianRequest, RegistryGuardian
from portal.models.help import HelpCategory, HelpReply, HelpRequest, HelpState
from portal.models.invoice import Act, Channel, Invoice, InvoiceLine
from portal.models.maintenance import MaintenanceWindow
from portal.models.messaging import DeliveryState, OutboxMessage
from portal.models.privacy import DataExport, DataRequest, DataRequestKind, ErasureTombstone, ExportState
from portal.models.registry import CnsStaff, Doctor, Fund, Patient
from portal.models.security import AccountBlock, ContactCode, SecurityAlert
from portal.models.stored_document import DocumentKind, StoredDocument

__all__ = [
    "HelpCategory",
    "HelpReply",
    "HelpRequest",
    "HelpState",
    "MaintenanceWindow",
    "ExportState",
    "DocumentKind",
    "StoredDocument",
    "ActivationFlow",
    "PendingReactivation",
    "GuardianRequest",
    "RegistryGuardian",
    "AccountBlock",
    "ContactCode",
    "SecurityAlert",
    "ErasureTombstone",
    "DataRequestKind",
    "DataRequest",
    "DataExport",
    "StatementLine",
    "Statement",
    "Notification",
    "NoticeKind",
    "InvoiceReport",
    "ConsentReceipt",
    "ClaimState",
    "ClaimEvent",
    "Claim",
    "ClaimCount",
    "Account",
    "Act",
    "ActivationCode",
    "AccountStatus",
    "AuditEvent",
    "Channel",
    "CnsStaff",
    "Credential",
    "Doctor",
    "Fund",
    "GuardianLink",
    "IdentityRequest",
    "Invoice",
    "InvoiceLine",
    "OutboxMessage",
    "DeliveryState",
    "Patient",
    "RecoveryCode",
    "Role",
    "TermsDecision",
    "TermsVersion",
    "UserSession",
]
