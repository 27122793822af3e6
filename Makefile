# Meldpunt Hub — `make run` starts the whole hub on the demo region; `make test` runs every test.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# Encryption at rest needs a master key: the demo makes a local one under var/ (never committed).
# So does triage's keyed hashing of perpetrators: a region secret, also made locally for the demo.
KEY_FILE    := $(or $(MELDPUNT_MASTER_KEY_FILE),$(CURDIR)/var/master.key)
SECRET_FILE := $(or $(MELDPUNT_REGION_SECRET_FILE),$(CURDIR)/var/region.secret)
WITH_KEY    := MELDPUNT_MASTER_KEY_FILE=$(KEY_FILE) MELDPUNT_REGION_SECRET_FILE=$(SECRET_FILE)

.PHONY: keys run up down test test-unit test-integration test-e2e install migrate declare check bench profile chaos clean browser

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

check: $(STAMP) keys
	$(WITH_KEY) $(BIN)/meldpunt check

migrate: $(STAMP) keys
	$(WITH_KEY) $(BIN)/meldpunt migrate

declare: $(STAMP) keys
	$(WITH_KEY) $(BIN)/meldpunt declare

keys: $(STAMP)
	@$(BIN)/meldpunt keys init --file $(KEY_FILE)
	@test -s $(SECRET_FILE) || (umask 077 && $(BIN)/python -c 'import secrets; print(secrets.token_hex(32))' \
		> $(SECRET_FILE) && echo "created region secret file $(SECRET_FILE) (mode 0600)")

run: $(STAMP) keys
	@$(WITH_KEY) $(BIN)/meldpunt check
	@$(WITH_KEY) $(BIN)/meldpunt migrate
	@$(WITH_KEY) $(BIN)/meldpunt declare
	@$(WITH_KEY) $(BIN)/meldpunt run

up: $(STAMP) keys
	@$(WITH_KEY) $(BIN)/meldpunt check
	@$(WITH_KEY) $(BIN)/meldpunt migrate
	@$(WITH_KEY) $(BIN)/meldpunt declare
	@$(WITH_KEY) $(BIN)/meldpunt run --detach

down: $(STAMP)
	@$(WITH_KEY) $(BIN)/meldpunt stop

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

# Where the services' CPU goes under load, by library (bench/profile_hub.py; SAMPLER=py-spy samples
# them from outside instead of cProfile inside).
SAMPLER ?= cprofile
profile: $(STAMP)
	@test "$(SAMPLER)" != py-spy || $(BIN)/pip install --quiet 'py-spy==0.4.3'
	$(BIN)/python bench/profile_hub.py --sampler $(SAMPLER)

# Faults under steady load on a throwaway hub; restarts this machine's RabbitMQ and PostgreSQL.
chaos: $(STAMP)
	$(BIN)/python bench/chaos.py

# Debian's chromium for the headless browser tests (driven by Playwright; never `playwright install`).
browser:
	@test -x /usr/bin/chromium || (apt-get update -qq && apt-get install -y -qq chromium)

clean:
	rm -rf $(VENV) var/log var/run

# Benchmarks against the real broker and databases (not part of `make test`).
