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
# The workbench's demo sign-in: panva's oidc-provider from tools/node on 8090 with the users of
# deploy/oidc/demo-users.json, and the client secret it shares with the workbench (made locally).
OIDC_SECRET := $(CURDIR)/var/oidc-client.secret
DEMO_OIDC   := node tools/node/oidc-provider.mjs deploy/oidc/demo-provider.json

.PHONY: keys run up down test test-unit test-integration test-e2e install migrate declare check bench profile chaos clean browser lock audit \
	prepare-run prepare-test node-tools run-compose k8s-demo-keys restore-drill triage-eval triage-agreement triage-model

# The venv is made from requirements.lock: every transitive dependency of the hub and its tests pinned with
# its hashes (pip refuses anything else), then the project itself without resolving again. `make lock`
# writes the lock from pyproject.toml; `pip install -e '.[test]'` still works without it.
LOCK       := requirements.lock
TOOLS_LOCK := requirements-tools.lock
TOOLS      := .venv-tools

$(STAMP): pyproject.toml $(LOCK)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes --no-deps -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	@touch $(STAMP)

install: $(STAMP)

# uv and pip-audit in a venv of their own, from their hashed lock.
$(TOOLS)/.installed: $(TOOLS_LOCK)
	@test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --require-hashes --no-deps -r $(TOOLS_LOCK)
	@touch $@

# Re-pin after changing pyproject.toml's dependencies: the hub with its test extra and what builds it (the
# build extra: setuptools and wheel; pip is the venv's own), and
# the tools (uv reads the hashes from the index; pip-compile had to download every wheel of every platform).
lock: $(TOOLS)/.installed
	$(TOOLS)/bin/uv pip compile --quiet --python-version 3.11 --generate-hashes --extra test --extra build \
		--output-file $(LOCK) pyproject.toml
	$(TOOLS)/bin/uv pip compile --quiet --python-version 3.11 --generate-hashes --extra tools \
		--output-file $(TOOLS_LOCK) pyproject.toml

