# Two commands for a newcomer: `make run` (portal with demo data) and `make test` (whole suite).
# Everything is installed from the locks (requirements*.lock), compiled from requirements*.txt by `make lock`.
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
# The lock is resolved for every platform from Python 3.11 on, so one file serves every machine.
COMPILE := $(BIN)/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes \
	--custom-compile-command "make lock"

.PHONY: install run test lint lock check-lock translations screenshots

install: $(VENV)/.installed

# --require-hashes and --no-deps: exactly what the lock names is installed, nothing resolved afresh.
$(VENV)/.installed: requirements-dev.lock
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes --no-deps -r requirements-dev.lock
	touch $@

run: install
	$(BIN)/flask --app app demo
	$(BIN)/flask --app app run --host $(HOST) --port $(PORT)

test: install
	$(BIN)/pytest

# Pictures of the main journeys in three languages, desktop and phone, from the demo data, into
# docs/screenshots/<lang>/ (needs /usr/bin/chromium). Its own portal, database and port: a running
# `make run` is left alone.
screenshots: install
	$(BIN)/python -m tests.screenshots

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python .ci/complexity.py

# After editing requirements.txt or requirements-dev.txt. Existing pins are kept unless a requirement
# changed; `make lock UPGRADE=--upgrade` moves everything to the newest allowed versions.
lock: install
	$(COMPILE) $(UPGRADE) requirements.txt -o requirements.lock
	$(COMPILE) $(UPGRADE) requirements-dev.txt -c requirements.lock -o requirements-dev.lock

# CI: the locks agree with the requirement files, and the virtualenv holds exactly what they name.
check-lock: install
	$(BIN)/python .ci/check_lock.py

# Extract source strings, merge them into the catalogues, compile (see README). The template is a
# by-product kept out of git; catalogues are rewritten only when a message changed.
translations: install
	$(BIN)/pybabel --quiet extract -F babel.cfg -k _l -k lazy_pgettext:1c,2 \
		--add-location=file --sort-output -o translations/messages.pot .
	$(BIN)/pybabel --quiet update -i translations/messages.pot -d translations --no-fuzzy-matching \
		--ignore-pot-creation-date
	$(BIN)/pybabel --quiet compile -d translations
