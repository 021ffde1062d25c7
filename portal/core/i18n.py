"""Locale selection: an explicit choice, then the browser's preference, then French."""

from __future__ import annotations

from decimal import Decimal

from flask import Flask, current_app, request, session
from flask_babel import format_currency, format_date, format_datetime, get_locale, refresh
from flask_login import current_user

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


def money(cents: int | None) -> str:
    if cents is None:
        return ""

    return format_currency(Decimal(cents) / 100, "EUR")


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["date"] = lambda value, fmt="medium": format_date(value, fmt) if value else ""
    app.jinja_env.filters["datetime"] = lambda value, fmt="medium": format_datetime(value, fmt) if value else ""
