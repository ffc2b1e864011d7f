# creditline: `make run` starts the demo server, `make test` runs the whole suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test check bench bench-ingest bench-http clean install

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	PATH=$(abspath $(BIN)):$$PATH scripts/run-demo-server

check: $(STAMP)
	PATH=$(abspath $(BIN)):$$PATH scripts/check

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadgroup

bench: $(STAMP)
	$(BIN)/python bench/ledger.py

bench-ingest: $(STAMP)
	$(BIN)/python bench/ingest.py

bench-http: $(STAMP)
	$(BIN)/python bench/http_api.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis
