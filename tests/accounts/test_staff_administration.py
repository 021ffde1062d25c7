"""The administrators' page /cns/admin/accounts: who reaches it, and what blocking from it does."""

from __future__ import annotations

import pytest

from portal.accounts import blocking
from portal.extensions import db
from portal.models import AccountBlock, AccountStatus, AuditEvent, Fund
from tests.fixtures.clients import in_english, page, signed_in_as, text_of

ADMIN_ROUTES = ("cns.admin_accounts", "cns.admin_block", "cns.admin_unblock", "cns.admin_deactivate")


@pytest.fixture
def administrator(app, make_staff):
    person = make_staff(administrator=True)
    return in_english(signed_in_as(app, person)), person


def test_every_administrators_route_is_listed_here(app):
    # A new admin route must join the refusal test below.
    found = {rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint.startswith("cns.admin_")}
    assert found == set(ADMIN_ROUTES)


@pytest.mark.parametrize("fund", [Fund.CNS, Fund.CMFEP, Fund.CMFEC, Fund.EMCFL])
def test_an_agent_who_is_not_an_administrator_is_refused_everywhere(app, people, make_staff, fund):
    agent = make_staff(fund=fund)
    client = in_english(signed_in_as(app, agent))
    target = people["patient"].account.id
    assert client.get(f"/cns/admin/accounts?login={people['patient'].login}").status_code == 403
    for action, data in (("block", {"block-reason": "x"}), ("unblock", {"unblock-reason": "x"}),
                         ("deactivate", {"deactivate-reason": "x", "deactivate-confirm": "y"})):
        assert client.post(f"/cns/admin/accounts/{target}/{action}", data=data).status_code == 403
    db.session.refresh(people["patient"].account)
    assert people["patient"].account.status == AccountStatus.ACTIVE
    assert "/cns/admin/accounts" not in client.get("/cns/").get_data(as_text=True)  # no link either


def test_an_agent_of_another_fund_flagged_administrator_is_still_refused(app, make_staff):
    agent = make_staff(fund=Fund.CMFEP, administrator=True)  # set behind the operator command's back
    assert in_english(signed_in_as(app, agent)).get("/cns/admin/accounts").status_code == 403


@pytest.mark.parametrize("role", ["patient", "doctor"])
def test_other_roles_are_refused(app, people, role):
    assert in_english(signed_in_as(app, people[role])).get("/cns/admin/accounts").status_code == 403


def test_an_administrator_blocks_and_unblocks_an_account(app, people, administrator):
    client, admin_person = administrator
    patient = people["patient"]
    victim_browser = in_english(signed_in_as(app, patient))
    home = client.get("/cns/")
    assert "/cns/admin/accounts" in home.get_data(as_text=True)
    found = client.get(f"/cns/admin/accounts?login={patient.login}")
    assert found.status_code == 200 and "Active" in text_of(found)
    assert db.session.scalar(db.select(db.func.count()).select_from(AuditEvent)
                             .where(AuditEvent.event == "account.looked_up")) == 1

    response = client.post(f"/cns/admin/accounts/{patient.account.id}/block",
                           data={"block-reason": "Called: phone stolen at the station."})
    assert response.status_code == 303
    db.session.refresh(patient.account)
    assert patient.account.status == AccountStatus.BLOCKED
    block = blocking.current_block(patient.account)
    assert (block.source, block.created_by_id) == ("staff", admin_person.account.id)
    assert victim_browser.get("/patient/").headers["Location"].startswith("/login")
    listing = text_of(client.get("/cns/admin/accounts"))
    assert patient.login in listing and "Called: phone stolen at the station." in listing and "Staff" in listing

    response = client.post(f"/cns/admin/accounts/{patient.account.id}/unblock",
                           data={"unblock-reason": "Owner came in with an identity card."})
    assert response.status_code == 303
    db.session.refresh(patient.account)
    assert patient.account.status == AccountStatus.ACTIVE


def test_a_block_needs_a_reason_and_saves_nothing_without_one(people, administrator):
    client, _person = administrator
    patient = people["patient"]
    response = client.post(f"/cns/admin/accounts/{patient.account.id}/block", data={"block-reason": "  "})
    assert response.status_code == 400
    db.session.refresh(patient.account)
    assert patient.account.status == AccountStatus.ACTIVE
    assert db.session.scalar(db.select(db.func.count()).select_from(AccountBlock)) == 0


def test_a_this_wasnt_me_block_reaches_the_list(people, administrator):
    client, _person = administrator
    blocking.block(people["patient"].account, source="alert", reason="This wasn't me (password reset).")
    db.session.commit()
    rows = page(client.get("/cns/admin/accounts")).select("tbody tr")
    assert len(rows) == 1
    assert people["patient"].login in rows[0].get_text() and "this wasn't me" in rows[0].get_text()


def test_an_administrator_deactivates_a_doctor(app, people, administrator):
    client, _person = administrator
    doctor = people["doctor"]
    doctor_browser = in_english(signed_in_as(app, doctor))
    unconfirmed = client.post(f"/cns/admin/accounts/{doctor.account.id}/deactivate",
                              data={"deactivate-reason": "Retired."})
    assert unconfirmed.status_code == 400
    response = client.post(f"/cns/admin/accounts/{doctor.account.id}/deactivate",
                           data={"deactivate-reason": "Retired.", "deactivate-confirm": "y"})
    assert response.status_code == 303
    db.session.refresh(doctor.account)
    assert doctor.account.status == AccountStatus.CLOSED
    assert doctor_browser.get("/doctor/").headers["Location"].startswith("/login")


def test_a_patient_is_not_deactivated_from_the_page(people, administrator):
    client, _person = administrator
    patient = people["patient"]
    response = client.post(f"/cns/admin/accounts/{patient.account.id}/deactivate",
                           data={"deactivate-reason": "No.", "deactivate-confirm": "y"})
    assert response.status_code == 400
    db.session.refresh(patient.account)
    assert patient.account.status == AccountStatus.ACTIVE


def test_an_unknown_account_id_gets_404(administrator):
    client, _person = administrator
    assert client.post("/cns/admin/accounts/999999/block", data={"block-reason": "x"}).status_code == 404


def test_an_unknown_login_says_so(administrator):
    client, _person = administrator
    assert "No account has this login." in text_of(client.get("/cns/admin/accounts?login=NOPE"))
