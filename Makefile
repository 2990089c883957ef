# Jinggeng: the two commands are `make run` and `make test` (see README.md).
# Everything is installed into .venv and node_modules; nothing is installed by hand.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test
PYTEST_ARGS ?=

.PHONY: run stop test install install-dev static messages browser lint typecheck contracts \
        migrations-check pytest-sqlite pytest-postgres clean bench

$(VENV)/.base: requirements/base.lock pyproject.toml
	@test -x $(BIN)/python || "$$(scripts/find-python)" -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements/base.lock
	$(BIN)/python -m pip install --quiet --no-deps -e . --config-settings editable_mode=compat
	@touch $@

$(VENV)/.dev: $(VENV)/.base requirements/dev.lock
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements/dev.lock
	@touch $@

install: $(VENV)/.base
install-dev: $(VENV)/.dev

# Front-end libraries come from the npm registry (package-lock.json) and are copied into
# static/vendor, which git ignores.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

static: node_modules/.installed
	@mkdir -p static/vendor/leaflet static/vendor/markercluster
	cp node_modules/htmx.org/dist/htmx.min.js static/vendor/
	cp node_modules/alpinejs/dist/cdn.min.js static/vendor/alpine.min.js
	cp node_modules/echarts/dist/echarts.min.js static/vendor/
	cp -r node_modules/leaflet/dist/leaflet.js node_modules/leaflet/dist/leaflet.js.map node_modules/leaflet/dist/leaflet.css node_modules/leaflet/dist/images static/vendor/leaflet/
	cp node_modules/leaflet.markercluster/dist/leaflet.markercluster.js node_modules/leaflet.markercluster/dist/leaflet.markercluster.js.map node_modules/leaflet.markercluster/dist/MarkerCluster.css node_modules/leaflet.markercluster/dist/MarkerCluster.Default.css static/vendor/markercluster/

# The browser tests (pytest -m browser) drive Debian's Chromium with Playwright at phone size;
# Chinese fonts make their screenshots readable. Installed once, with apt-get (root or sudo).
browser:
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || { \
	  echo "Installing Chromium for the browser tests (apt-get install chromium fonts-wqy-microhei)"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium fonts-wqy-microhei; }

messages: $(VENV)/.base
	cd jinggeng && ../$(BIN)/django-admin compilemessages --ignore=.venv -v 0

run: export DEBUG ?= 1
run: $(VENV)/.base static messages
	$(BIN)/jinggeng migrate
	$(BIN)/jinggeng divisions
	$(BIN)/jinggeng demo --scale small --if-empty
	@$(MAKE) --no-print-directory stop
	$(BIN)/jinggeng worker --background
	nohup $(BIN)/jinggeng pipeline_alerts --every 60 >> var/alerts.log 2>&1 & echo $$! > var/pipeline_alerts.pid
	nohup $(BIN)/jinggeng orders_overdue_alerts --every 86400 >> var/alerts.log 2>&1 & echo $$! > var/orders_alerts.pid
	nohup $(BIN)/jinggeng field_plan --every 3600 >> var/alerts.log 2>&1 & echo $$! > var/field_plan.pid
	nohup $(BIN)/jinggeng field_coverage_alerts --every 86400 >> var/alerts.log 2>&1 & echo $$! > var/field_coverage_alerts.pid
	$(BIN)/jinggeng serve --port $(PORT)

# Stops what `make run` started in the background (the worker and the alert loops).
stop:
	@for f in var/*.pid; do \
	  [ -e "$$f" ] || continue; pid=$$(cat "$$f"); \
	  if kill "$$pid" 2>/dev/null; then echo "stopped $$(basename "$$f" .pid) (pid $$pid)"; fi; \
	  rm -f "$$f"; \
	done

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.dev
	$(BIN)/mypy jinggeng config

contracts: $(VENV)/.dev
	$(BIN)/lint-imports

migrations-check: $(VENV)/.dev
	DATABASE_URL= $(BIN)/python -m jinggeng manage makemigrations --check --dry-run

pytest-sqlite: $(VENV)/.dev static messages browser
	DATABASE_URL= $(BIN)/pytest $(PYTEST_ARGS)

pytest-postgres: $(VENV)/.dev static messages browser
	@$(BIN)/python scripts/wait-for-db "$(TEST_DATABASE_URL)"
	DATABASE_URL="$(TEST_DATABASE_URL)" $(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck contracts migrations-check pytest-sqlite pytest-postgres

bench: $(VENV)/.dev
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) node_modules static/vendor staticfiles
