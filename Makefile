# The two commands a new machine needs: `make preview` (the main job) and `make test`. CI (.ci/run) also runs
# `make check`: the live deployment (global.tsk, Pulumi.*.yaml) checked by the tool itself.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install preview test check fixtures-sync pgstop lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

preview: $(STAMP)
	$(BIN)/tusk-infra preview --all-stacks

# The SQL tests need a real PostgreSQL server: scripts/pgtest.sh installs (Debian) and starts a throwaway one,
# runs pytest with it, stops it again (passed, failed or interrupted) and exits with pytest's status. It starts
# the one server before pytest and exports TUSK_TEST_POSTGRES_URL, which every pytest-xdist worker inherits.
# Parallel (pytest-xdist): a worker per core, each test file on one worker (--dist loadfile), so a module's
# expensive fixture (a set of CLI runs, the git repository of diff scenarios) is built once. (--dist loadgroup
# would spread finer, but pytest-xdist 3.8's groups do not take with pytest 9.2: its node ids are read-only.)
# PYTEST_ARGS adds options, e.g. `make test PYTEST_ARGS="-n 0 -k preview"` (serial, a subset).
PYTEST_ARGS ?=
test: $(STAMP)
	sh ./scripts/pgtest.sh run $(BIN)/pytest -n auto --dist loadfile $(PYTEST_ARGS)

# The live configuration, checked by the tool (not by the tests, which run on tests/fixtures/project): the policy
# pack over every stack, then every stack's preview. Bad input fails with the tool's FILE:LINE:COL errors.
check: $(STAMP)
	$(BIN)/tusk-infra check --all-stacks
	$(BIN)/tusk-infra preview --all-stacks

# Deliberate, never automatic: copies the live global.tsk, Pulumi.yaml and Pulumi.<stack>.yaml over the tests'
# fixture project (stale stack files there removed). Then regenerate the goldens and review both diffs
# (tests/fixtures/README.md).
fixtures-sync:
	rm -rf tests/fixtures/project/Pulumi.*.yaml tests/fixtures/project/metrics
	cp global.tsk Pulumi.yaml Pulumi.*.yaml tests/fixtures/project/
	if [ -d metrics ]; then cp -r metrics tests/fixtures/project/; fi
	@git status --short -- tests/fixtures/project
	@echo "fixtures-sync: now run TUSK_UPDATE_GOLDEN=1 $(BIN)/pytest tests/test_preview_cli.py -p no:xdist," \
	      "review git diff tests/fixtures tests/golden, then make test"

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
