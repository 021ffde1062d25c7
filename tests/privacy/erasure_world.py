"""Patient A with a trace in every table, patient B with some data, and A's child.

Built through the domain functions the pages call, so the rows look like real ones.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, timedelta

from portal.accounts import blocking, contact_codes, security_alerts, terms, totp
from portal.activation import codes
from portal.claims import sharing
from portal.core import clock
from portal.documents import uploads
from portal.extensions import db
from portal.helpdesk import requests as helpdesk
from portal.messaging import notify
from portal.models import DataExport, DataRequest, IdentityRequest
from tests.fixtures.activation import register_guardian
from tests.fixtures.clients import sign_in
from tests.fixtures.factories import new_child
from tests.fixtures.images import png


@dataclass
class World:
    a: object
    b: object
    child: object
    doctor: object
    staff: object
    eraser: object  # A's browser that erases
    copied: object  # another browser of A's, signed in before the erasure
    claims: dict = field(default_factory=dict)  # A's claims by state
    ids: dict = field(default_factory=dict)  # read before the erasure: the objects go with their rows
    files_a: list[str] = field(default_factory=list)
    files_b: list[str] = field(default_factory=list)

    @property
    def markers(self) -> dict[str, str]:
        """What identifies A, searched in every text column afterwards."""
        person = self.a.profile  # call before the erasure
        return {"matricule": person.matricule, "surname": person.surname, "given name": person.given_name,
                "mobile": person.mobile, "e-mail": person.email, "IBAN": person.iban}


def _export(person) -> str:
    name = uploads.store(b"PK\x03\x04 an export")
    db.session.add(DataExport(patient_id=person.profile.id, token_hash=secrets.token_hex(32), file_name=name,
                              expires_at=clock.now() + timedelta(hours=1)))
    return name


def _identity_request(person, *, linked: bool) -> str:
    profile = person.profile
    name = uploads.store(png())
    db.session.add(IdentityRequest(
        reference=secrets.token_urlsafe(18), matricule=profile.matricule, surname=profile.surname,
        given_name=profile.given_name, birth_date=profile.birth_date, mobile=profile.mobile, email=profile.email,
        document_name=name, document_type="image/png", patient_id=profile.id if linked else None,
    ))
    return name


def _ordinary_data(w: World, person, files: list[str], make_invoice, make_claim):
    make_invoice(person, w.doctor)
    accepted = make_claim(person, w.doctor, w.staff, state="accepted")
    files.append(_export(person))
    files.append(_identity_request(person, linked=True))
    notify.send_sms(person.profile.mobile, "Your code is ready.", patient_id=person.profile.id)
    db.session.add(DataRequest(reference=f"D-{secrets.token_hex(4).upper()}", patient_id=person.profile.id,
                               kind="correction", message=f"My name is {person.profile.full_name}."))
    filed = helpdesk.file("account", f"{person.profile.full_name} cannot sign in.", account=person.account,
                          patient=person.profile, document=(png(), "scan.png"))
    files.append(filed.document_name)
    db.session.commit()
    return accepted


def build(app, make_patient, make_doctor, make_staff, make_invoice, make_claim) -> World:
    doctor, staff = make_doctor(), make_staff()
    a = make_patient(given_name="Zoltan", surname="Quiggleford")
    a.profile.mobile, a.profile.email = "+352691987654", "zoltan.quiggleford@example.lu"
    b = make_patient(given_name="Berta", surname="Nimmergut")
    b.profile.email = "berta.nimmergut@example.lu"
    child = new_child(a, given_name="Lina", surname="Brandenburger", birth=date(2016, 6, 1))
    version = terms.publish({"fr": "Conditions.", "de": "Bedingungen.", "en": "Terms."})
    for person in (a, b, child, doctor, staff):
        terms.decide(person.account, version, accepted=True)
    totp.issue_recovery_codes(a.account.id)
    # A's account once blocked (and the block lifted), an alert sent, a code sent to A's phone.
    blocking.block(a.account, source="owner", reason="Zoltan Quiggleford lost his phone")
    blocking.unblock(a.account, reason="found again")
    security_alerts.announce(a.account, a.profile, "password_changed")
    contact_codes.send(a.profile, "reset", bound_to=contact_codes.flow_digest("erasure-world"), language="en")
    codes.issue(a.profile, doctor=doctor.profile, document_type="identity_card", document_last4="4321",
                mobile=a.profile.mobile)
    # The register names A as the child's guardian, and the doctor's code names A and A's phone.
    register_guardian(child.profile, a.profile)
    codes.issue(child.profile, doctor=doctor.profile, document_type="passport", document_last4="8765",
                mobile=a.profile.mobile, guardian=a.profile)
    db.session.commit()

    copied, eraser = app.test_client(), app.test_client()
    sign_in(copied, a)
    w = World(a, b, child, doctor, staff, eraser, copied)

    w.claims["accepted"] = _ordinary_data(w, a, w.files_a, make_invoice, make_claim)
    w.files_a.append(_identity_request(a, linked=False))  # filed by matricule, never linked
    make_invoice(a, doctor, days_ago=10)  # never shared
    for state in ("shared", "rejected", "withdrawn", "info_requested"):
        w.claims[state] = make_claim(a, doctor, staff, state=state)
    answered = w.claims["info_requested"]
    sharing.answer(answered, "Zoltan Quiggleford sends the prescription.", by=a.account, document=png())
    w.files_a.append(answered.events[-1].document_name)
    unshared = make_invoice(a, doctor, days_ago=5)
    sharing.report_invoice(unshared, "Quiggleford is spelt wrong.", by=a.account)
    notify.send_email(a.profile.email, "Hello", "Hello Zoltan Quiggleford", patient_id=None)
    # A, in the child's space, shares the child's invoice: the consent names A's account.
    sharing.share(child.profile, [make_invoice(child, doctor)], by=a.account)
    # A wrote to the fund with a document and got an answer; A wrote about the child too.
    asked = helpdesk.file("claim", "Zoltan Quiggleford asks about his claim.", account=a.account, patient=a.profile,
                          document=(png(), "scan.png"))
    helpdesk.reply(asked, staff.profile, "Dear Zoltan Quiggleford, it is paid.")
    w.files_a.append(asked.document_name)
    helpdesk.file("other", "A question about Lina.", account=a.account, patient=child.profile)
    db.session.commit()

    _ordinary_data(w, b, w.files_b, make_invoice, make_claim)
    # Traces in the audit trail: A moving between spaces, staff reading A's claim.
    sign_in(eraser, a)
    eraser.post("/patient/space", data={"space": str(child.profile.id)})
    eraser.post("/patient/space", data={"space": "self"})
    staff_client = app.test_client()
    sign_in(staff_client, staff)
    assert staff_client.get(f"/cns/claims/{w.claims['accepted'].id}").status_code == 200
    w.ids = {
        "a": a.profile.id, "a_account": a.account.id, "child": child.profile.id, "child_account": child.account.id,
        "b": b.profile.id, "b_account": b.account.id,
        **{state: claim.id for state, claim in w.claims.items()},
        "references": {state: claim.reference for state, claim in w.claims.items()},
        "statement": w.claims["accepted"].statement.number,
    }
    return w