# Known vulnerabilities in what requirements.lock pins (pip-audit against PyPI's advisory database), when
# that database can be reached from here; when it cannot, says so and audits nothing.
audit:
	@PYTHON=$(PYTHON) TOOLS=$(TOOLS) tools/audit $(LOCK) $(TOOLS_LOCK)

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
	@test -s $(OIDC_SECRET) || (umask 077 && $(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(32))' \
		> $(OIDC_SECRET) && echo "created the demo sign-in's client secret $(OIDC_SECRET) (mode 0600)")

# Start what the hub needs on this machine (PostgreSQL, RabbitMQ and its management plugin; for the
# tests also chromium and the npm tools), or say in one line what to install: tools/prepare.
prepare-run:
	@PYTHON=$(PYTHON) tools/prepare run

prepare-test:
	@PYTHON=$(PYTHON) tools/prepare test

# The npm tools, into tools/node (package.json and package-lock.json committed): the OpenID Connect
# provider of the tests and of `make run`'s demo sign-in (oidc-provider), axe-core, and Spectral (the
# OpenAPI documents' lint against tools/spectral/adr.yaml, in tests/unit/test_api_standards.py).
node-tools: tools/node/node_modules/.installed
tools/node/node_modules/.installed: tools/node/package.json tools/node/package-lock.json
	cd tools/node && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# Kubernetes (deploy/kubernetes): the demo overlay's secrets, made locally and kept out of git; then
# `kubectl apply -k deploy/kubernetes/overlays/demo` on a cluster with the RabbitMQ Cluster Operator
# and CloudNativePG. `render.py` rewrites the base's service manifests from its table.
k8s-demo-keys: $(STAMP)
	$(BIN)/python deploy/kubernetes/render.py --demo-keys

# Everything in containers, where a Docker engine with compose runs (docker-compose.yml).
run-compose:
	docker compose up -d --build

run: prepare-run $(STAMP) keys node-tools
	@$(WITH_KEY) $(BIN)/meldpunt check
	@$(WITH_KEY) $(BIN)/meldpunt migrate
	@$(WITH_KEY) $(BIN)/meldpunt declare
	@mkdir -p var/log; $(DEMO_OIDC) > var/log/oidc-provider.log 2>&1 & pid=$$!; \
		trap 'kill $$pid 2>/dev/null' EXIT INT TERM; \
		echo "demo sign-in (OpenID provider) on http://127.0.0.1:8090, users in deploy/oidc/demo-users.json"; \
		$(WITH_KEY) $(BIN)/meldpunt run

up: prepare-run $(STAMP) keys node-tools
	@$(WITH_KEY) $(BIN)/meldpunt check
	@$(WITH_KEY) $(BIN)/meldpunt migrate
	@$(WITH_KEY) $(BIN)/meldpunt declare
	@mkdir -p var/log var/run; test -s var/run/oidc-provider.pid && kill -0 $$(cat var/run/oidc-provider.pid) 2>/dev/null \
		|| (nohup $(DEMO_OIDC) > var/log/oidc-provider.log 2>&1 & echo $$! > var/run/oidc-provider.pid)
	@$(WITH_KEY) $(BIN)/meldpunt run --detach

down: $(STAMP)
	@$(WITH_KEY) $(BIN)/meldpunt stop
	@test -s var/run/oidc-provider.pid && kill $$(cat var/run/oidc-provider.pid) 2>/dev/null; rm -f var/run/oidc-provider.pid

# The suite in MELDPUNT_TEST_JOBS (default: JOBS in tests/parallel.py) pytest processes side by side, each with its own broker
# node and databases (tests/parallel.py); `make test TESTS="tests/unit -x"` passes paths and options on.
# What it needs is made side by side first: tools/prepare (in a fresh clone mostly `npm ci` of tools/node) and the
# venv's install wait on the disk and the index more than on the CPU (a fresh clone at load 8 on two cores: 76 s
# one after the other, 62 s side by side, 47 CPU-s either way).
test:
	@$(MAKE) --no-print-directory -j2 prepare-test $(STAMP)
	$(BIN)/python -m tests.parallel $(TESTS)

test-unit: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit

test-integration: prepare-test $(STAMP)
	$(BIN)/python -m pytest -q tests/integration

test-e2e: prepare-test $(STAMP)
	$(BIN)/python -m pytest -q tests/e2e

# How well triage reads reports: the development files and the held-out part (tests/triage_corpus/).
triage-eval: $(STAMP)
	$(BIN)/python -m services.triage.evaluation --part both

# How often two coordinators agree: a second, blind labelling of 200 development reports against their first
# labels, both ways (docs/triage.md); never the held-out part.
triage-agreement: $(STAMP)
	$(BIN)/python -m services.triage.evaluation --agreement tests/triage_corpus/agreement/second_hand.yaml

# Retrain triage's second opinion (deploy/rules/vr19-triage-model.json) after a change to the
# development corpus; a unit test says when. --cross-hand / --choose-cross-hand: how it reads an unseen hand.
triage-model: $(STAMP)
	$(BIN)/python -m services.triage.train_model

bench: $(STAMP) keys
	$(BIN)/python bench/run.py

# Where the services' CPU goes under load, by library (bench/profile_hub.py; SAMPLER=py-spy samples
# them from outside instead of cProfile inside).
SAMPLER ?= cprofile
profile: $(STAMP) keys
	@test "$(SAMPLER)" != py-spy || $(BIN)/pip install --quiet 'py-spy==0.4.3'
	$(BIN)/python bench/profile_hub.py --sampler $(SAMPLER)

# Faults under steady load on a throwaway hub: first on this machine's RabbitMQ and PostgreSQL
# (restarts both), then on a three-node RabbitMQ cluster of its own, losing each node in turn.
# CHAOS=cluster runs only the second, which touches no system service.
CHAOS ?= all
chaos: $(STAMP) keys
	@test "$(CHAOS)" = cluster || $(BIN)/python bench/chaos.py
	$(BIN)/python bench/chaos.py --cluster

# Debian's chromium for the headless browser tests (driven by Playwright; never `playwright install`).
browser:
	@test -x /usr/bin/chromium || (apt-get update -qq && apt-get install -y -qq chromium)

# Backup, changes, point-in-time restore into a scratch cluster and compare, on a PostgreSQL server of its own:
# it needs PostgreSQL's programs and pgBackRest (tools/prepare test installs it), not the running servers.
restore-drill: $(STAMP)
	$(BIN)/python -m hub.ops.drill_demo

clean:
	rm -rf $(VENV) $(TOOLS) var/log var/run

# Benchmarks against the real broker and databases (not part of `make test`).
