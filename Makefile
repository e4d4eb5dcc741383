# Two commands for a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

RUN_STAMP := $(VENV)/.installed-run

.PHONY: install install-run run test check lint bench serve translations clean

# What the app needs to run (`make run`, `make serve`): the package alone.
install-run: $(RUN_STAMP)

$(RUN_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(RUN_STAMP)

# With the test tools (`make test`, `make check`, lint, benchmarks, translations): '.[dev]'.
install: $(STAMP)

$(STAMP): $(RUN_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Another port: make run PORT=8080
PORT ?= 5000
run: export SCREENING_BASE_URL ?= http://127.0.0.1:$(PORT)
run: install-run
	$(BIN)/screening db upgrade
	$(BIN)/screening demo
	$(BIN)/screening run --port $(PORT)

# Two workers (pytest-xdist) that steal each other's queued tests; each has its own PostgreSQL
# database next to TEST_DATABASE_URL's. TEST_WORKERS=0 runs in one process.
TEST_WORKERS ?= 2
test: install
	$(BIN)/screening lint questionnaires/*.yaml questionnaires/previous/*.yaml
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

# The inner loop: unit and web tests on SQLite; no browser, no PostgreSQL, no server processes,
# no PDF renderings (tests/pdf: a second or more each; `pytest tests/pdf` when changing them).
check: install
	$(BIN)/ruff check screening tests
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal -m "not slow and not browser and not postgres" --ignore=tests/pdf $(PYTEST_ARGS)

serve: install-run
	$(BIN)/screening db upgrade
	$(BIN)/screening serve

lint: install
	$(BIN)/ruff check screening tests

bench: install
	$(BIN)/python -m pytest tests/bench --benchmark-only --benchmark-columns=min,median,mean,max,rounds

# After changing a marked text (_() in templates, N_() in code): extract, merge into each
# catalog, translate the new entries in screening/translations/*/LC_MESSAGES/messages.po, then
# run this again to compile. tests/unit/test_translations.py fails until the catalogs match.
translations: install
	$(BIN)/pybabel extract -F screening/translations/babel.cfg -k N_ --no-location \
	  --sort-output --omit-header -o $(VENV)/messages.pot screening templates
	$(BIN)/pybabel update -i $(VENV)/messages.pot -d screening/translations -D messages \
	  --width 100 --ignore-obsolete --ignore-pot-creation-date --no-fuzzy-matching
	$(BIN)/pybabel compile -d screening/translations -D messages --statistics

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis .benchmarks
