# The two commands: `make run` (the whole pipeline with a demo news site) and `make test`.
# Both work on a fresh machine: they create the virtualenv, install Java/Maven when they
# can (apt, as root), and fetch Kafka's jars with Maven into ~/.cache/newsingest.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test test-fast lint system-deps kafka-jars bench clean-venv

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python >= 3.11 is required (found $$($(PYTHON) --version))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $(STAMP)

# Java 17 runs the broker and Maven fetches it; promtool checks the alert rules.
system-deps:
	@bash deploy/system-deps.sh

kafka-jars: $(STAMP) system-deps
	@$(BIN)/newsingest broker fetch >/dev/null

test: $(STAMP) kafka-jars
	$(BIN)/pytest -q $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(BIN)/pytest -q -m "not kafka and not slow" $(PYTEST_ARGS)

run: $(STAMP) kafka-jars
	$(BIN)/newsingest run $(if $(REAL_DIR),--real-dir $(REAL_DIR))

lint: $(STAMP)
	$(BIN)/ruff check services tests bench docs deploy
	$(BIN)/ruff format --check services tests bench
	$(BIN)/mypy services

clean-venv:
	rm -rf $(VENV)
