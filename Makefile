# The whole set-up is two commands: `make run` and `make test` (see README.md).
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# The Python the virtualenv is made with: python3.11 (what CI runs), else the first of
# python3, python3.14, python3.13, python3.12 on the PATH that is 3.11 or later;
# `make PYTHON=…` chooses another. Looked up only when the virtualenv is made.
PYTHON_CANDIDATES := python3.11 python3 python3.14 python3.13 python3.12
IS_RECENT := -c 'import sys; sys.exit(sys.version_info < (3, 11))'
PYTHON ?= $(shell for p in $(PYTHON_CANDIDATES); do \
	command -v $$p >/dev/null 2>&1 && $$p $(IS_RECENT) 2>/dev/null && { echo $$p; break; }; \
	done)

.PHONY: serve worker run test install node migrate demo lint format bench bench-load e2e clean

$(STAMP): requirements.lock pyproject.toml
	@test -x $(PY) || { \
	  test -n "$(PYTHON)" || { \
	    echo "No Python 3.11 or later on the PATH (looked for $(PYTHON_CANDIDATES)):" \
	         "install one, or run make PYTHON=/path/to/python3.x" >&2; exit 1; }; \
	  $(PYTHON) $(IS_RECENT) 2>/dev/null || { \
	    echo "$(PYTHON) is not Python 3.11 or later: run make PYTHON=/path/to/python3.x" >&2; \
	    exit 1; }; \
	  echo "Making $(VENV) with $(PYTHON) ($$($(PYTHON) -V))"; \
	  $(PYTHON) -m venv $(VENV); }
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	touch $(STAMP)

install: $(STAMP)

# npm packages the tests and build scripts need (package.json, locked): the OpenID Connect
# test provider, the design system's charts. Installed only when the lock file changes, and
# only where npm is: without it, the tests that need them are skipped (with the reason).
NODE_STAMP := node_modules/.installed
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

ifneq ($(shell command -v npm 2>/dev/null),)
node: $(NODE_STAMP)
else
node:
	@echo "npm not found: npm packages not installed; the tests that need node are skipped."
endif

migrate: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput --verbosity 0

demo: migrate
	$(PY) manage.py load_geography
	$(PY) manage.py load_demo

run: demo
	$(PY) manage.py runserver 127.0.0.1:8000

# -rs: each skipped test's reason (no node, no Chromium, SQLite) in the summary.
test: install node
	$(PY) -m pytest -n 2 -q -rs

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/lint-imports

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Production: settings from the environment (MESADS_PRODUCTION=true); migrations are a
# deploy step (`python manage.py migrate`), never run at start.
serve: install
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(VENV)/bin/gunicorn mesads.wsgi -c gunicorn.conf.py

# The background worker: every queue of the project (e-mails, imports, default); production
# runs one `--queues emails` and one `--queues imports,default` (README, Production).
worker: install
	$(PY) manage.py worker

bench: install
	$(PY) bench/pages.py

# Load on the production server (gunicorn, 3 workers) with wrk: DURATION seconds a scenario.
bench-load: install
	$(PY) bench/load.py

clean:
	rm -rf $(VENV) var
