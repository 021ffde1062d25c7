"""The administrators' page: find an account, block or unblock it, close a doctor's or agent's
account, and the list of blocks in force, which is how a "this wasn't me" alert reaches staff.

Only administrators (portal.web.cns.admin) reach it; the rules of each act live in
portal.professionals.operators and portal.accounts.blocking, shared with the operator's commands.
"""

from __future__ import annotations

import functools

from flask import flash, g, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_login import current_user

from portal import audit
from portal.accounts import blocking
from portal.core import htmx
from portal.extensions import db
from portal.models import Account, AccountStatus, Role
from portal.professionals.operators import AccountRefused, deactivate, resume, suspend
from portal.web import ownership, traced
from portal.web.access import allow
from portal.web.cns import admin
from portal.web.cns.blueprint import bp
from portal.web.cns.forms import AccountLookupForm, AdminBlockForm, AdminDeactivateForm, AdminUnblockForm

SOURCE_LABELS = {
    "owner": _l("The owner, from the page to block an account"),
    "alert": _l("The owner, from a “this wasn't me” alert"),
    "staff": _l("Staff"),
    "operator": _l("An operator"),
}

STATUS_LABELS = {
    "pending": _l("Not yet activated"),
    "active": _l("Active"),
    "suspended": _l("Suspended (consent withdrawn)"),
    "blocked": _l("Blocked"),
    "closed": lazy_pgettext("account status", "Closed"),  # not the "Closed" of a date column
}
ROLE_LABELS = {"patient": _l("Patient"), "doctor": _l("Doctor"), "cns": _l("Staff")}


@bp.get("/admin/accounts")
@allow("cns")
@admin.administrators_only
def admin_accounts():
    lookup = AccountLookupForm(request.args)
    found = None
    if request.args.get("login") is not None and lookup.validate():
        found = db.session.scalar(db.select(Account).where(Account.login == lookup.login.data))
        if found is not None:
            audit.record(audit.ACCOUNT_LOOKED_UP, account_id=found.id)
    html = _page(lookup, found)
    return traced.page(html)


def _page(lookup, found, *, block_form=None, unblock_form=None, deactivate_form=None):
    blocks = blocking.open_blocks()
    return render_template(
        "cns/admin_accounts.html", lookup=lookup, found=found,
        searched=request.args.get("login") is not None or request.method == "POST",
        # The block in force on the account found is one of those listed: no second query.
        block=next((block for block in blocks if found is not None and block.account_id == found.id), None),
        can_deactivate=found is not None and found.role in (Role.DOCTOR, Role.CNS)
        and found.status != AccountStatus.CLOSED,
        block_form=block_form or AdminBlockForm(formdata=None, prefix="block"),
        unblock_form=unblock_form or AdminUnblockForm(formdata=None, prefix="unblock"),
        deactivate_form=deactivate_form or AdminDeactivateForm(formdata=None, prefix="deactivate"),
        blocks=blocks, source_labels=SOURCE_LABELS, status_labels=STATUS_LABELS,
        role_labels=ROLE_LABELS,
    )


def _account(account_id: int) -> Account:
    return ownership.found_or_refused(db.session.get(Account, account_id), "account", account_id)


def _done(account: Account, message: str):
    db.session.commit()
    flash(message, "success")
    return htmx.redirect(url_for("cns.admin_accounts", login=account.login))


def _refused(account: Account, form, problem: str):
    db.session.rollback()
    form.reason.errors.append(problem)
    g.invalid_form = True
    return _with_form(account, form)


def _with_form(account: Account, form):
    """The account's page again, with this form (and its errors) in place of a blank one."""
    return _page(AccountLookupForm(formdata=None, login=account.login), account, **{_FORM_NAMES[type(form)]: form})


def _account_action(action: str, form_class):
    """An administrator's act on one account, posted from the accounts page to .../<action>: the
    route, the rules, the account and its form (three share the page: the prefix keeps their ids
    apart). The view runs with both once the form is valid, else the page shows its errors."""

    def decorate(view):
        @functools.wraps(view)
        def submitted(account_id: int):
            account = _account(account_id)
            form = form_class(prefix=action)
            if not form.validate_on_submit():
                return _with_form(account, form)
            return view(account, form)

        submitted.posted_form = (form_class, f"{action}-")  # which form the view reads: for the form fuzzer
        checked = allow("cns")(admin.administrators_only(submitted))
        return bp.post(f"/admin/accounts/<int:account_id>/{action}")(checked)

    return decorate


@_account_action("block", AdminBlockForm)
def admin_block(account: Account, form: AdminBlockForm):
    try:
        suspend(account, form.reason.data, source="staff", by=current_user)
    except AccountRefused:
        return _refused(account, form, _("This account cannot be blocked: it is closed."))
    return _done(account, _("The account %(login)s is blocked; every session ended.", login=account.login))


@_account_action("unblock", AdminUnblockForm)
def admin_unblock(account: Account, form: AdminUnblockForm):
    if not resume(account, form.reason.data, by=current_user):
        return _refused(account, form, _("This account is not blocked."))
    return _done(account, _("The block on %(login)s is lifted.", login=account.login))


@_account_action("deactivate", AdminDeactivateForm)
def admin_deactivate(account: Account, form: AdminDeactivateForm):
    if account.id == current_user.id:
        return _refused(account, form, _("You cannot deactivate your own account: ask another administrator."))
    try:
        deactivate(account, form.reason.data, by=current_user)
    except AccountRefused:
        return _refused(account, form, _("Only a doctor's or an agent's account that is still open can be deactivated."))
    return _done(account, _("The account %(login)s is closed.", login=account.login))


_FORM_NAMES = {AdminBlockForm: "block_form", AdminUnblockForm: "unblock_form", AdminDeactivateForm: "deactivate_form"}
