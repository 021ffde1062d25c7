"""`flask --app app worker [--burst]`: one RQ worker for the portal's queue (portal/core/jobs.py).
Start as many as the load needs, on any machine that reaches the database and Redis.

`flask --app app scheduler`: queues the repeating jobs when they are due (the workers run them).
Run exactly one: two would queue each job twice (harmless, the jobs are idempotent, but wasted)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from rq import SimpleWorker
from rq.cron import CronScheduler

from portal.core import jobs, schema
from portal.extensions import db


def _ready() -> None:
    problem = schema.problem()
    db.session.remove()  # the check's transaction must not stay open (on SQLite, locked) while jobs run
    if problem:
        raise click.ClickException(problem)
    if not current_app.config["REDIS_URL"]:
        raise click.ClickException("REDIS_URL is not set: jobs run inline after each commit, no worker is needed.")


@click.command("worker")
@click.option("--burst", is_flag=True, help="Run the jobs waiting now, then exit.")
@with_appcontext
def worker_command(burst: bool) -> None:
    """Run the jobs the portal queues (messages, exports); needs REDIS_URL."""
    _ready()
    queue = jobs.queue()
    # A SimpleWorker runs each job in this process: the app, its configuration and its
    # connection pool are built once, where a forking worker would pay a fork per job and have to
    # dispose of the inherited pool in every child. A job that hangs still ends at RQ's timeout;
    # one that kills the process loses only that process (each job is safe to run again).
    # with_scheduler: the jobs asked for later (retries that back off) are moved to the queue when
    # due; RQ lets one worker at a time do that.
    worker = SimpleWorker([queue], connection=queue.connection)
    worker.work(burst=burst, with_scheduler=True, logging_level="WARNING")


def scheduler_command(repeating: list[tuple]):
    """The `scheduler` command for (function, every N seconds or None, cron line or None) rows."""

    @click.command("scheduler")
    @with_appcontext
    def scheduler() -> None:
        """Queue the repeating jobs when due (run one, beside the workers); needs REDIS_URL."""
        _ready()
        queue = jobs.queue()
        cron = CronScheduler(connection=queue.connection, logging_level="WARNING")
        for func, seconds, line in repeating:
            name = f"{func.__module__}.{func.__qualname__}"
            cron.register(jobs.run_in_app, queue.name, args=(name, (), {}), interval=seconds, cron=line, name=name)
        cron.start()

    return scheduler
