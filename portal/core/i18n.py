"""Locale selection: an explicit choice, then the browser's preference, then French; and the one
way every page, PDF and message writes a date, a time or an amount in that language."""

from __future__ import annotations

from datetime import UTC, timedelta
from datetime import date as Date
from datetime import datetime as DateTime
from decimal import Decimal
from functools import lru_cache

from babel import Locale, dates, numbers
from flask import Flask, current_app, request, session
from flask_babel import get_locale, get_timezone, get_translations, refresh
from flask_login import current_user
from jinja2 import pass_context

from portal.extensions import babel, db


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    asked = request.args.get("lang")  # also on pages the guard never sees (404, CSRF errors)
    if asked in languages:
        return asked
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    if getattr(current_user, "is_authenticated", False) and current_user.preferred_language in languages:
        return current_user.preferred_language
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]


def language() -> str:
    """The language of the page being made: fr, de or en (French outside a request)."""
    return str(get_locale() or "fr")


def remember_choice() -> None:
    """`?lang=xx` on any page switches the language, for the session and the account."""
    lang = request.args.get("lang")
    if lang not in current_app.config["LANGUAGES"]:
        return
    session["lang"] = lang
    refresh()
    if getattr(current_user, "is_authenticated", False) and current_user.preferred_language != lang:
        current_user.preferred_language = lang
        db.session.commit()


# The formats of each language. Plain English formats are American (11/29/26, Nov 29, 2026,
# 2:05 PM, €1,234.50); people in Luxembourg read day-month-year, a 24-hour clock and the euro
# sign after the amount, which is CLDR's English for Europe. French and German keep their own.
FORMAT_LOCALES = {"en": "en_150"}


def format_locale() -> str:
    """The Babel locale that writes dates and amounts for the language of the page being made
    (also inside `force_locale`, as PDFs and messages use it)."""
    return FORMAT_LOCALES.get(language(), language())


class Formats:
    """How one language writes dates, times and amounts, in one time zone. The Babel locale is
    parsed once per process instead of once per value (flask-babel parses a locale name and walks
    its context proxies on every call): a list page writes a hundred amounts and dates. Take it
    once with `formats()` and write every value of a page with it."""

    def __init__(self, language: str, tz) -> None:
        self.name = FORMAT_LOCALES.get(language, language)
        self.locale = Locale.parse(self.name)
        self.tz = tz

    def date(self, value: Date | DateTime | None, fmt: str = "medium") -> str:
        if not value:
            return ""
        if isinstance(value, DateTime):
            value = self._local(value).date()
        return _date_text(self.name, value, fmt)

    def datetime(self, value: DateTime | None, fmt: str = "medium") -> str:
        if not value:
            return ""
        return _datetime_text(self.name, value, self.tz, fmt)

    def duration(self, value: timedelta) -> str:
        return dates.format_timedelta(value, locale=self.locale)

    def money(self, cents: int | None) -> str:
        if cents is None:
            return ""
        return _money_text(self.name, cents)

    def _local(self, value: DateTime) -> DateTime:
        # flask_babel.to_user_timezone, with the zone already in hand.
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return self.tz.normalize(value.astimezone(self.tz))


@lru_cache(maxsize=8192)
def _money_text(locale_name: str, cents: int) -> str:
    # Amounts repeat (the same fees, the same totals): each is written once per language.
    return numbers.format_currency(Decimal(cents) / 100, "EUR", locale=locale_name)


@lru_cache(maxsize=8192)
def _date_text(locale_name: str, day: Date, fmt: str) -> str:
    # Days repeat as amounts do (a list of invoices spans a few months): written once each.
    return dates.format_date(day, fmt, locale=locale_name)


@lru_cache(maxsize=8192)
def _datetime_text(locale_name: str, moment: DateTime, tz, fmt: str) -> str:
    # A queue shows the same moments on each of its pages and refreshes: each is written once.
    return dates.format_datetime(moment, fmt, tzinfo=tz, locale=locale_name)


_FORMATS: dict[tuple, Formats] = {}


def formats() -> Formats:
    """The formats of the page being made (French outside a request, as `language`)."""
    locale, tz = get_locale(), get_timezone()
    found = _FORMATS.get((locale, tz))
    if found is None:
        found = _FORMATS[(locale, tz)] = Formats(str(locale or "fr"), tz)
    return found


def date(value: Date | DateTime | None, fmt: str = "medium") -> str:
    """A day: "29 Nov 2026", "29 nov. 2026", "29.11.2026" (short, medium, long or full).
    A timestamp is first moved to the portal's time zone, so late evening stays on its day."""
    return formats().date(value, fmt)


def datetime(value: DateTime | None, fmt: str = "medium") -> str:
    """A moment, in the portal's time zone: "29/11/2026, 14:05" in English with "short"."""
    return formats().datetime(value, fmt)


def duration(value: timedelta) -> str:
    """A length of time in words: "3 days", "3 jours", "3 Tage"."""
    return formats().duration(value)


def money(cents: int | None) -> str:
    """An amount in euros: "1 234,50 €", "1.234,50 €", "1,234.50 €"."""
    return formats().money(cents)


# Templates translate through the catalogue each render is given once, under this name: the
# callables flask-babel installs look the request's catalogue up again for every word (its
# context proxies, its locale, its cache: about 20 µs a word, thirty words and more a page).
# A macro imported without the page's context has no such name and looks it up as before.
CATALOGUE = "_catalogue"


def _catalogue() -> dict:
    return {CATALOGUE: get_translations()}


@pass_context
def _template_gettext(context, string: str) -> str:
    return (context.get(CATALOGUE) or get_translations()).ugettext(string)


@pass_context
def _template_ngettext(context, singular: str, plural: str, number: int) -> str:
    return (context.get(CATALOGUE) or get_translations()).ungettext(singular, plural, number)


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.install_gettext_callables(_template_gettext, _template_ngettext, newstyle=True)
    app.context_processor(_catalogue)
    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["date"] = date
    app.jinja_env.filters["datetime"] = datetime
