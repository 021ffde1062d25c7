"""All models, importable from one place (Alembic reads the metadata from here)."""

from portal.models.account import Account, AccountStatus, Role
from portal.models.audit import AuditEvent
from portal.models.auth import Credential, RecoveryCode, TermsDecision, TermsVersion, UserSession
from portal.models.registry import CnsStaff, Doctor, Fund, Patient

__all__ = [
    "Account",
    "AccountStatus",
    "AuditEvent",
    "CnsStaff",
    "Credential",
    "Doctor",
    "Fund",
    "Patient",
    "RecoveryCode",
    "Role",
    "TermsDecision",
    "TermsVersion",
    "UserSession",
]
