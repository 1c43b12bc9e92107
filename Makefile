# Two commands for a fresh clone: `make demo` (build every table from the sample data) and
# `make test`. Both create .venv and install the project into it first.

VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
# Run history of `make demo` and `make ui`, kept so the UI shows the demo's run.
DAGSTER_HOME ?= $(CURDIR)/.dagster_home

.PHONY: demo test ui lint install instance replay bench

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

# The instance's dagster.yaml (one publisher per destination, slots of killed runs freed, no
# telemetry) from the repository's; one already there is kept.
instance:
	mkdir -p "$(DAGSTER_HOME)"
	@if [ ! -f "$(DAGSTER_HOME)/dagster.yaml" ]; then \
		cp dagster.yaml "$(DAGSTER_HOME)/dagster.yaml"; \
		echo "installed dagster.yaml in $(DAGSTER_HOME)"; \
	elif ! cmp -s dagster.yaml "$(DAGSTER_HOME)/dagster.yaml"; then \
		echo "note: $(DAGSTER_HOME)/dagster.yaml differs from ./dagster.yaml and is kept as it is"; \
	fi

demo: install instance
	DAGSTER_HOME="$(DAGSTER_HOME)" $(BIN)/python -m listrak_assets.refresh

# Copy the input files archived on DATE (YYYY-MM-DD) back into the inbox (inbox_archive: true).
replay: install
	$(BIN)/python -m listrak_assets.replay $(DATE)

# pylint checks duplicate code only (its settings are in pyproject.toml).
test: install
	$(BIN)/ruff check .
	$(BIN)/pylint listrak_assets
	$(BIN)/mypy
	$(BIN)/pytest -n auto --dist loadfile

# Without a Listrak account in the environment, the UI's sinks publish to local stand-ins.
ifeq ($(LISTRAK_API_URL)$(LISTRAK_SFTP_HOST),)
STAND_INS := $(BIN)/python -m listrak_assets.sandbox.emulator -- \
	$(BIN)/python -m listrak_assets.sandbox.sftp_server --
endif

# `exec`: the shell gives way, so a SIGTERM or Ctrl-C reaches the stand-ins (which pass it on to
# dagster dev's whole process group) or dagster dev itself.
ui: install instance
	DAGSTER_HOME="$(DAGSTER_HOME)" exec $(STAND_INS) $(BIN)/dagster dev

# The benchmark, judged against the performance targets: `make bench ARGS="--customers 50000
# --only clean,sftp"`; the report goes to bench/results/.
bench: install
	$(BIN)/python -m bench $(ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
