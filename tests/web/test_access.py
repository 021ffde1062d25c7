"""The access matrix: every route × anonymous, patient, doctor and CNS staff.

A new route fails this test until it is added to EXPECTED with the roles it serves.
"""

import re

import pytest

from portal.extensions import db
from tests.fixtures.clients import sign_in

ANY = "any"  # public: anyone, signed in or not
SIGNED_IN = "signed_in"  # any role, once signed in

EXPECTED = {
    "public.home": ANY,
    "public.terms_of_use": ANY,
    "public.privacy": ANY,
    "public.legal_notice": ANY,
    "public.accessibility": ANY,
    "public.healthz": ANY,
    "public.outbox": ANY,
    "public.not_me": ANY,
    "public.help": ANY,
    "patient.help": {"patient"},
    "doctor.help": {"doctor"},
    "cns.help_queue": {"cns"},
    "cns.help_request": {"cns"},
    "cns.help_document": {"cns"},
    "activation.start": ANY,
    "activation.link": ANY,
    "activation.invalid": ANY,
    "activation.proceed": ANY,
    "activation.resend_code": ANY,
    "activation.authenticator_qr": ANY,
    "activation.identity_request": ANY,
    "activation.request_status": ANY,
    "auth.login": ANY,
    "auth.code": ANY,
    "auth.recovery": ANY,
    "auth.enrol": ANY,
    "auth.new_password": ANY,
    "auth.enrol_qr": ANY,
    "auth.unlock": ANY,
    "auth.forgot": ANY,
    "auth.forgot_confirm": ANY,
    "public.block": ANY,
    "public.block_confirm": ANY,
    "auth.logout": ANY,
    "auth.terms_refused": ANY,
    "auth.recovery_codes_download": ANY,
    "auth.account_sessions": SIGNED_IN,
    "auth.end_session": SIGNED_IN,
    "auth.end_other_sessions": SIGNED_IN,
    "auth.change_password": SIGNED_IN,
    "auth.terms_accept": SIGNED_IN,
    "auth.session_status": SIGNED_IN,
    "auth.keepalive": SIGNED_IN,
    "patient.home": {"patient"},
    "patient.invoices": {"patient"},
    "patient.my_data": {"patient"},
    "patient.switch_space": {"patient"},
    "patient.cancel_reactivation": {"patient"},
    "patient.invoice": {"patient"},
    "patient.invoice_pdf_download": {"patient"},
    # claims: patient side
    "patient.share": {"patient"},
    "patient.bank_account": {"patient"},
    "patient.claims": {"patient"},
    "patient.claim": {"patient"},
    "patient.withdraw_claim": {"patient"},
    "patient.answer_claim": {"patient"},
    "patient.statement": {"patient"},
    "patient.statement_pdf": {"patient"},
    "patient.notifications": {"patient"},
    "patient.notification_count": {"patient"},
    "patient.settings": {"patient"},
    "patient.message_settings": {"patient"},
    "patient.confirm_contact": {"patient"},
    "patient.report_invoice": {"patient"},
    # personal data
    "patient.contact_details": {"patient"},
    "patient.correction_request": {"patient"},
    "patient.objection": {"patient"},
    "patient.access_log": {"patient"},
    "patient.freeze_claim": {"patient"},
    "patient.unfreeze_claim": {"patient"},
    "patient.export_request": {"patient"},
    "patient.export_download": {"patient"},
    "patient.export_progress": {"patient"},
    "patient.withdraw_consent": {"patient"},
    "patient.restore_consent": {"patient"},
    "patient.erase": {"patient"},
    "public.erased": ANY,
    "doctor.home": {"doctor"},
    "doctor.invoices": {"doctor"},
    "doctor.activations": {"doctor"},
    "doctor.issue_activation": {"doctor"},
    "doctor.activation_letter_pdf": {"doctor"},
    "doctor.revoke_activation": {"doctor"},
    "doctor.new_invoice": {"doctor"},
    "doctor.acts": {"doctor"},
    "doctor.invoice": {"doctor"},
    "doctor.invoice_pdf_download": {"doctor"},
    "doctor.void_invoice": {"doctor"},
    "doctor.answer_question": {"doctor"},
    "doctor.reports": {"doctor"},
    "doctor.payments": {"doctor"},
    "doctor.bank_account": {"doctor"},
    "doctor.payments_csv": {"doctor"},
    "doctor.remittance_pdf": {"doctor"},
    "cns.home": {"cns"},
    "cns.claims": {"cns"},
    "cns.identity_requests": {"cns"},
    "cns.guardian_requests": {"cns"},
    "cns.activation_checks": {"cns"},
    "cns.confirm_activation_check": {"cns"},
    "cns.waive_reactivation": {"cns"},
    "cns.confirm_guardian_request": {"cns"},
    "cns.refuse_guardian_request": {"cns"},
    "cns.identity_request": {"cns"},
    "cns.identity_request_document": {"cns"},
    "cns.approve_identity_request": {"cns"},
    "cns.reject_identity_request": {"cns"},
    "cns.terms_versions": {"cns"},
    # Administrators only, checked inside by portal.web.cns.admin (tests/accounts/test_staff_administration.py).
    "cns.admin_accounts": {"cns"},
    "cns.admin_block": {"cns"},
    "cns.admin_unblock": {"cns"},
    "cns.admin_deactivate": {"cns"},
    # claims: staff side
    "cns.claim": {"cns"},
    "cns.take_up_claim": {"cns"},
    "cns.accept_claim": {"cns"},
    "cns.reject_claim": {"cns"},
    "cns.request_info": {"cns"},
    "cns.undo_decision": {"cns"},
    "cns.claim_document": {"cns"},
    "cns.paper_intake": {"cns"},
    "cns.statistics": {"cns"},
    "cns.data_requests": {"cns"},
    "cns.data_request": {"cns"},
}

