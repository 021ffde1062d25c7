"""The doctor's money from direct payment: payment runs and pending amounts, the remittance
statement of a run (PDF), a CSV for accounting software, and the bank account it is paid into."""

from __future__ import annotations

from flask import Response, flash, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.accounts import stepup
from portal.claims import direct_payment, payments
from portal.core import htmx, i18n, identity
from portal.extensions import db
from portal.web import ownership, traced
from portal.web.access import allow
from portal.web.doctor.blueprint import bp
from portal.web.doctor.forms import BankAccountForm


@bp.get("/payments", endpoint="payments")
@allow("doctor")
def payments_page():
    doctor = ownership.current_doctor()
    return traced.page(render_template("doctor/payments.html", facts=payments.overview(doctor)))


@bp.get("/payments/<int:statement_id>/remittance.pdf")
@allow("doctor")
def remittance_pdf(statement_id: int):
    """The remittance statement of the payment run this statement is paid in."""
    doctor = ownership.current_doctor()
    run = ownership.found_or_refused(payments.run_of(doctor, statement_id), "statement", statement_id)
    content = payments.remittance_pdf(doctor, run, i18n.language())
    return traced.pdf_file(content, f"remittance-{run.payment_date.isoformat()}.pdf")


@bp.get("/payments.csv")
@allow("doctor")
def payments_csv():
    content = payments.csv_export(ownership.current_doctor())
    traced.page("")  # commits the audit rows before the file leaves
    return Response(content, mimetype="text/csv", headers={
        "Content-Disposition": 'attachment; filename="payments.csv"', "Cache-Control": "no-store",
    })


@bp.route("/bank-account", methods=["GET", "POST"])
@allow("doctor")
def bank_account():
    doctor = ownership.current_doctor()
    form = BankAccountForm()
    if form.validate_on_submit():
        # Money goes where this says: a session alone (a copied cookie) is not enough.
        account = current_user._get_current_object()
        problem = stepup.check(account, form.password.data, form.code.data, stage="bank_account")
        if problem is None:
            direct_payment.set_doctor_iban(doctor, form.iban.data, by=account)
            db.session.commit()
            flash(_("Your bank account has been saved."), "success")
            return htmx.redirect(url_for("doctor.bank_account"))
        db.session.commit()  # a failure counts, like a failed sign-in
        stepup.add_error(form, problem)
    return render_template("doctor/bank_account.html", form=form, iban=identity.masked_iban(doctor.iban)), (
        400 if form.errors else 200)
