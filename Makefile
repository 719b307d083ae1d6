# Two commands do all the set-up: `make demo` and `make test`. Each creates .venv/ when missing and
# installs the pinned versions in requirements.lock (torch 2.13.0 is the CPU build).
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install demo test test-fast lint ui pictures clean

$(STAMP): pyproject.toml requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/forecaster compare --config configs/quick.yaml --metrics-out out/quick.json

test: lint
	$(PY) -m pytest -q

test-fast: $(STAMP)  # skips the tests marked slow (servers, real training, overfitting)
	$(PY) -m pytest -q -m "not slow"

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

pictures: $(STAMP)
	$(PY) docs/make_pictures.py

ui: $(STAMP)
	$(VENV)/bin/forecaster ui

clean:
	rm -rf $(VENV) out mlflow.db mlartifacts
