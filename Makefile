# mixscribe — two commands: `make demo` and `make test` (each installs what it needs first).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
REQS := requirements.txt requirements-dev.txt constraints.txt \
        functions/on_upload/requirements.txt functions/notes/requirements.txt functions/api/requirements.txt functions/webhooks/requirements.txt functions/dead_letters/requirements.txt edge_agent/requirements.txt mixscribe_cli/requirements.txt jobs/transcribe/requirements.txt local_emulators/requirements.txt infra/pulumi/requirements.txt beam_pipelines/requirements.txt beam_pipelines/requirements-workers.txt local_emulators/bigquery/requirements.txt

.PHONY: install demo lint test test-unit test-integration test-reliability audit up down clean report bench

$(STAMP): $(REQS) scripts/install-system.sh
	./scripts/install-system.sh
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt -c constraints.txt
	touch $(STAMP)

# the local registry's models (test-only packages), each file's SHA-256 checked; an image bakes the same way
MODELS := .models/.baked
$(MODELS): $(STAMP) mixscribe/registries/local.toml scripts/bake_models.py
	$(PY) scripts/bake_models.py bake --registry local --dest .models
	touch $(MODELS)

install: $(STAMP) $(MODELS)

demo: install
	$(PY) -m local_emulators demo

# ruff (lint + format check) and mypy over all code, --strict on the shared package (pyproject.toml)
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/mypy --strict mixscribe

test: install
	$(PY) -m pytest

test-unit: install
	$(PY) -m pytest tests/unit

test-integration: install
	$(PY) -m pytest tests/integration

# fault and load suites: duplicates, bad-input corpus, SIGKILL, emulator outages, poison, burst (~10 min)
test-reliability: install
	$(PY) -m pytest tests/reliability

# pip-audit over every pinned package; says NOT AUDITED when the vulnerability service is unreachable
audit: install
	$(PY) scripts/audit_dependencies.py

up: install
	$(PY) -m local_emulators up

bench: install
	$(PY) -m bench.run_all

# the example queries and plots through google-cloud-bigquery against the running stack's BigQuery API (`make up`)
report: install
	@test -f .local/env || { echo "no local stack: run 'make up' first (or point BIGQUERY_EMULATOR_HOST elsewhere)" >&2; exit 1; }
	set -a; . .local/env; set +a; $(PY) -m beam_pipelines.analytics report --out .local/report

down:
	$(PY) -m local_emulators down

clean: down
	rm -rf .local
