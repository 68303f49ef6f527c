# `make run` and `make test` each do the whole set-up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' && { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
# `make run` serves on PORT (honcho hands it to the Procfile's web process); emailed links
# start with SITE_URL, which follows PORT unless set. Both come from the environment too.
PORT ?= 8000
SITE_URL ?= http://localhost:$(PORT)

.PHONY: run test lint format venv npm clean bench-smoke

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.11 or newer is needed"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# axe-core for the accessibility tests and Lighthouse for bench/lighthouse.py; without npm
# those tests skip and say why.
npm: node_modules/.installed

node_modules/.installed: package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "npm not found: the accessibility (axe-core) tests will skip"; fi

run: venv
	mkdir -p var/celery-broker/processed
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_demo
	@echo "Staff login: http://localhost:$(PORT)/accounts/login/  (Ctrl-C stops web, worker and beat)"
	@echo "admin and platform then ask for a code: add the key above to an authenticator app, or use a recovery code."
	@echo "Emails are printed below, each with its patient link (starting $(SITE_URL)/p/)."
	PORT='$(PORT)' SITE_URL='$(SITE_URL)' PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start --port '$(PORT)'

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/bandit --configfile pyproject.toml --recursive --severity-level medium --quiet \
		clinic patients aftercare scripts gunicorn.conf.py
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: venv npm lint
	exports=$$($(BIN)/python scripts/services.py) || exit 1; eval "$$exports"; \
	$(BIN)/python manage.py makemigrations --check --dry-run >/dev/null && \
	$(BIN)/pytest $(PYTEST_ARGS)

# Every bench/*.py once at a tiny size (tests/bench/test_benchmarks_run.py, about 30 s).
# `make test` runs them already, as part of the suite.
bench-smoke: venv
	exports=$$($(BIN)/python scripts/services.py) || exit 1; eval "$$exports"; \
	$(BIN)/pytest tests/bench $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) var staticfiles db.sqlite3 node_modules
