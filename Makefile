# Every target sets itself up: a virtualenv with pinned dependencies, then the job.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | cksum | cut -d' ' -f1)

.PHONY: setup demo test lint browser bench chaos up clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "pip==26.3"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

demo: $(STAMP)
	$(BIN)/slett demo

up: $(STAMP)
	$(BIN)/slett up

# Each bounded to 15 minutes; SIGTERM lets the suite stop every process it started.
chaos: $(STAMP)
	timeout --kill-after=30 900 $(BIN)/python -m benchmarks.chaos --no-api-logs

bench: $(STAMP)
	timeout --kill-after=30 900 $(BIN)/python -m benchmarks.bench

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

# The real-browser tests use Debian's Chromium (never a downloaded browser build).
browser:
	command -v chromium >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }

# Two workers, a module per worker: most of the time is spent waiting on Prefect servers. The
# real-browser and chaos suites start whole stacks and time out under a loaded machine: they run after,
# alone.
HEAVY := tests/ui tests/chaos/test_chaos.py
test: lint browser
	$(BIN)/pytest -n 2 --dist loadfile $(addprefix --ignore=,$(HEAVY))
	$(BIN)/pytest -p no:randomly $(HEAVY)

clean:
	rm -rf $(VENV) .prefect .slett .pytest_cache .mypy_cache .ruff_cache .hypothesis
