# The whole set-up is two commands: `make run` and `make test` (see README.md).
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: serve worker run test install node migrate demo lint format bench bench-load e2e clean

$(STAMP): requirements.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	touch $(STAMP)

install: $(STAMP)

# npm packages the tests and build scripts need (package.json, locked): the OpenID Connect
# test provider, the design system's charts. Installed only when the lock file changes.
NODE_STAMP := node_modules/.installed
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

node: $(NODE_STAMP)

migrate: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput --verbosity 0

demo: migrate
	$(PY) manage.py load_geography
	$(PY) manage.py load_demo

run: demo
	$(PY) manage.py runserver 127.0.0.1:8000

test: install node
	$(PY) -m pytest -n 2 -q

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run

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
