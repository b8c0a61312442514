# One command per habit: make demo, make test, make check, make lint, make bench, make ui.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO := demo
# pytest keeps each test module with its asserts rewritten as bytecode, unless PYTHONDONTWRITEBYTECODE is
# set; without it, each xdist worker rewrites every test module again on every run (~3 s here).
PYTEST := env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m pytest
PACKAGES := core flows collectors intelligence aggregation checkpoints exports sandbox service
COMPILE := $(BIN)/python -m compileall -q $(PACKAGES)
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1

.PHONY: install browser demo test check lint bench quality reliability ui clean golden

install: $(STAMP)

# constraints.txt pins the whole resolved set so a fresh machine gets the versions the tests ran with.
# An editable install leaves the project's own modules uncompiled (pip compiles what it installs into the
# venv): compiled here, a command does not compile them again each time (with PYTHONDONTWRITEBYTECODE set,
# Python never writes bytecode itself). `meetintel status` took ~0.1 s less on this machine.
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev,bench]'
	$(COMPILE)
	touch $(STAMP)

demo: install
	rm -rf $(DEMO)
	$(BIN)/meetintel sandbox generate $(DEMO)/workspace --people 40 --days 14 --seed 7
	$(BIN)/meetintel run --sandbox $(DEMO)/workspace --out $(DEMO)/out --state $(DEMO)/state.duckdb
	@echo "Reports: $(DEMO)/out/latest/ (meetings.json, people.json, CSV, meetintel.xlsx, meetintel.html)  State: $(DEMO)/state.duckdb"

# The HTML report is tested in headless Chromium; install Debian's package when it is missing.
browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

# The whole suite: what CI runs, on every core. Each xdist worker starts its own Prefect test server
# with its own PREFECT_HOME (the session fixture in tests/conftest.py), so workers share nothing; a test
# file stays on one worker (--dist loadfile), since some read what their module's earlier flows left.
test: install browser
	$(PYTEST) -q -p no:cacheprovider -n auto --dist loadfile

# The fast lane for the edit-test loop: lint, types and the tests not marked slow (no Prefect server,
# no kill trials, no browser), on every core: without a Prefect server, xdist workers share nothing. A test
# file stays on one worker, so a module's fixture (often a run of the stages) is built once, not per worker.
# mypy runs beside the tests (one core, 18 s without its cache; the tests leave part of a core idle), and
# its report follows theirs; either failing fails the lane.
check: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy > $(VENV)/mypy-report.txt 2>&1 & types=$$!; \
	$(PYTEST) -q -m "not slow" -p no:cacheprovider -n auto --dist loadfile; tests=$$?; \
	wait $$types; typed=$$?; cat $(VENV)/mypy-report.txt; exit $$(( tests || typed ))

# Rewrite tests/fixtures/golden/ from the current exports, after a deliberate change to a report.
golden: install
	$(BIN)/python -m tests.exports.golden

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Kill trials, API faults and parser fuzzing at full size; the figures go to RELIABILITY.md.
reliability: install
	$(BIN)/python -m benchmarks.reliability --trials 50 --cli-trials 2 --write RELIABILITY.md
	$(BIN)/python benchmarks/faults.py
	$(BIN)/python benchmarks/fuzz.py --examples 2000

quality: install
	$(BIN)/python -m benchmarks.quality

# S, M and L as users run them (the floor and `meetintel run` beside the stages), then the peer, Excel,
# service and scale-out sections; skip one with PEER=0, EXCEL=0, SERVICE=0 or SCALEOUT=0. XL: BENCH_ARGS=--xl;
# the peer's parts one at a time: PEER_ARGS=--api-size= (files only) or PEER_ARGS=--files-size= (API only).
# Modules edited since the install are compiled first, so the commands are timed as installed.
PEER ?= 1
EXCEL ?= 1
SERVICE ?= 1
SCALEOUT ?= 1
bench: install
	$(COMPILE)
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)
	if [ "$(PEER)" = 1 ]; then $(BIN)/python benchmarks/peer_dlt.py --write BENCHMARKS.md $(PEER_ARGS); fi
	if [ "$(EXCEL)" = 1 ]; then $(BIN)/python benchmarks/excel.py --write BENCHMARKS.md; fi
	if [ "$(SERVICE)" = 1 ] && [ -f benchmarks/service.py ]; then $(BIN)/python benchmarks/service.py --write BENCHMARKS.md; fi
	if [ "$(SCALEOUT)" = 1 ] && [ -f benchmarks/scaleout.py ]; then $(BIN)/python benchmarks/scaleout.py --write BENCHMARKS.md; fi

ui: install
	PREFECT_SERVER_API_HOST=127.0.0.1 PREFECT_SERVER_API_PORT=4200 $(BIN)/prefect server start

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache
