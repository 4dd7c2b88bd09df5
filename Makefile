# The two commands a new machine needs: `make preview` (the main job) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install preview test pgstop lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

preview: $(STAMP)
	$(BIN)/tusk-infra preview --all-stacks

# The SQL tests need a real PostgreSQL server: scripts/pgtest.sh installs (Debian) and starts a throwaway one,
# runs pytest with it, stops it again (passed, failed or interrupted) and exits with pytest's status.
test: $(STAMP)
	sh ./scripts/pgtest.sh run $(BIN)/pytest

# Stops a throwaway PostgreSQL left running (by `. ./scripts/pgtest.sh start`, or a test run that was killed).
pgstop:
	sh ./scripts/pgtest.sh stop

lint: $(STAMP)
	$(BIN)/ruff check tusk_infra policy tests bench
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/tsk_parse.py

# The server first: its data directory is under .pgtest.
clean: pgstop
	rm -rf $(VENV) .pgtest .pytest_cache .mypy_cache .ruff_cache
