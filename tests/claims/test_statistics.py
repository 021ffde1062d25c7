"""CNS staff read claim figures for a period: counts by state, fund and channel, decision times."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from portal.claims import qr, review, statistics
from portal.core import clock
from portal.extensions import db
from portal.models import AuditEvent, Fund
from tests.claims.test_cns_queue import MAX_QUERIES
from tests.fixtures.clients import page, signed_in_as, text_of, url_for
from tests.fixtures.queries import count_queries

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
HOURS = (1, 2, 3, 4, 10)  # from sharing to decision: median 3 h, 90th percentile 7.6 h


@pytest.fixture
def figures(app, make_patient, make_doctor, make_staff, make_claim, make_invoice):
    patient, civil_servant, doctor, staff = make_patient(), make_patient(fund=Fund.CMFEP), make_doctor(), make_staff()
    for day, hours in enumerate(HOURS):
        shared = T0 + timedelta(days=day)
        clock.freeze(shared)
        claim = make_claim(civil_servant if day == 0 else patient, doctor, staff, state="in_review")
        clock.freeze(shared + timedelta(hours=hours))
        if day == 4:
            review.reject(claim, staff.profile, version=claim.version, reason="duplicate")
        else:
            review.accept(claim, staff.profile, version=claim.version)
        db.session.commit()
    clock.freeze(T0 + timedelta(days=6))
    make_claim(patient, doctor)  # still waiting
    paper = make_invoice(patient, doctor, paid_on_site=False)
    review.intake_paper(qr.qr_payload(paper), staff.profile)
    db.session.commit()
    clock.freeze(T0 + timedelta(days=400))  # long ago: outside the period looked at
    make_claim(patient, doctor)
    clock.freeze(None)
    return staff


PERIOD = statistics.Period(date(2026, 5, 1), date(2026, 5, 31))


def test_counts_and_decision_times_for_a_known_set(figures, make_staff):
    report = statistics.report(figures.profile, PERIOD)
    assert report.total == 7
    assert report.by_state == {"shared": 2, "in_review": 0, "info_requested": 0, "accepted": 4, "rejected": 1,
                               "withdrawn": 0}
    assert report.by_fund == {"CNS": 6, "CMFEP": 1, "CMFEC": 0, "EMCFL": 0}
    assert report.by_state_fund[("accepted", "CMFEP")] == 1
    assert report.by_channel == {"digital": 6, "paper_qr": 1}
    assert report.decided == 5
    assert report.median_seconds == pytest.approx(3 * 3600)
    assert report.p90_seconds == pytest.approx(7.6 * 3600)

    cmfep = statistics.report(make_staff(fund=Fund.CMFEP).profile, PERIOD)
    assert (cmfep.total, cmfep.decided, cmfep.median_seconds) == (1, 1, pytest.approx(3600))
    empty = statistics.report(figures.profile, statistics.Period(date(2025, 1, 1), date(2025, 1, 31)))
    assert (empty.total, empty.decided, empty.median_seconds, empty.p90_seconds) == (0, 0, None, None)


def test_percentiles_interpolate_like_postgresql():
    assert statistics.percentile([], 0.5) is None
    assert statistics.percentile([5.0], 0.9) == 5.0
    assert statistics.percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert statistics.percentile([1.0, 2.0, 3.0, 4.0, 10.0], 0.9) == pytest.approx(7.6)


def test_the_page_shows_tables_charts_and_times_in_words(figures, app):
    client = signed_in_as(app, figures, lang="en")
    url = url_for("cns.statistics", date_from="2026-05-01", date_to="2026-05-31")
    with count_queries() as statements:
        response = client.get(url)
    assert response.status_code == 200
    assert len(statements) <= MAX_QUERIES, statements
    text = text_of(response)
    assert "5 claims were decided in this period." in text
    assert "Median time from sharing to decision 3 hours" in text
    assert "nine claims in ten were decided within) 8 hours" in text
    html = page(response)
    charts = html.select("svg[role=img]")
    assert len(charts) == 3
    for chart in charts:
        ids = chart["aria-labelledby"].split()
        assert all(html.find(id=name) for name in ids)
        assert chart.find("title").get_text(strip=True) and chart.select("rect")
        assert not chart.select("[style]")
    assert "Accepted: 4" in charts[0].find("desc").get_text()
    rows = {row.th.get_text(strip=True): [td.get_text(strip=True) for td in row.select("td")]
            for row in html.select("table")[0].select("tbody tr")}
    assert rows["Accepted"] == ["3", "1", "0", "0", "4"]
    channels = {row.th.get_text(strip=True): row.td.get_text(strip=True) for row in html.select("table")[1].select("tbody tr")}
    assert channels == {"Digital": "6", "Paper with QR code": "1"}
    viewed = db.session.scalars(db.select(AuditEvent).where(AuditEvent.event == "claim.statistics_viewed")).all()
    assert [event.data for event in viewed] == [{"date_from": "2026-05-01", "date_to": "2026-05-31"}]


def test_the_default_period_is_the_last_ninety_days(figures, app):
    client = signed_in_as(app, figures, lang="en")
    html = page(client.get(url_for("cns.statistics")))
    today = clock.today()
    assert html.select_one("#date_to")["value"] == today.isoformat()
    assert html.select_one("#date_from")["value"] == (today - timedelta(days=89)).isoformat()


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"date_from": "2023-01-01", "date_to": "2026-01-01"}, "date_to", "two years at most"),
        ({"date_from": "2026-05-31", "date_to": "2026-05-01"}, "date_to", "cannot be before"),
        ({"date_from": "2001-01-01"}, "date_from", "two years at most"),
        ({"date_from": "31/12/2026"}, "date_from", ""),
        ({"date_to": "9999-12-31"}, "date_to", "between 2000 and 2100"),
        ({"date_from": "'; DROP TABLE claim; --"}, "date_from", ""),
    ],
)
def test_an_invalid_period_is_refused_with_a_field_error(figures, app, query, field, message):
    client = signed_in_as(app, figures, lang="en")
    response = client.get(url_for("cns.statistics", **query))
    assert response.status_code == 400
    error = page(response).select_one(f"#{field}-error")
    assert error is not None and message in error.get_text()
    assert not page(response).select("main svg")


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(0, "less than an hour"), (3599, "less than an hour"), (3600, "1 hour"), (47 * 3600, "47 hours"),
     (2 * 86400, "2 days"), (10.4 * 86400, "10 days")],
)
def test_durations_read_in_hours_or_days(app, seconds, words):
    from portal.web.cns.statistics import in_words

    with app.test_request_context("/?lang=en"):
        assert in_words(seconds) == words
