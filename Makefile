# Meldpunt Hub — `make run` starts the whole hub on the demo region; `make test` runs every test.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# Encryption at rest needs a master key: the demo makes a local one under var/ (never committed).
KEY_FILE := $(or $(MELDPUNT_MASTER_KEY_FILE),$(CURDIR)/var/master.key)
WITH_KEY := MELDPUNT_MASTER_KEY_FILE=$(KEY_FILE)

.PHONY: keys run up down test test-unit test-integration test-e2e install migrate declare check bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

check: $(STAMP) keys
	$(WITH_KEY) $(BIN)/meldpunt check

migrate: $(STAMP)
	$(BIN)/meldpunt migrate

declare: $(STAMP)
	$(BIN)/meldpunt declare

keys: $(STAMP)
	@$(BIN)/meldpunt keys init --file $(KEY_FILE)

run: $(STAMP) keys
	@$(WITH_KEY) $(BIN)/meldpunt check
	@$(BIN)/meldpunt migrate
	@$(BIN)/meldpunt declare
	@$(WITH_KEY) $(BIN)/meldpunt run

up: $(STAMP) keys
	@$(WITH_KEY) $(BIN)/meldpunt check
	@$(BIN)/meldpunt migrate
	@$(BIN)/meldpunt declare
	@$(WITH_KEY) $(BIN)/meldpunt run --detach

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

bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) var/log var/run
