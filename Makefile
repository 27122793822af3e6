# Meldpunt Hub — `make run` starts the whole hub on the demo region; `make test` runs every test.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: browser run up down test test-unit test-integration test-e2e install migrate declare check clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

check: $(STAMP)
	$(BIN)/meldpunt check

migrate: $(STAMP)
	$(BIN)/meldpunt migrate

declare: $(STAMP)
	$(BIN)/meldpunt declare

run: $(STAMP)
	@$(BIN)/meldpunt check
	@$(BIN)/meldpunt migrate
	@$(BIN)/meldpunt declare
	@$(BIN)/meldpunt run

up: $(STAMP)
	@$(BIN)/meldpunt check
	@$(BIN)/meldpunt migrate
	@$(BIN)/meldpunt declare
	@$(BIN)/meldpunt run --detach

down: $(STAMP)
	@$(BIN)/meldpunt stop

test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider tests

test-unit: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit

test-integration: $(STAMP)
	$(BIN)/python -m pytest -q tests/integration

test-e2e: $(STAMP)
	$(BIN)/python -m pytest -q tests/e2e

clean:
	rm -rf $(VENV) var/log var/run

# Debian's chromium for the public-form browser tests (Playwright drives it by executable_path;
# never `playwright install`). Idempotent: does nothing when /usr/bin/chromium is there.
browser:
	@test -x /usr/bin/chromium || (apt-get update && apt-get install -y chromium)
