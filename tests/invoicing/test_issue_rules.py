"""Issuing checks every rule of an invoice itself, whoever built the draft: each problem is
refused before anything is written, on the field of the doctor's form it belongs to."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from portal.core import clock
from portal.core.refused import Refused
from portal.extensions import db
from portal.invoicing import invoices, nomenclature
from portal.models import Invoice


@pytest.fixture
def in_request(app, app_ctx):
    # The messages are translated into the language of the request.
    with app.test_request_context():
        yield


def _draft(patient, *, days_ago=3, acts=(("C1", 1),), **changes) -> invoices.Draft:
    service = clock.today() - timedelta(days=days_ago)
    lines = [(nomenclature.act_on(code, service), quantity) for code, quantity in acts]
    return invoices.Draft(**{"patient": patient.profile, "service_date": service, "lines": lines, **changes})


def _refused(doctor, draft) -> dict:
    with pytest.raises(Refused) as refused:
        invoices.issue(doctor.profile, draft)
    assert db.session.scalar(db.select(db.func.count()).select_from(Invoice)) == 0
    return refused.value.fields


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"days_ago": -1}, "service_date", invoices.IN_THE_FUTURE),
    ({"days_ago": 800}, "service_date", invoices.TOO_OLD),
    ({"service_date": None}, "service_date", invoices.NO_DATE),
    ({"acts": ()}, "lines-0-code", invoices.NO_ACT),
    ({"acts": (("C1", 0),)}, "lines-0-quantity", invoices.quantity_problem(0)),
    ({"acts": (("C1", 1), ("C1", invoices.MAX_QUANTITY + 1))}, "lines-1-quantity", invoices.quantity_problem(100)),
    ({"patient": None}, "matricule", invoices.NOT_IN_REGISTER),
])
def test_issue_refuses_a_draft_that_breaks_a_rule(in_request, make_patient, make_doctor, changes, field, message):
    patient, doctor = make_patient(), make_doctor()
    draft = _draft(patient, **{k: v for k, v in changes.items() if k in ("days_ago", "acts")})
    for name in ("service_date", "patient"):
        if name in changes:
            setattr(draft, name, changes[name])
    assert str(_refused(doctor, draft)[field][0]) == str(message)


def test_an_act_not_in_force_on_the_service_date_is_refused(app_ctx, make_patient, make_doctor):
    patient, doctor = make_patient(), make_doctor()
    draft = _draft(patient)
    act = draft.lines[0][0]
    draft.lines = [(nomenclature.CatalogueEntry(act.id + 10_000, act.code, act.fee_cents, act.effective_from,
                                                act.category, act.descriptions), 1)]
    assert _refused(doctor, draft) == {"lines-0-code": [invoices.NOT_AN_ACT]}


def test_a_correction_is_for_the_same_patient(app_ctx, make_patient, make_doctor, make_invoice):
    patient, other, doctor = make_patient(), make_patient(), make_doctor()
    voided = make_invoice(patient, doctor)
    invoices.void(voided, "wrong act")
    assert _refused_after(doctor, _draft(other, replaces=voided)) == {"matricule": [invoices.OTHER_PATIENT]}


def test_only_a_voided_invoice_is_replaced(app_ctx, make_patient, make_doctor, make_invoice):
    patient, doctor = make_patient(), make_doctor()
    live = make_invoice(patient, doctor)
    assert list(_refused_after(doctor, _draft(patient, replaces=live))) == ["replaces"]


def _refused_after(doctor, draft) -> dict:
    before = db.session.scalar(db.select(db.func.count()).select_from(Invoice))
    with pytest.raises(Refused) as refused:
        invoices.issue(doctor.profile, draft)
    assert db.session.scalar(db.select(db.func.count()).select_from(Invoice)) == before
    return refused.value.fields


def test_the_service_date_rule():
    today = date(2026, 3, 1)
    assert invoices.service_date_problem(today, today) is None
    assert invoices.service_date_problem(today + timedelta(days=1), today) is invoices.IN_THE_FUTURE
    assert invoices.service_date_problem(date(2024, 3, 1), today) is None
    assert invoices.service_date_problem(date(2024, 2, 29), today) is invoices.TOO_OLD


def test_relatives_name_the_voided_invoice_and_its_correction(app_ctx, make_patient, make_doctor, make_invoice):
    patient, doctor = make_patient(), make_doctor()
    voided = make_invoice(patient, doctor)
    alone = make_invoice(patient, doctor)
    invoices.void(voided, "wrong act")
    fixed = invoices.issue(doctor.profile, _draft(patient, replaces=voided))
    assert invoices.relatives(voided) == {"replaces": None, "replaced_by": fixed}
    assert invoices.relatives(fixed) == {"replaces": voided, "replaced_by": None}
    assert invoices.relatives(alone) == {"replaces": None, "replaced_by": None}
