"""CNS staff work the queue: counts per state, filters, keyset pages, fund scope."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from portal.claims import qr, review
from portal.core import clock, jobs
from portal.extensions import db
from portal.models import Fund
from tests.fixtures.clients import page, signed_in_as, text_of, url_for
from tests.fixtures.queries import count_queries

MAX_QUERIES = 8


@pytest.fixture
def office(app, make_patient, make_doctor, make_staff, make_claim):
    """Claims shared on different days, with different amounts, states, doctors and funds."""
    patient, civil_servant = make_patient(), make_patient(fund=Fund.CMFEP, given_name="Luc", surname="Weber")
    doctor, dentist = make_doctor(), make_doctor(name="Dr Paul Schmit")
    staff = make_staff()
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    made = {}
    for day, (name, who, by, acts, state) in enumerate([
        ("old", patient, doctor, (("C1", 1),), "shared"),
        ("big", patient, dentist, (("C1", 3),), "shared"),
        ("cmfep", civil_servant, doctor, (("C1", 2),), "shared"),
        ("review", patient, doctor, (("C1", 1),), "in_review"),
        ("done", patient, doctor, (("C1", 1),), "accepted"),
    ]):
        clock.freeze(start + timedelta(days=day))
        made[name] = make_claim(who, by, staff, state=state, acts=acts)
    clock.freeze(None)
    cast = {"patient": patient, "doctor": doctor, "dentist": dentist, "staff": staff}
    return signed_in_as(app, staff, lang="en"), made, cast


def references(response) -> list[str]:
    return [cell.get_text(strip=True) for cell in page(response).select("table.queue tbody th[scope=row]")]


def test_default_view_lists_what_waits_oldest_first_with_counts(office):
    client, made, _ = office
    response = client.get("/cns/claims")
    assert response.status_code == 200
    assert references(response) == [made["old"].reference, made["big"].reference, made["cmfep"].reference]
    counts = {a.get_text(" ", strip=True) for a in page(response).select(".state-counts a")}
    assert {"Waiting for review 3", "Under review 1", "Accepted 1", "Rejected 0", "All 5"} <= counts
    current = page(response).select_one(".state-counts a[aria-current]")
    assert current.get_text(" ", strip=True) == "Waiting for review 3"
    # The count of what the filters match, the state included, stands above the rows.
    assert page(response).select_one("#claim-queue .result-count").get_text(strip=True) == "3 claims match"
    link = page(response).select_one(f"a[href='{url_for('cns.claim', claim_id=made['old'].id)}']")
    assert link is not None
    row = page(response).select_one("table.queue tbody tr")
    assert "Marie Kremer" in row.get_text() and "CNS" in row.get_text() and "57.70\xa0€" in row.get_text()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"state": "in_review"}, ["review"]),
        ({"state": "accepted"}, ["done"]),
        ({"state": ""}, ["old", "big", "cmfep", "review", "done"]),
        ({"state": "", "fund": "CMFEP"}, ["cmfep"]),
        ({"state": "", "date_from": "2026-03-03", "date_to": "2026-03-04"}, ["big", "cmfep"]),
        ({"amount_min": "100", "amount_max": "120,00"}, ["cmfep"]),
        ({"amount_min": "150"}, ["big"]),
        ({"state": "", "channel": "paper_qr"}, []),
        ({"state": "", "channel": "digital", "sort": "newest"}, ["done", "review", "cmfep", "big", "old"]),
        ({"sort": "amount_high"}, ["big", "cmfep", "old"]),
    ],
)
def test_filters_narrow_the_queue(office, query, expected):
    client, made, _ = office
    response = client.get(url_for("cns.claims", **query))
    assert response.status_code == 200
    assert not page(response).select(".field-error"), text_of(response)
    assert references(response) == [made[name].reference for name in expected]


def test_a_filtered_count_stops_and_says_it_did(office, monkeypatch):
    client, _, _ = office
    monkeypatch.setattr(review, "COUNTED_UP_TO", 2)
    response = client.get(url_for("cns.claims", amount_min="1"))  # every claim costs more than 1 €
    counts = {a.get_text(" ", strip=True) for a in page(response).select(".state-counts a")}
    # Three wait: counting stopped past two. One under review, one accepted: exact.
    assert {"Waiting for review 2+", "Under review 1", "Accepted 1", "Rejected 0", "All 4+"} <= counts
    assert page(response).select_one("#claim-queue .result-count").get_text(strip=True) == (
        "More than 2 claims match: narrow the filters to count them.")
    accepted = client.get(url_for("cns.claims", amount_min="1", state="accepted"))
    assert page(accepted).select_one("#claim-queue .result-count").get_text(strip=True) == "1 claim matches"
    # The kept counts, read whole, never stop.
    assert "Waiting for review 3" in {a.get_text(" ", strip=True) for a in page(client.get("/cns/claims"))
                                      .select(".state-counts a")}


def test_doctor_filter_takes_a_provider_code(office):
    client, made, people = office
    response = client.get(url_for("cns.claims", state="", doctor=people["dentist"].profile.provider_code))
    assert references(response) == [made["big"].reference]
    unknown = client.get(url_for("cns.claims", doctor="12345678"))
    assert "No doctor has this provider code." in text_of(unknown)
    assert references(unknown) == []


def test_paper_claims_are_found_by_channel(office, make_invoice):
    client, made, people = office
    invoice = make_invoice(people["patient"], people["doctor"], paid_on_site=False)
    claim, _ = review.intake_paper(qr.qr_payload(invoice), people["staff"].profile)
    db.session.commit()
    response = client.get(url_for("cns.claims", channel="paper_qr"))
    assert references(response) == [claim.reference]
    assert "Paper with QR code" in text_of(response)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("state", "bogus"),
        ("fund", "XYZ"),
        ("date_from", "2026-13-45"),
        ("date_to", "9999-12-31"),
        ("amount_min", "abc"),
        ("amount_min", "NaN"),
        ("amount_max", "1e999"),
        ("amount_max", "-5"),
        ("amount_min", "12.345"),
        ("doctor", "'; DROP TABLE claim; --"),
        ("channel", "paper"),
        ("sort", "id; DELETE FROM claim"),
    ],
)
def test_invalid_filter_values_give_a_field_error_not_a_failure(office, name, value):
    client, made, _ = office
    response = client.get(url_for("cns.claims", **{name: value}))
    assert response.status_code == 200
    error = page(response).select_one(f"#{name}-error")
    assert error is not None and error.get_text(strip=True), text_of(response)
    assert len(references(client.get("/cns/claims?state="))) == 5  # nothing changed


def test_inverted_ranges_are_refused(office):
    client, _, _ = office
    response = client.get(url_for("cns.claims", date_from="2026-03-05", date_to="2026-03-01",
                                  amount_min="100", amount_max="50"))
    assert "The end date cannot be before the start date." in text_of(response)
    assert "The highest total cannot be below the lowest." in text_of(response)


@pytest.mark.parametrize("after", ["garbage", "1:2:3", ":", "99999999999999999999999:1", "-5:0", "1e9:1", "%00"])
def test_a_garbled_keyset_shows_the_first_page(office, after):
    client, made, _ = office
    response = client.get(f"/cns/claims?after={after}")
    assert response.status_code == 200
    assert references(response)[0] == made["old"].reference


@pytest.mark.parametrize("sort", list(review.SORTS))
def test_next_page_links_walk_every_claim_once(office, monkeypatch, sort):
    client, made, _ = office
    monkeypatch.setattr(review, "PAGE_SIZE", 2)
    url, seen, pages = url_for("cns.claims", state="", sort=sort), [], 0
    while url:
        response = client.get(url)
        seen += references(response)
        pages += 1
        if pages > 1:
            assert page(response).find("a", string="First page")["href"].startswith("/cns/claims?")
        following = page(response).find("a", string="Next page")
        url = following["href"] if following else None
        if url:
            assert "after=" in url and f"sort={sort}" in url
    assert pages == 3
    assert sorted(seen) == sorted(claim.reference for claim in made.values())


def test_fragment_for_htmx_and_form_wired_for_it(office):
    client, _, _ = office
    full = page(client.get("/cns/claims"))
    form = full.select_one("form.filters")
    assert form["method"] == "get" and form["action"] == "/cns/claims"
    assert form["hx-get"] == "/cns/claims" and form["hx-target"] == "#claim-queue" and form["hx-push-url"] == "true"
    for field in form.select("input:not([type=submit]), select"):
        assert full.select_one(f"label[for={field['id']}]"), field
    partial = client.get("/cns/claims?state=in_review", headers={"HX-Request": "true"})
    assert b"<html" not in partial.data and page(partial).select_one("#claim-queue")


def test_the_queue_page_stays_within_the_query_budget(office):
    client, _, people = office
    code = people["doctor"].profile.provider_code
    jobs.run_ready()  # the PDFs the office's claims queued: not the page's statements
    with count_queries() as statements:
        response = client.get(url_for("cns.claims", state="", doctor=code, amount_min="1", date_from="2026-01-01",
                                      channel="digital", after="1:1"))
    assert response.status_code == 200
    assert len(statements) <= MAX_QUERIES, statements


def test_fund_staff_see_only_their_fund(office, make_staff, app):
    _, made, _ = office
    client = signed_in_as(app, make_staff(fund=Fund.CMFEP), lang="en")
    response = client.get("/cns/claims?state=")
    assert references(response) == [made["cmfep"].reference]
    assert page(response).select_one("#fund") is None  # no fund to choose
    assert references(client.get("/cns/claims?state=&fund=CNS")) == [made["cmfep"].reference]
    assert "All 1" in text_of(response)
    # Counted from the claims (an amount filter) as from the kept counts: their fund's alone.
    filtered = client.get("/cns/claims?state=&amount_min=1")
    assert "All 1" in text_of(filtered) and references(filtered) == [made["cmfep"].reference]
    assert client.get(url_for("cns.claim", claim_id=made["old"].id)).status_code == 404
    assert client.get(url_for("cns.claim", claim_id=made["cmfep"].id)).status_code == 200


def test_home_links_the_queue_with_the_waiting_count(office):
    client, _, _ = office
    response = client.get("/cns/")
    assert "3 claims wait for review" in text_of(response)
    nav = page(response).select_one("nav.main-nav")  # the header carries the main pages
    for endpoint in ("cns.claims", "cns.paper_intake", "cns.statistics"):
        assert nav.select_one(f"a[href='{url_for(endpoint)}']")
