"""CNS staff read claim figures for a period, within their fund scope."""

from __future__ import annotations

from flask import render_template, request
from flask_babel import gettext as _
from flask_babel import ngettext

from portal import audit
from portal.claims import statistics
from portal.core import svg_chart
from portal.web import ownership, states, traced
from portal.web.access import allow
from portal.web.cns.blueprint import bp
from portal.web.cns.forms import CHANNEL_CHOICES, StatisticsForm

HOUR = 3600
DAY = 24 * HOUR


def in_words(seconds: float) -> str:
    """A duration as people say it: hours under two days, days beyond."""
    if seconds < HOUR:
        return _("less than an hour")
    if seconds < 2 * DAY:
        hours = round(seconds / HOUR)
        return ngettext("%(num)d hour", "%(num)d hours", hours)
    days = round(seconds / DAY)
    return ngettext("%(num)d day", "%(num)d days", days)


@bp.get("/statistics", endpoint="statistics")
@allow("cns")
def statistics_page():
    form = StatisticsForm(request.args)
    period = form.period(statistics.Period.last_days())
    if period is None:
        return render_template("cns/statistics.html", form=form, report=None), 400
    for field, day in ((form.date_from, period.start), (form.date_to, period.end)):
        field.data, field.raw_data = day, None  # show the period used, defaults included
    report = statistics.report(ownership.current_agent(), period)
    audit.record(audit.CLAIM_STATISTICS_VIEWED, date_from=period.start.isoformat(), date_to=period.end.isoformat())
    html = render_template(
        "cns/statistics.html", form=form, report=report, state_labels=states.labels("claim"),
        channel_labels=dict(CHANNEL_CHOICES),
        state_chart=svg_chart.bars(report.by_state), fund_chart=svg_chart.bars(report.by_fund),
        channel_chart=svg_chart.bars(report.by_channel),
        median=in_words(report.median_seconds or 0), p90=in_words(report.p90_seconds or 0),
    )
    return traced.page(html)
