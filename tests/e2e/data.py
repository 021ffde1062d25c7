"""Direct changes to the live server's database, for states a browser cannot reach quickly."""

from __future__ import annotations

from portal.core import clock
from portal.extensions import db
from portal.models import Account, TermsDecision, UserSession


def _account(login: str) -> Account:
    return db.session.scalar(db.select(Account).where(Account.login == login))


def forget_terms(app, login: str) -> None:
    """As if the account had never decided: its next request meets the terms page."""
    with app.app_context():
        account = _account(login)
        db.session.execute(db.delete(TermsDecision).where(TermsDecision.account_id == account.id))
        account.terms_accepted = None
        db.session.commit()


def lock_sessions(app, login: str) -> None:
    """Lock the account's open sessions now, instead of waiting for the idle lock."""
    with app.app_context():
        account = _account(login)
        db.session.execute(
            db.update(UserSession)
            .where(UserSession.account_id == account.id, UserSession.revoked_at.is_(None))
            .values(locked_at=clock.now())
        )
        db.session.commit()


def create_unenrolled_doctor(app, login: str, password: str) -> None:
    """An account as an operator creates it: a password, no authenticator yet."""
    from portal import accounts
    from portal.models import Doctor, Role

    with app.app_context():
        account = accounts.create(Role.DOCTOR, login)
        accounts.set_password(account, password, method="test")
        db.session.add(
            Doctor(
                provider_code=login,
                name="Dr Test Enrol",
                specialty="General practice",
                is_digital_participant=True,
                account=account,
            )
        )
        db.session.commit()


def create_registry_patient(app, given_name: str, birth, serial: int, *, mobile: str | None = "+352621999000") -> str:
    """An insured person in the registry without an account; returns the matricule."""
    from portal.core.identity import make_matricule
    from portal.models import Patient

    matricule = make_matricule(birth, serial)
    with app.app_context():
        db.session.add(Patient(matricule=matricule, given_name=given_name, surname="Audit", birth_date=birth,
                               fund="CNS", mobile=mobile))
        db.session.commit()
    return matricule


def issue_code(app, matricule: str, doctor_code: str) -> str:
    """An activation code the doctor issued to this registry person after seeing their identity
    card; returns the token (the link's and the letter's)."""
    from portal.activation import codes
    from portal.models import Doctor, Patient

    with app.app_context():
        doctor = db.session.scalar(db.select(Doctor).where(Doctor.provider_code == doctor_code))
        patient = db.session.scalar(db.select(Patient).where(Patient.matricule == matricule))
        _code, token = codes.issue(patient, doctor=doctor, document_type="identity_card", document_last4="AB12",
                                   mobile="+352621999000", language="en")
        db.session.commit()
    return token


def last_code_sent(app, matricule: str) -> str:
    """The six digits of the last contact code sent to this person's register contact (the outbox)."""
    import re

    from portal.models import OutboxMessage, Patient

    with app.app_context():
        patient = db.session.scalar(db.select(Patient).where(Patient.matricule == matricule))
        bodies = db.session.scalars(
            db.select(OutboxMessage.body).where(OutboxMessage.patient_id == patient.id,
                                                ~OutboxMessage.body.contains("/not-me/"))
            .order_by(OutboxMessage.id.desc())
        ).all()
        return re.search(r"(?<![\w-])(\d{6})(?![\w-])", bodies[0])[1]


def fresh_recovery_code(app, login: str) -> str:
    """New recovery codes for the account (the old ones stop working); returns one of them."""
    from portal.accounts import totp

    with app.app_context():
        codes = totp.issue_recovery_codes(_account(login).id)
        db.session.commit()
        return codes[0]


def create_active_patient(app, given_name: str, birth, serial: int) -> str:
    """An insured person with a working account (and a mobile in the register); returns the login."""
    from portal import accounts
    from portal.models import AccountStatus, Patient, Role

    matricule = create_registry_patient(app, given_name, birth, serial)
    with app.app_context():
        patient = db.session.scalar(db.select(Patient).where(Patient.matricule == matricule))
        patient.account = accounts.create(Role.PATIENT, matricule)
        patient.account.status = AccountStatus.ACTIVE
        db.session.commit()
    return matricule


def last_message_to(app, recipient: str) -> str:
    """The body of the newest SMS or e-mail the portal sent to `recipient`."""
    from portal.models import OutboxMessage

    with app.app_context():
        return db.session.scalars(
            db.select(OutboxMessage.body).where(OutboxMessage.recipient == recipient).order_by(OutboxMessage.id.desc())
        ).first()


def announce(app, login: str, kind: str) -> None:
    """Send the owner of `login` a security alert, as a change to their account would."""
    from portal.accounts import security_alerts
    from portal.models import Patient

    with app.app_context():
        account = _account(login)
        patient = db.session.scalar(db.select(Patient).where(Patient.account_id == account.id))
        security_alerts.announce(account, patient, kind)
        db.session.commit()


def status_of(app, login: str) -> str:
    with app.app_context():
        return str(_account(login).status)


def start_reactivation(app, login: str) -> None:
    """Someone activated this working account anew: the owner's home shows a notice to cancel it."""
    from portal.accounts import reactivation, totp

    with app.app_context():
        row = reactivation.start(_account(login))
        reactivation.choose_password(row, "violet tractor under the bridge")
        reactivation.choose_authenticator(row, totp.new_secret())
        reactivation.schedule(row)
        db.session.commit()
