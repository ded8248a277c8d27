# Everything a fresh machine needs: `make demo` and `make test` create the
# environment when it is missing, then run.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
OUT ?= demo-out

.PHONY: env demo test lint typecheck layers pytest bench clean

env: $(STAMP)

$(STAMP): pyproject.toml package.json
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	# traffic's sample trajectories are test and demo data; its heavy stack is not needed
	$(PY) -m pip install --quiet --no-deps traffic==2.13
	npm install --no-audit --no-fund --loglevel=error
	touch $(STAMP)

demo: env
	$(VENV)/bin/overflight demo --out $(OUT)

lint: env
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench

typecheck: env
	$(VENV)/bin/mypy

layers: env
	$(VENV)/bin/lint-imports

pytest: env
	$(PY) -m pytest -q src tests

test: lint typecheck layers pytest

bench: env
	$(PY) bench/decode.py
	$(PY) bench/airspace.py
	$(PY) bench/missions.py
	$(PY) bench/live.py

clean:
	rm -rf $(VENV) node_modules $(OUT)
