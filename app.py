"""Entry point: `flask --app app …` and `gunicorn app:app`."""

import gc

from portal import create_app

app = create_app()

# What start-up built (the application, its mappers, templates and catalogues: some 200,000
# objects) lives as long as the process. Frozen, it is left out of the collector's full
# passes, which otherwise walk all of it and stall a request for tens of milliseconds.
gc.freeze()
