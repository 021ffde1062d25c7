"""The portal's application factory: it reads like a table of contents."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from portal import cli
from portal import config as settings
from portal.config import ROOT
from portal.core import (
    assets,
    database,
    errors,
    forms,
    headers,
    i18n,
    inbound,
    jobs,
    prepared,
    query_count,
    rate_limits,
    reading,
    reconnect,
)
from portal.extensions import csrf, db, htmx, login_manager, migrate
from portal.models.types import render_item
from portal.web import access, closed, templating
from portal.web.activation import bp as activation
from portal.web.auth import bp as auth
from portal.web.cns import bp as cns
from portal.web.doctor import bp as doctor
from portal.web.patient import bp as patient
from portal.web.public import bp as public


def create_app(overrides: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(settings.INSTANCE),
    )
    app.config.update(settings.load(overrides))
    register_proxy(app)
    register_extensions(app)
    register_blueprints(app)
    register_request_hooks(app)
    register_errors(app)
    register_cli(app)
    return app


def register_proxy(app: Flask) -> None:
    hops = app.config["TRUSTED_PROXIES"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    database.configure(app)
    reconnect.init_app(app)
    prepared.init_app(app)
    reading.init_app(app)
    jobs.init_app(app)
    migrate.init_app(
        app,
        db,
        directory=str(ROOT / "migrations"),
        render_as_batch=True,
        compare_type=True,
        render_item=render_item,
    )
    csrf.init_app(app)
    htmx.init_app(app)
    rate_limits.init_app(app)
    i18n.init_app(app)
    login_manager.init_app(app)


def register_blueprints(app: Flask) -> None:
    for blueprint in (public, auth, activation, patient, doctor, cns):
        app.register_blueprint(blueprint)


def register_request_hooks(app: Flask) -> None:
    inbound.init_app(app)  # first: a request that is not UTF-8 is refused before anything reads it
    closed.init_app(app)  # then: during a maintenance window nothing else runs
    forms.init_app(app)
    access.init_app(app)
    headers.init_app(app)
    templating.init_app(app)
    query_count.init_app(app)
    assets.init_app(app)


def register_errors(app: Flask) -> None:
    errors.init_app(app)


def register_cli(app: Flask) -> None:
    cli.init_app(app)
