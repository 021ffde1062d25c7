"""Every GET page, and how to reach it: who is signed in, its URL with real ids, and the
steps a page needs first (a sign-in under way, an activation at a given step).

A route with no entry here fails test_query_counts.py until it gets one or an exemption.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask import url_for
from sqlalchemy import update

from portal.accounts import terms, totp
from portal.core import clock
from portal.extensions import db
from portal.models import Credential, UserSession
from tests.fixtures.activation import sent_code
from tests.fixtures.clients import page as parsed
from tests.fixtures.clients import text_of
from tests.fixtures.factories import PASSWORD
from tests.fixtures.queries import PAGE_BUDGET
from tests.perf.world import World

# GET routes that are not pages, with the reason they have no case. Routes without GET
# (sign-out, decisions, uploads…) are not pages and are not listed.
EXEMPT = {
    "static": "files from disk, no database",
}

HTMX = {"HX-Request": "true"}
NEW_PASSWORD = "violet tractor under the bridge"


@dataclass(frozen=True)
class Page:
    endpoint: str
    who: str | None  # a client of World.clients, or None: a new anonymous browser
    url: Callable[[World], str]
    variant: str = ""
    status: int = 200
    prepare: Callable[[World, object], None] | None = None  # run before counting
    cleanup: Callable[[object], None] | None = None  # undo what prepare left in the browser's cookie
    headers: dict = field(default_factory=dict)
    budget: int = PAGE_BUDGET  # a page-specific budget needs a written reason next to it

    @property
    def id(self) -> str:
        return f"{self.endpoint}[{self.variant or '-'}]@{self.who or 'anonymous'}"


def _to(endpoint: str, **ids: str) -> Callable[[World], str]:
    """A URL for `endpoint`; each keyword names the key in World.ids that holds the argument."""

    def build(w: World) -> str:
        return url_for(endpoint, **{arg: w.ids[key] for arg, key in ids.items()})

    return build


def _with(endpoint: str, **args) -> Callable[[World], str]:
    return lambda _w: url_for(endpoint, **args)


# --- Preparations ------------------------------------------------------------------------------

def _password_step_done(w: World, client) -> None:
    response = client.post("/login", data={"login": w.ids["patient_login"], "password": PASSWORD})
    assert response.status_code == 303, text_of(response)


def _enrol_started(w: World, client) -> None:
    response = client.post("/login", data={"login": w.ids["unenrolled_login"], "password": PASSWORD})
    assert response.headers["Location"] == url_for("auth.enrol")
    assert client.get(url_for("auth.enrol")).status_code == 200


def _temporary_password_given(w: World, client) -> None:
    """The staff account still holds the password an operator gave: it must choose its own first."""
    db.session.execute(
        update(Credential).where(Credential.account_id == w.ids["unenrolled_account"])
        .values(is_password_temporary=True)
    )
    db.session.commit()
    response = client.post("/login", data={"login": w.ids["unenrolled_login"], "password": PASSWORD})
    assert response.headers["Location"] == url_for("auth.new_password"), text_of(response)


def _reset_begun(w: World, client) -> None:
    """The first factor of a reset given (a recovery code, so no sign-in's TOTP step is spent)."""
    recovery = totp.issue_recovery_codes(w.ids["patient_account"])[0]
    db.session.commit()
    response = client.post("/forgot", data={"login": w.ids["patient_login"], "code": recovery})
    assert response.headers["Location"] == url_for("auth.forgot_confirm"), text_of(response)


def _block_begun(w: World, client) -> None:
    response = client.post("/block", data={"login": w.ids["patient_login"]})
    assert response.headers["Location"] == url_for("public.block_confirm"), text_of(response)


def _locked(w: World, _client) -> None:
    db.session.execute(
        update(UserSession).where(UserSession.account_id == w.ids["patient_account"]).values(locked_at=clock.now())
    )
    db.session.commit()


def _new_terms(_w: World, _client) -> None:
    terms.publish(terms.bundled_texts(1))
    db.session.commit()


def _activation_at(step: str) -> Callable[[World, object], None]:
    """Walk an activation with the registry person's code up to `step`."""

    def walk(w: World, client) -> None:
        assert client.get(url_for("activation.link", token=w.ids["activation_token"])).status_code == 303
        if step == "birth_date":
            return
        client.post(url_for("activation.proceed"), data={"birth_date": w.ids["registry_birth"]})
        if step == "contact_code":
            return
        client.post(url_for("activation.proceed"), data={"contact_code": sent_code()})
        if step == "password":
            return
        client.post(url_for("activation.proceed"), data={"new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
        secret = parsed(client.get(url_for("activation.proceed"))).select_one("code.secret").get_text().replace(" ", "")
        if step == "authenticator":
            return
        client.post(url_for("activation.proceed"), data={"code": totp.code_for(secret)})
        assert step == "terms"

    return walk


def _awaiting_staff(w: World, client) -> None:
    assert client.get(url_for("activation.link", token=w.ids["unreachable_token"])).status_code == 303
    client.post(url_for("activation.proceed"), data={"birth_date": w.ids["registry_birth"]})


def _guardian_step(w: World, client) -> None:
    assert client.get(url_for("activation.link", token=w.ids["child_token"])).status_code == 303
    client.post(url_for("activation.proceed"), data={"birth_date": w.ids["child_birth"]})


def _forget_activation(client) -> None:
    with client.session_transaction() as cookie:
        cookie.pop("activation", None)


# --- The pages --------------------------------------------------------------------------------------

PUBLIC = ["public.home", "public.terms_of_use", "public.privacy", "public.legal_notice", "public.accessibility",
          "public.erased", "public.outbox", "public.healthz", "public.help"]
SIGNED_IN = ["auth.account_sessions", "auth.change_password", "auth.session_status"]
ROLES = ("patient", "doctor", "cns")
# The patient's pages that show the space's own records, measured in a child's space too.
CHILD_SPACE = ["patient.home", "patient.invoices", "patient.claims", "patient.notifications", "patient.my_data",
               "patient.access_log", "patient.settings", "patient.bank_account", "patient.help"]

PAGES: list[Page] = [
    *(Page(endpoint, who, _with(endpoint)) for endpoint in PUBLIC for who in (None, "patient")),
    # Activation, signing in and the account
    Page("activation.start", None, _with("activation.start")),
    Page("activation.link", None, _to("activation.link", token="activation_token"), status=303),
    Page("activation.invalid", None, _with("activation.invalid")),
    *(Page("activation.proceed", None, _with("activation.proceed"), step, prepare=_activation_at(step))
      for step in ("birth_date", "contact_code", "password", "authenticator", "terms")),
    Page("activation.proceed", None, _with("activation.proceed"), "awaiting_staff", prepare=_awaiting_staff),
    Page("activation.proceed", "patient", _with("activation.proceed"), "guardian", prepare=_guardian_step,
         cleanup=_forget_activation),
    Page("activation.authenticator_qr", None, _with("activation.authenticator_qr"),
         prepare=_activation_at("authenticator")),
    Page("activation.identity_request", None, _with("activation.identity_request")),
    Page("activation.request_status", None, _to("activation.request_status", reference="identity_reference")),
    Page("auth.login", None, _with("auth.login")),
    Page("auth.code", None, _with("auth.code"), prepare=_password_step_done),
    Page("auth.recovery", None, _with("auth.recovery"), prepare=_password_step_done),
    Page("auth.enrol", None, _with("auth.enrol"), prepare=_enrol_started),
    Page("auth.enrol_qr", None, _with("auth.enrol_qr"), prepare=_enrol_started),
    Page("auth.new_password", None, _with("auth.new_password"), prepare=_temporary_password_given),
    Page("auth.forgot", None, _with("auth.forgot")),
    Page("auth.forgot_confirm", None, _with("auth.forgot_confirm"), prepare=_reset_begun),
    Page("public.block", None, _with("public.block")),
    Page("public.not_me", None, _to("public.not_me", token="alert_token")),
    Page("public.block_confirm", None, _with("public.block_confirm"), prepare=_block_begun),
    Page("auth.terms_refused", None, _with("auth.terms_refused")),
    Page("auth.unlock", "patient", _with("auth.unlock"), prepare=_locked),
    Page("auth.terms_accept", "patient", _with("auth.terms_accept"), prepare=_new_terms),
    *(Page(endpoint, who, _with(endpoint)) for endpoint in SIGNED_IN for who in ROLES),
    Page("auth.session_status", "patient", _with("auth.session_status"), "polled", headers=HTMX),
    # The patient
    *(Page(endpoint, "child_space", _with(endpoint)) for endpoint in CHILD_SPACE),
    Page("patient.home", "patient", _with("patient.home")),
    Page("patient.help", "patient", _with("patient.help")),
    Page("patient.invoices", "patient", _with("patient.invoices")),
    Page("patient.invoices", "patient", lambda w: url_for("patient.invoices", state="issued",
                                                          doctor=w.ids["doctor"], page=1), "filtered"),
    Page("patient.invoices", "patient", _with("patient.invoices", page=1), "fragment", headers=HTMX),
    Page("patient.invoice", "patient", _to("patient.invoice", invoice_id="unshared"), "unshared"),
    Page("patient.invoice", "patient", _to("patient.invoice", invoice_id="invoice_accepted"), "claimed"),
    Page("patient.invoice", "patient", _to("patient.invoice", invoice_id="replacement"), "replacement"),
    Page("patient.invoice", "patient", _to("patient.invoice", invoice_id="voided"), "voided"),
    Page("patient.invoice", "child_space", _to("patient.invoice", invoice_id="child_invoice")),
    Page("patient.invoice_pdf_download", "patient", _to("patient.invoice_pdf_download", invoice_id="unshared")),
    Page("patient.share", "patient", lambda w: url_for("patient.share", invoice=[w.ids["unshared"]])),
    Page("patient.report_invoice", "patient", _to("patient.report_invoice", invoice_id="unshared")),
    Page("patient.claims", "patient", _with("patient.claims")),
    *(Page("patient.claim", "patient", _to("patient.claim", claim_id=f"claim_{state}"), state)
      for state in ("shared", "in_review", "info_requested", "answered", "accepted", "rejected", "withdrawn")),
    Page("patient.claim", "child_space", _to("patient.claim", claim_id="child_claim")),
    Page("patient.statement", "patient", _to("patient.statement", claim_id="statement_claim")),
    Page("patient.statement", "child_space", _to("patient.statement", claim_id="child_claim")),
    Page("patient.statement_pdf", "patient", _to("patient.statement_pdf", claim_id="statement_claim")),
    Page("patient.notifications", "patient", _with("patient.notifications")),
    Page("patient.notification_count", "patient", _with("patient.notification_count"), headers=HTMX),
    Page("patient.notification_count", "child_space", _with("patient.notification_count"), headers=HTMX),
    Page("patient.settings", "patient", _with("patient.settings")),
    Page("patient.message_settings", "patient", _with("patient.message_settings")),
    Page("patient.confirm_contact", "patient", _with("patient.confirm_contact"), status=303),  # nothing waits
    Page("patient.bank_account", "patient", _with("patient.bank_account")),
    Page("patient.my_data", "patient", _with("patient.my_data")),
    Page("patient.contact_details", "patient", _with("patient.contact_details")),
    Page("patient.correction_request", "patient", _with("patient.correction_request")),
    Page("patient.access_log", "patient", _with("patient.access_log")),
    Page("patient.erase", "patient", _with("patient.erase")),
    Page("patient.export_download", "patient", _to("patient.export_download", token="export_token")),
    # The world's export is built: the answer tells htmx to stop polling.
    Page("patient.export_progress", "patient", _with("patient.export_progress"), "polled", status=286,
         headers=HTMX),
    # The doctor
    Page("doctor.home", "doctor", _with("doctor.home")),
    Page("doctor.invoices", "doctor", _with("doctor.invoices")),
    Page("doctor.invoices", "doctor", _with("doctor.invoices", state="voided", channel="digital"), "filtered"),
    Page("doctor.invoice", "doctor", _to("doctor.invoice", invoice_id="unshared"), "unshared"),
    Page("doctor.invoice", "doctor", _to("doctor.invoice", invoice_id="invoice_accepted"), "claimed"),
    Page("doctor.invoice", "doctor", _to("doctor.invoice", invoice_id="replacement"), "replacement"),
    Page("doctor.invoice_pdf_download", "doctor", _to("doctor.invoice_pdf_download", invoice_id="unshared")),
    Page("doctor.new_invoice", "doctor", _with("doctor.new_invoice")),
    Page("doctor.new_invoice", "doctor", _to("doctor.new_invoice", replaces="voided"), "correction"),
    Page("doctor.acts", "doctor", _with("doctor.acts")),
    Page("doctor.acts", "doctor", _with("doctor.acts", q="consultation"), "search", headers=HTMX),
    Page("doctor.activations", "doctor", _with("doctor.activations")),
    Page("doctor.activations", "doctor", _to("doctor.activations", matricule="registry_matricule",
                                             birth_date="registry_birth"), "lookup"),
    Page("doctor.reports", "doctor", _with("doctor.reports")),
    Page("doctor.help", "doctor", _with("doctor.help")),
    Page("doctor.invoice", "doctor", _to("doctor.invoice", invoice_id="direct_invoice"), "direct"),
    Page("doctor.payments", "doctor", _with("doctor.payments")),
    Page("doctor.bank_account", "doctor", _with("doctor.bank_account")),
    Page("doctor.payments_csv", "doctor", _with("doctor.payments_csv")),
    Page("doctor.remittance_pdf", "doctor", _to("doctor.remittance_pdf", statement_id="direct_statement")),
    # CNS staff
    Page("cns.home", "cns", _with("cns.home")),
    Page("cns.claims", "cns", _with("cns.claims")),
    Page("cns.claims", "cns", lambda w: url_for("cns.claims", state="", sort="newest", fund="CNS",
                                                doctor=w.ids["doctor_code"], amount_min="1"), "filtered"),
    Page("cns.claims", "cns", _to("cns.claims", after="queue_after"), "deeper", headers=HTMX),
    # After a decision: the claim decided (with its statement, and whether its rejection's notice
    # is still unread, which decides whether the agent may undo it: portal.claims.undo).
    Page("cns.claims", "cns", _to("cns.claims", decided="claim_rejected"), "after a decision"),
    Page("cns.claim", "cns", _to("cns.claim", claim_id="claim_shared", decided="claim_rejected"), "after a decision"),
    *(Page("cns.claim", "cns", _to("cns.claim", claim_id=f"claim_{state}"), state)
      for state in ("shared", "in_review", "info_requested", "answered", "accepted", "withdrawn")),
    # Rejected by this agent a moment ago: the page also says whether the patient read the notice (undo).
    Page("cns.claim", "cns", _to("cns.claim", claim_id="claim_rejected"), "rejected"),
    Page("cns.claim_document", "cns", _to("cns.claim_document", claim_id="claim_answered", event_id="answer_document")),
    Page("cns.paper_intake", "cns", _with("cns.paper_intake")),
    Page("cns.statistics", "cns", _with("cns.statistics")),
    Page("cns.identity_requests", "cns", _with("cns.identity_requests")),
    Page("cns.guardian_requests", "cns", _with("cns.guardian_requests")),
    Page("cns.activation_checks", "cns", _with("cns.activation_checks")),
    Page("cns.identity_request", "cns", _to("cns.identity_request", request_id="identity_request")),
    Page("cns.identity_request_document", "cns", _to("cns.identity_request_document", request_id="identity_request")),
    Page("cns.data_requests", "cns", _with("cns.data_requests")),
    Page("cns.data_request", "cns", _to("cns.data_request", request_id="data_request")),
    Page("cns.help_queue", "cns", _with("cns.help_queue")),
    Page("cns.help_request", "cns", _to("cns.help_request", request_id="help_request")),
    Page("cns.help_document", "cns", _to("cns.help_document", request_id="help_request")),
    Page("cns.terms_versions", "cns", _with("cns.terms_versions")),
    Page("cns.admin_accounts", "cns", _with("cns.admin_accounts")),
    Page("cns.admin_accounts", "cns", lambda w: url_for("cns.admin_accounts", login=w.ids["patient_login"]), "found"),
]
