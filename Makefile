# The two commands: `make run` and `make test`. Everything else is a step they use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PLUGINS := plugins/chom-html plugins/chom-wordpress plugins/chom-laravel
STAMP := $(VENV)/.installed
# The machines' pip configuration lists local mirrors that may be absent; stay quiet about them.
PIP := $(BIN)/pip --disable-pip-version-check -q

.PHONY: run test install lint services fleet observability browser clean bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml $(addsuffix /pyproject.toml,$(PLUGINS))
	$(PIP) install -e '.[test]' $(addprefix -e ,$(PLUGINS)) 2>&1 | grep -v '^WARNING: Location' || true
	$(BIN)/python -c "import chom, chom_html, chom_wordpress, chom_laravel"
	touch $@

install: $(STAMP)

run: install
	./scripts/run.sh

services:
	./scripts/ensure-services.sh

# Debian packages for the test fleet's "VPS" hosts (sshd, nginx, PHP-FPM, MariaDB, ...).
fleet:
	./scripts/ensure-fleet.sh

# Debian's Chromium for the Playwright browser tests (tests/browser/).
browser:
	./scripts/ensure-browser.sh

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports

# Prometheus (promtool), Alertmanager (amtool) and the node exporter the observability tests run.
observability:
	./scripts/ensure-observability.sh

test: install services fleet observability browser lint
	$(BIN)/python -m pytest -q

bench: install services
	$(BIN)/python bench/api.py

clean:
	rm -rf $(VENV) instance .pytest_cache