PLACEHOLDERS = {"session_id": "0" * 64, "token": "not-a-real-token", "code_id": "999999", "reactivation_id": "999999", "account_id": "999999",
                "request_id": "999999", "reference": "no-such-reference", "invoice_id": "999999", "claim_id": "999999", "event_id": "999999",
                "statement_id": "999999"}


def _routes(app):
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = rule.rule
        for name in rule.arguments:
            path = re.sub(rf"<(?:\w+:)?{name}>", PLACEHOLDERS[name], path)
        method = "GET" if "GET" in rule.methods else "POST"
        routes.append((rule.endpoint, method, path))
    # Signing out last, so it does not end the session the other checks use.
    return sorted(routes, key=lambda route: route[0] == "auth.logout")


def test_every_route_declares_a_rule_and_is_in_the_matrix(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint != "static"}
    undeclared = sorted(e for e in endpoints if getattr(app.view_functions[e], "access_rules", None) is None)
    assert not undeclared, f"routes without an access rule: {undeclared}"
    assert endpoints == set(EXPECTED), f"update EXPECTED: {sorted(endpoints ^ set(EXPECTED))}"


def _allowed(expected, role):
    if expected == ANY:
        return True
    if expected == SIGNED_IN:
        return role is not None
    return role in expected


@pytest.mark.parametrize("role", [None, "patient", "doctor", "cns"])
def test_access_matrix(app, people, role):
    client = app.test_client()
    if role == "cns":  # the administrators' routes are in the matrix too; other agents: test_staff_administration
        people[role].profile.is_administrator = True
        db.session.commit()
    if role:
        sign_in(client, people[role])
    for endpoint, method, path in _routes(app):
        response = client.open(path, method=method)
        location = response.headers.get("Location", "")
        assert response.status_code < 500, (endpoint, response.status_code)
        if _allowed(EXPECTED[endpoint], role):
            assert response.status_code != 403, f"{role} refused on {endpoint}"
            assert not location.startswith("/login?next="), f"{role} sent to sign in on {endpoint}"
        elif role is None:
            assert response.status_code == 303 and location.startswith("/login?next="), (endpoint, location)
        else:
            assert response.status_code == 403, f"{role} reached {endpoint}: {response.status_code}"


def test_htmx_request_without_session_gets_hx_redirect(client):
    response = client.get("/patient/invoices", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.headers["HX-Redirect"].startswith("/login?next=")
    assert b"<form" not in response.data
