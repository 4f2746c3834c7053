# Two commands for a fresh clone:  `make run` (the whole system)  and  `make test` (the test suite).
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test demo lint bench bench-scale clean browser

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "needs $(PYTHON) on PATH (or make PYTHON=/path/to/python3.11)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)  ## Temporal dev server + migrations + worker + the HTTP API (prints its URL) on the embedded defaults; Ctrl-C stops
	$(BIN)/liaison up

demo: $(STAMP)  ## one operation through its whole lifecycle against `make run`
	$(BIN)/liaison demo

# The browser tests drive Debian's chromium; a fresh machine gets it from apt (Playwright downloads no browser).
browser:
	@command -v chromium >/dev/null || { $(if $(filter 0,$(shell id -u)),,sudo) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(if $(filter 0,$(shell id -u)),,sudo) apt-get install -y -qq chromium; }

test: $(STAMP) browser  ## the whole suite against a real Temporal dev server, SQLite and PostgreSQL
	$(BIN)/ruff check .
	$(BIN)/mypy .
	$(BIN)/pytest

bench: $(STAMP)  ## each benchmark prints its figures beside the baseline it names (a few minutes)
	$(BIN)/python -m bench.approval_roundtrip
	$(BIN)/python -m bench.api_approval
	$(BIN)/python -m bench.inbox
	$(BIN)/python -m bench.recovery
	$(BIN)/python -m bench.lifecycle_throughput
	$(BIN)/python -m bench.audit_verify
	$(BIN)/python -m bench.person_matching
	$(BIN)/python -m bench.cli_wall

bench-scale: $(STAMP)  ## the deconfliction index at 1,000,000 identifiers + persons, SQLite and PostgreSQL (~12 min)
	$(BIN)/python -m bench.index_scale

clean:
	rm -rf $(VENV) data
