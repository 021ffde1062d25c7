"""Values every template can use."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Flask, current_app, g, request, url_for
from markupsafe import Markup

from portal.accounts import cookies, guardians
from portal.core import i18n
from portal.web import form_fields, states, words

LANGUAGE_NAMES = {"fr": "Français", "de": "Deutsch", "en": "English"}


def language_url(code: str) -> str:
    """The current page in another language (a plain link: works without JavaScript)."""
    args = request.args.to_dict(flat=False) if request.method == "GET" else {}
    args["lang"] = [code]
    return f"{request.path}?{urlencode(args, doseq=True)}"


def inject() -> dict:
    return {
        "current_language": i18n.language(),
        "language_names": LANGUAGE_NAMES,
        "language_url": language_url,
        "user_session": g.get("user_session"),
        "home_url": _home_url(),
        # Callables: asked only by the templates that show them (the header, which an htmx
        # fragment does not draw), so a page without them does not query the household.
        "spaces": spaces,
        "unread_notices": unread_notices,
    }


def unread_notices() -> int | None:
    """For a signed-in patient: the new notices of the space they are in, as many as its list
    marks "New" (a child's space counts in the space menu). A callable, so the count is asked
    only where a template shows the counter; it comes with the spaces' own query."""
    account, row = g.get("account"), g.get("user_session")
    if account is None or account.role != "patient" or row is None or row.locked_at is not None:
        return None

    return guardians.unread_count(account, guardians.acting_patient(account))


def spaces() -> dict | None:
    """For a parent: their own space and their children's, for the account menu."""
    account = g.get("account")
    if account is None or account.role != "patient" or g.get("user_session") is None:
        return None

    children = guardians.children_of(account)
    if not children:
        return None
    return {"children": children, "current": guardians.acting_patient(account),
            "own": guardians.own_patient(account), "unread": guardians.household(account).unread}


_WRITTEN: dict[tuple, Markup] = {}


def _written_once(name: str, key: tuple, **context) -> Markup:
    """The output of template `name`, which depends on nothing but `key`: rendered the first
    time, then kept for the life of the process (the keys are few: roles, pages, languages)."""
    key = (name, i18n.language(), request.script_root, *key)
    found = _WRITTEN.get(key)
    if found is None:
        written = current_app.jinja_env.get_template(name).render(**context)
        lines = "\n".join(line for line in written.splitlines() if line.strip())
        found = _WRITTEN[key] = Markup(lines)  # noqa: S704  # nosec B704 - a template's output, escaped by it
    return found


def role_links(role: str, which: str) -> Markup:
    """The header's links for everyone with `role` (templates/layouts/_role_links.html), written
    once per language and page: every page draws them, a dozen translated links and URLs."""
    return _written_once("layouts/_role_links.html", (role, which, request.endpoint),
                         role=role, which=which, current=request.endpoint)


def site_footer() -> Markup:
    """The footer (templates/layouts/_footer.html), the same on every page: written once per
    language."""
    demo, contact = current_app.config["DEMO_MODE"], current_app.config["PUBLIC_CONTACT_EMAIL"]
    return _written_once("layouts/_footer.html", (demo, contact), demo_mode=demo, contact_email=contact)


def _home_url() -> str:
    account = g.get("account")
    return url_for(f"{account.role}.home") if account is not None else url_for("public.home")


def init_app(app: Flask) -> None:
    app.context_processor(inject)
    app.jinja_env.globals["state_of_kind"] = states.state  # for components/states.html
    app.jinja_env.globals["essential_cookies"] = cookies.essential  # for components/cookies.html
    app.jinja_env.globals["channel_words"] = words.CHANNELS  # for components/invoice.html
    app.jinja_env.globals["form_field"] = form_fields.field  # for components/forms.html
    app.jinja_env.globals["role_links"] = role_links  # for layouts/_header.html
    app.jinja_env.globals["site_footer"] = site_footer  # for layouts/base.html
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
