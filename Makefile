# creditline: `make run` starts the demo server, `make test` runs the whole suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The browser tests drive Debian's Chromium through Playwright (which downloads no browser).
CHROMIUM := /usr/bin/chromium
APT_CHROMIUM := DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium
# The HTTP benchmark's load generator: Debian's wrk (compiled; it takes little of the CPU
# the server it measures runs on).
WRK := /usr/bin/wrk
APT_WRK := DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends wrk

.PHONY: run test check bench bench-ingest bench-http bench-reports bench-whatif clean install chromium wrk bytecode

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Debian's package when it is missing; the package lists are refreshed only if the install fails.
$(CHROMIUM):
	$(APT_CHROMIUM) || { apt-get update && $(APT_CHROMIUM); }

chromium: $(CHROMIUM)

$(WRK):
	$(APT_WRK) || { apt-get update && $(APT_WRK); }

wrk: $(WRK)

# The README's shell examples (run by tests/e2e/test_readme.py) use jq, to pick ids out of
# `creditline ... -f json`, and curl.
README_TOOLS := /usr/bin/jq /usr/bin/curl
APT_README_TOOLS := DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends jq curl

$(README_TOOLS):
	$(APT_README_TOOLS) || { apt-get update && $(APT_README_TOOLS); }

install: $(STAMP) $(CHROMIUM) $(README_TOOLS)

# The package's bytecode, written ahead: where PYTHONDONTWRITEBYTECODE is set, each new
# process (a CLI call, a server, a worker of the suite) would compile every module again.
bytecode: $(STAMP)
	$(BIN)/python -m compileall -q -j 0 src tests

run: $(STAMP) bytecode
	PATH=$(abspath $(BIN)):$$PATH scripts/run-demo-server

check: $(STAMP)
	PATH=$(abspath $(BIN)):$$PATH scripts/check

test: $(STAMP) $(CHROMIUM) $(README_TOOLS) bytecode
	$(BIN)/python -m pytest -n 2 --dist loadgroup --durations=15

bench: $(STAMP)
	$(BIN)/python bench/ledger.py

bench-ingest: $(STAMP)
	$(BIN)/python bench/ingest.py

bench-http: $(STAMP) $(WRK)
	$(BIN)/python bench/http_api.py

bench-reports: $(STAMP)
	$(BIN)/python bench/reports.py

bench-whatif: $(STAMP)
	$(BIN)/python bench/whatif.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis
