# Two commands do all the set-up: `make demo` and `make test`. Each creates .venv/ when missing and
# installs the pinned versions in requirements.lock (torch 2.13.0 is the CPU build).
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install demo test test-fast lint ui pictures clean peer-env

$(STAMP): pyproject.toml requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)  # rank every variant, save the validation winner (refitted on every row), forecast with it
	$(VENV)/bin/forecaster compare --config configs/quick.yaml --metrics-out out/quick.json --save-best out/demo-best
	$(VENV)/bin/forecaster predict --model out/demo-best --data datasets/ETTh1.csv --level 80,90 --output out/demo-forecast.csv
	@head -n 6 out/demo-forecast.csv | cut -c1-160
	@echo "... the next 24 hours of ETTh1 from the saved winner: out/demo-forecast.csv"

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

# The separate environment of benchmarks/peer_neuralforecast.py (neuralforecast, pinned); never needed by the
# package, its tests or CI. torch goes first so that its pinned CPU build is the one installed.
PEER_VENV := .venv-peer
PEER_STAMP := $(PEER_VENV)/.installed
PEER_REQS := benchmarks/requirements-peer.txt

$(PEER_STAMP): $(PEER_REQS)
	@test -x $(PEER_VENV)/bin/python || $(PYTHON) -m venv $(PEER_VENV) || python3 -m venv $(PEER_VENV)
	$(PEER_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(PEER_VENV)/bin/python -m pip install --quiet $$(grep '^torch==' $(PEER_REQS))
	$(PEER_VENV)/bin/python -m pip install --quiet -r $(PEER_REQS)
	@touch $(PEER_STAMP)

peer-env: $(PEER_STAMP)

clean:
	rm -rf $(VENV) out mlflow.db mlartifacts
