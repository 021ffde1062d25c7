"""Dates, times and amounts as each language writes them: one style per language, from one helper,
on pages, in PDFs and in messages. English is written as in Luxembourg: day-month-year."""

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from babel import dates, numbers
from flask_babel import force_locale, get_timezone, to_user_timezone

from portal.core import i18n

DAY = date(2026, 11, 29)
MOMENT = datetime(2026, 11, 29, 13, 5, tzinfo=UTC)  # 14:05 in Luxembourg (CET, UTC+1)

# language: (short date, medium date, long date, short date and time, an amount, a length of time)
EXPECTED = {
    "fr": ("29/11/2026", "29 nov. 2026", "29 novembre 2026", "29/11/2026 14:05", "1\u202f234,50\xa0€", "3\xa0jours"),
    "de": ("29.11.26", "29.11.2026", "29. November 2026", "29.11.26, 14:05", "1.234,50\xa0€", "3 Tage"),
    "en": ("29/11/2026", "29 Nov 2026", "29 November 2026", "29/11/2026, 14:05", "1,234.50\xa0€", "3 days"),
}


@pytest.mark.parametrize("lang", EXPECTED)
def test_each_language_writes_dates_times_and_amounts_its_own_way(app, lang):
    short, medium, long, moment, amount, days = EXPECTED[lang]
    with app.test_request_context(), force_locale(lang):
        assert i18n.date(DAY, "short") == short
        assert i18n.date(DAY) == medium
        assert i18n.date(DAY, "long") == long
        assert i18n.datetime(MOMENT, "short") == moment
        assert i18n.money(123450) == amount
        assert i18n.duration(timedelta(days=3)) == days


@pytest.mark.parametrize("lang", EXPECTED)
def test_templates_use_the_same_helpers(app, lang):
    short, medium, _long, moment, amount, _days = EXPECTED[lang]
    with app.test_request_context(), force_locale(lang):
        shown = app.jinja_env.from_string(
            "{{ day|date('short') }} | {{ day|date }} | {{ moment|datetime('short') }} | {{ cents|money }}"
        ).render(day=DAY, moment=MOMENT, cents=123450)
    assert shown == f"{short} | {medium} | {moment} | {amount}"


def test_english_is_never_written_the_american_way(app):
    with app.test_request_context(), force_locale("en"):
        written = [i18n.date(DAY, fmt) for fmt in ("short", "medium", "long", "full")]
        written += [i18n.datetime(MOMENT, fmt) for fmt in ("short", "medium")]
    for text in written:
        assert "11/29" not in text and "Nov 29" not in text and "November 29" not in text, text
        assert not re.search(r"\b[AP]M\b", text, re.IGNORECASE), text  # a 24-hour clock


def test_a_timestamp_is_dated_in_the_portal_time_zone(app):
    """A datetime asked for as a day goes through the same zone as the time shown next to it."""
    with app.test_request_context(), force_locale("en"):
        assert i18n.date(MOMENT, "short") == i18n.datetime(MOMENT, "short").split(",")[0]


@pytest.mark.parametrize(("stored", "shown"), [
    (datetime(2026, 11, 29, 23, 30, tzinfo=UTC), "30/11/2026, 00:30"),  # winter: UTC+1, already the next day
    (datetime(2026, 7, 14, 22, 15, tzinfo=UTC), "15/07/2026, 00:15"),  # summer: UTC+2
])
def test_times_are_shown_as_clocks_in_luxembourg_read_them(app, stored, shown):
    with app.test_request_context(), force_locale("en"):
        assert i18n.datetime(stored, "short") == shown
        assert i18n.date(stored, "short") == shown.split(",")[0]


def test_nothing_to_write_gives_an_empty_string(app):
    with app.test_request_context():
        assert i18n.date(None) == i18n.datetime(None) == i18n.money(None) == ""


# What the helpers wrote before they kept a parsed locale per language (issue 19): Babel called
# with the locale's name and flask-babel's time zone conversion, for every value.
def _as_before(lang: str, kind: str, value, fmt: str = "medium") -> str:
    name = i18n.FORMAT_LOCALES.get(lang, lang)
    if kind == "money":
        return numbers.format_currency(Decimal(value) / 100, "EUR", locale=name)
    if kind == "date":
        day = to_user_timezone(value) if isinstance(value, datetime) else value
        return dates.format_date(day, fmt, locale=name)
    if kind == "datetime":
        return dates.format_datetime(value, fmt, tzinfo=get_timezone(), locale=name)
    return dates.format_timedelta(value, locale=name)


CENTS = [0, 1, 5, 10, 99, 100, 101, 5770, 50776, 99999, 100000, 123450, 999999, 1000000, 123456789,
         10**12 + 7, -1, -99, -5770, -123450, -10**9]
DAYS = [date(2026, 1, 1), DAY, date(1999, 12, 31), date(2030, 2, 28)]
MOMENTS = [MOMENT, datetime(2026, 7, 14, 22, 15, tzinfo=UTC), datetime(2026, 3, 29, 0, 59, tzinfo=UTC),
           datetime(2026, 10, 25, 1, 30), datetime(2027, 12, 31, 23, 59, 59, tzinfo=UTC)]
LENGTHS = [timedelta(seconds=40), timedelta(minutes=5), timedelta(hours=7), timedelta(days=3), timedelta(days=400)]


@pytest.mark.parametrize("lang", EXPECTED)
def test_the_kept_formats_write_every_value_as_babel_did_per_call(app, lang):
    with app.test_request_context(), force_locale(lang):
        kept = i18n.formats()
        for cents in CENTS:
            assert kept.money(cents) == i18n.money(cents) == _as_before(lang, "money", cents), cents
        for fmt in ("short", "medium", "long", "full"):
            for value in DAYS + MOMENTS:
                assert kept.date(value, fmt) == i18n.date(value, fmt) == _as_before(lang, "date", value, fmt), value
        for fmt in ("short", "medium"):
            for value in MOMENTS:
                assert kept.datetime(value, fmt) == _as_before(lang, "datetime", value, fmt), value
        for value in LENGTHS:
            assert kept.duration(value) == _as_before(lang, "duration", value), value


def test_large_and_negative_sums_are_written_in_full(app):
    with app.test_request_context(), force_locale("de"):
        assert i18n.money(123456789) == "1.234.567,89\xa0€"
        assert i18n.money(-5770) == "-57,70\xa0€"


def test_the_formats_follow_a_forced_language_inside_a_page(app):
    """A PDF or a message written in another language during a request uses that language."""
    with app.test_request_context("/?lang=de"):
        page = i18n.formats()
        with force_locale("fr"):
            assert i18n.formats() is not page
            assert i18n.money(123450) == EXPECTED["fr"][4]
        assert i18n.formats() is page
