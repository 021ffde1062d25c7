"""SQL injection: hostile strings in every filter, search and look-up.

Each string is sent in one parameter at a time (and in all of a page's filters at once). The
answer is a page (200) or a page with a field error (400), never a 5xx; the rows shown stay
within what the person may see (a patient's own invoices, a doctor's own, a fund's own claims
and requests); a search for the string finds nothing; what is reflected back is escaped; and
every table is still there, with the same rows, afterwards.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import inspect

from portal.extensions import db
from portal.models import Account, AuditEvent, Claim, Credential, DataRequest, Fund, Invoice, UserSession
from portal.privacy import rights
from portal.web.cns.claims import FILTER_NAMES
from tests.conftest import make_app
from tests.fixtures.claims import new_claim
from tests.fixtures.clients import sign_in, text_of
from tests.fixtures.figures import Tally
from tests.fixtures.invoices import new_invoice
from tests.security.test_stored_xss import live_parts

SQL = [
    "' OR '1'='1",
    "' OR 1=1--",
    '" OR ""="',
    "1 OR 1=1",
    "1; DROP TABLE invoice;--",
    "1'); DROP TABLE credential;--",
    "%' UNION SELECT password_hash FROM credential--",
    "' UNION SELECT NULL, NULL, NULL--",
    "1' AND (SELECT COUNT(*) FROM account) > 0 AND '1'='1",
    "'; SELECT pg_sleep(5);--",
    "%",
    "_",
    "\\",
    "'",
]
ODD = [
    "x" * 5000,
    "Ünïcödé – 日本語 – 🙂",
    "\u202etxt.exe",
    "abc\x00def",
    "²",
    "١٢",
    "-1",
    "99999999999999999999999",
    "1e309",
    "NaN",
    "2024-02-30",
    "9999-12-31",
    '"><script>alert(1)</script>',
]
INJECTIONS = SQL + ODD
SEARCH_OK = {200, 400}


class Probe:
    """Sends a request, checks its status and that nothing came back unescaped."""

    def __init__(self, tally: Tally):
        self.tally = tally
        self.problems: list[str] = []
        self.reflections = 0

    def send(self, client, method: str, url: str, value: str, *, allowed=SEARCH_OK, **kwargs):
        response = client.open(url, method=method, **kwargs)
        where = f"{method} {url[:120]}"
        if response.status_code not in allowed:
            self.problems.append(f"{where} with {value[:60]!r}: {response.status_code} {text_of(response)[:200]}")
        if response.mimetype == "text/html":
            found = live_parts(BeautifulSoup(response.get_data(as_text=True), "html.parser"), value)
            self.reflections += len(found)
            self.problems += [f"{where} with {value[:60]!r}: {problem}" for problem in found]
        return response


@pytest.fixture
def probe(figures):
    checked = Probe(Tally())
    yield checked
    figures.add("security.requests", checked.tally.requests)
    figures.add("security.5xx", checked.tally.server_errors)
    figures.add("security.unescaped_reflections", checked.reflections)
    figures.add("security.sql.injection_requests", checked.tally.requests)


def client_of(app, probe: Probe, person):
    client = probe.tally.client(app)
    sign_in(client, person)
    return client


def ids_linked(response, pattern: str) -> set[int]:
    return {int(found) for found in re.findall(pattern, response.get_data(as_text=True))}


def counts() -> dict[str, int]:
    return {model.__tablename__: db.session.scalar(db.select(db.func.count()).select_from(model))
            for model in (Account, Credential, Invoice, Claim, DataRequest)}


class Intact:
    """Every table the models declare still exists at the end, with the rows it had at the start."""

    def __init__(self):
        self.before = counts()

    def check(self) -> None:
        tables = set(inspect(db.session.connection()).get_table_names())
        missing = {table.name for table in db.metadata.sorted_tables} - tables
        assert not missing, f"tables gone: {missing}"
        assert counts() == self.before


def finish(probe: Probe, intact: Intact) -> None:
    assert probe.tally.server_errors == 0
    assert probe.problems == [], "\n".join(probe.problems[:40])
    intact.check()


# --- The fund's queue -----------------------------------------------------------------------------

@pytest.fixture
def two_funds(make_patient, make_doctor, make_staff):
    doctor = make_doctor()
    cns_patient, cmfep_patient = make_patient(), make_patient(fund=Fund.CMFEP)
    cns_claims = {new_claim(cns_patient, doctor).id for _ in range(3)}
    cmfep_claims = {new_claim(cmfep_patient, doctor).id for _ in range(3)}
    return {
        "doctor": doctor, "cns_patient": cns_patient, "cmfep_patient": cmfep_patient,
        "cns_claims": cns_claims, "cmfep_claims": cmfep_claims,
        "cns_agent": make_staff(), "cmfep_agent": make_staff(fund=Fund.CMFEP),
    }


def test_queue_filters_never_show_another_funds_claims(app, two_funds, probe):
    agent = client_of(app, probe, two_funds["cmfep_agent"])
    baseline = ids_linked(agent.get("/cns/claims"), r"/cns/claims/(\d+)\"")
    assert baseline == two_funds["cmfep_claims"]
    intact = Intact()
    for value in INJECTIONS:
        every_filter = {name: value for name in (*FILTER_NAMES, "after")}
        attempts = [({name: value}, {}) for name in (*FILTER_NAMES, "after")]
        attempts += [(every_filter, {}), (every_filter, {"HX-Request": "true"}), ({"state": "", "doctor": value}, {})]
        for args, headers in attempts:
            response = probe.send(agent, "GET", "/cns/claims", value, query_string=args, headers=headers)
            shown = ids_linked(response, r"/cns/claims/(\d+)\"")
            assert shown <= two_funds["cmfep_claims"], f"{args}: another fund's claims {shown - baseline}"
    finish(probe, intact)


def test_queue_filters_take_hostile_strings_for_every_agent(app, two_funds, probe):
    agent = client_of(app, probe, two_funds["cns_agent"])
    everything = two_funds["cns_claims"] | two_funds["cmfep_claims"]
    intact = Intact()
    for value in INJECTIONS:
        every_filter = {name: value for name in (*FILTER_NAMES, "after")}
        response = probe.send(agent, "GET", "/cns/claims", value, query_string=every_filter)
        assert ids_linked(response, r"/cns/claims/(\d+)\"") <= everything
        # A search by provider code: a string a provider code could be finds no doctor, so no
        # claim; any other is refused with a field error and the filter is left out.
        response = probe.send(agent, "GET", "/cns/claims", value, query_string={"state": "", "doctor": value})
        if re.fullmatch(r"[0-9A-Za-z]{1,12}", value):
            assert ids_linked(response, r"/cns/claims/(\d+)\"") == set(), value
    finish(probe, intact)


def test_data_request_register_filters_stay_within_the_fund(app, two_funds, probe):
    mine = rights.request_correction(two_funds["cmfep_patient"].profile, "name", "Accent.",
                                      by=two_funds["cmfep_patient"].account)
    rights.request_correction(two_funds["cns_patient"].profile, "name", "Accent.", by=two_funds["cns_patient"].account)
    db.session.commit()
    agent = client_of(app, probe, two_funds["cmfep_agent"])
    intact = Intact()
    for value in INJECTIONS:
        for args in ({"kind": value}, {"state": value}, {"page": value}, {"kind": value, "state": value, "page": value}):
            response = probe.send(agent, "GET", "/cns/data-requests", value, query_string=args)
            assert ids_linked(response, r"/cns/data-requests/(\d+)\"") <= {mine.id}, args
    finish(probe, intact)


def test_paper_intake_refuses_hostile_references_and_creates_nothing(app, two_funds, probe):
    agent = client_of(app, probe, two_funds["cns_agent"])
    claims_before = db.session.scalar(db.select(db.func.count()).select_from(Claim))
    intact = Intact()
    for value in INJECTIONS:
        probe.send(agent, "POST", "/cns/paper-intake", value, data={"payload": value}, allowed={400})
    assert db.session.scalar(db.select(db.func.count()).select_from(Claim)) == claims_before
    finish(probe, intact)


def test_statistics_periods_take_hostile_strings(app, two_funds, probe):
    agent = client_of(app, probe, two_funds["cns_agent"])
    intact = Intact()
    for value in INJECTIONS:
        for args in ({"date_from": value}, {"date_to": value}, {"date_from": value, "date_to": value}):
            probe.send(agent, "GET", "/cns/statistics", value, query_string=args)
    finish(probe, intact)


# --- The patient's lists --------------------------------------------------------------------------

def test_a_patient_sees_only_their_own_invoices_whatever_the_filters(app, make_patient, make_doctor, probe):
    doctor, other_doctor = make_doctor(), make_doctor(name="Dr Only-Neighbour")
    patient, neighbour = make_patient(), make_patient()
    own = {new_invoice(patient, doctor).id, new_invoice(patient, other_doctor).id}
    theirs = [new_invoice(neighbour, who) for who in (doctor, other_doctor)]
    new_claim(neighbour, doctor)
    # The neighbour's access log names the doctor who opened their invoice; the patient's never does.
    other_doctor_client = client_of(app, probe, other_doctor)
    assert other_doctor_client.get(f"/doctor/invoices/{theirs[1].id}").status_code == 200
    assert "Only-Neighbour" in text_of(client_of(app, probe, neighbour).get("/patient/my-data/access-log"))
    client = client_of(app, probe, patient)
    assert ids_linked(client.get("/patient/invoices"), r"/patient/invoices/(\d+)\"") == own
    intact = Intact()
    for value in INJECTIONS:
        names = ("state", "date_from", "date_to", "doctor", "page")
        for args in [{name: value} for name in names] + [{name: value for name in names}]:
            response = probe.send(client, "GET", "/patient/invoices", value, query_string=args)
            assert ids_linked(response, r"/patient/invoices/(\d+)\"") <= own, args
        for url in ("/patient/claims", "/patient/notifications"):
            response = probe.send(client, "GET", url, value, query_string={"page": value})
            assert ids_linked(response, r"/patient/claims/(\d+)\"") == set()
        response = probe.send(client, "GET", "/patient/my-data/access-log", value, query_string={"before": value})
        assert "Only-Neighbour" not in text_of(response), f"{value!r} showed the neighbour's access log"
        probe.send(client, "GET", "/patient/invoices/share", value, query_string={"invoice": value}, allowed={303})
    finish(probe, intact)


# --- The doctor's lists and look-ups --------------------------------------------------------------

def test_a_doctor_sees_only_their_own_invoices_whatever_the_filters(app, make_patient, make_doctor, probe):
    doctor, other_doctor = make_doctor(), make_doctor()
    patient = make_patient()
    own = {new_invoice(patient, doctor).id, new_invoice(patient, doctor, paid_on_site=False).id}
    new_invoice(patient, other_doctor)
    client = client_of(app, probe, doctor)
    intact = Intact()
    for value in INJECTIONS:
        names = ("state", "date_from", "date_to", "channel", "page")
        for args in [{name: value} for name in names] + [{name: value for name in names}]:
            headers = {"HX-Request": "true"} if len(args) > 1 else {}
            response = probe.send(client, "GET", "/doctor/invoices", value, query_string=args, headers=headers)
            assert ids_linked(response, r"/doctor/invoices/(\d+)\"") <= own, args
    finish(probe, intact)


def test_an_act_search_for_a_hostile_string_finds_nothing(app, make_doctor, probe):
    client = client_of(app, probe, make_doctor())
    intact = Intact()
    for value in INJECTIONS:
        for headers in ({}, {"HX-Request": "true"}):
            response = probe.send(client, "GET", "/doctor/acts", value, query_string={"q": value}, headers=headers)
            rows = BeautifulSoup(response.get_data(as_text=True), "html.parser").select("#act-results tbody tr")
            words = value[:60].lower().split()
            for row in rows:  # whatever is found contains every word searched for
                assert all(word in row.get_text(" ").lower() for word in words), (value, row.get_text(" "))
            if value in SQL and value not in ("%", "_", "\\", "'"):
                assert rows == [], f"{value!r} found {len(rows)} acts"
    finish(probe, intact)


def test_a_patient_look_up_with_a_hostile_string_finds_nobody(app, make_patient, make_doctor, probe):
    registered = [make_patient(given_name="Paul", surname="Reuter"), make_patient(given_name="Sophie", surname="Weis")]
    client = client_of(app, probe, make_doctor())
    invoices_before = db.session.scalar(db.select(db.func.count()).select_from(Invoice))
    intact = Intact()
    for value in INJECTIONS:
        lookups = [
            probe.send(client, "GET", "/doctor/activations", value, query_string={"matricule": value}),
            probe.send(client, "GET", "/doctor/activations", value, query_string={"matricule": value},
                       headers={"HX-Request": "true"}),
            probe.send(client, "POST", "/doctor/activations", value,
                       data={"matricule": value, "birth_date": "1980-05-17", "document_type": "identity_card",
                             "document_last4": "AB12",
                             "mobile": "+352621123456", "language": "fr", "identity_checked": "y"}),
            probe.send(client, "POST", "/doctor/invoices/new", value,
                       data={"matricule": value, "service_date": "2024-01-10", "lines-0-code": value,
                             "lines-0-quantity": "1", "replaces": value, "submit": "1"}),
            probe.send(client, "GET", "/doctor/invoices/new", value, query_string={"replaces": value}),
        ]
        for response in lookups:
            for person in registered:
                assert person.profile.surname not in text_of(response), f"{value!r} revealed {person.profile.surname}"
    assert db.session.scalar(db.select(db.func.count()).select_from(Invoice)) == invoices_before
    finish(probe, intact)


# --- Sign-in and addresses that carry a reference -------------------------------------------------

def test_sign_in_with_hostile_strings_signs_nobody_in(app, people, probe):
    client = probe.tally.client(app)
    intact = Intact()
    for value in INJECTIONS:
        for login in (value, people["patient"].login):
            probe.send(client, "POST", "/login", value, data={"login": login, "password": value})
            with client.session_transaction() as session:
                assert "signin" not in session and "sid" not in session, f"{login!r} / {value!r} got through"
        probe.send(client, "POST", "/forgot", value,
                   data={"login": value, "code": value, "new_password": value, "confirm": value})
        probe.send(client, "POST", "/activate", value, data={"code": value}, allowed={200, 303, 400})
    finish(probe, intact)


def test_references_in_addresses_take_hostile_strings(app, people, probe):
    visitor = probe.tally.client(app)
    patient = client_of(app, probe, people["patient"])
    intact = Intact()
    for value in INJECTIONS:
        segment = quote(value, safe="")
        probe.send(visitor, "GET", f"/activate/request/{segment}", value, allowed={404})
        # %2F decodes to a slash: such a token is no address at all (404).
        probe.send(visitor, "GET", f"/activate/{segment}", value, allowed={303, 404})
        probe.send(patient, "GET", f"/patient/my-data/export/{segment}", value, allowed={404})
        probe.send(patient, "POST", f"/account/sessions/{segment}/end", value, allowed={404})
        # Where to go back to is shown in links and form actions: escaped, and never off the site.
        response = probe.send(patient, "GET", "/patient/bank-account", value, query_string={"next": f"/patient/{value}"})
        for link in BeautifulSoup(response.get_data(as_text=True), "html.parser").select("main a[href]"):
            assert link["href"].startswith("/"), link["href"]
        probe.send(visitor, "GET", "/login", value, query_string={"next": value})
    assert patient.get("/patient/").status_code == 200, "a hostile session id ended the session"
    finish(probe, intact)


# --- A forwarded address is a header like any other -----------------------------------------------

def test_a_forwarded_address_that_is_no_address_is_not_stored_and_breaks_nothing(people, probe):
    # Behind TRUSTED_PROXIES, remote_addr comes from X-Forwarded-For: with one proxy too many
    # configured, it is whatever the client sent. It is kept (audit rows, sessions) only when
    # it is an IP address; before, a long one failed every sign-in on PostgreSQL with a 500.
    proxied = make_app(TRUSTED_PROXIES=2)
    patient = people["patient"]
    intact = Intact()
    for value in [*INJECTIONS, "203.0.113.9"]:
        client = probe.tally.client(proxied)
        client.environ_base["HTTP_X_FORWARDED_FOR"] = f"{quote(value, safe=' ')}, 198.51.100.1"
        probe.send(client, "POST", "/login", value, data={"login": patient.login, "password": "wrong password"})
        sign_in(client, patient)
    stored = {row.ip for row in db.session.scalars(db.select(AuditEvent))} | {
        row.ip for row in db.session.scalars(db.select(UserSession))}
    assert stored - {None} == {"203.0.113.9"}, stored
    finish(probe, intact)
