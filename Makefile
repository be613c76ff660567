# Spatial Transformer Networks on distorted MNIST. `make help` lists the targets.
# Every target creates the virtual environment (.venv) first if it is missing.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PROFILE ?= paper
# Seeds per cell: the paper's three for the paper protocol, one for a CPU-sized quick table.
SEEDS ?= $(if $(filter paper,$(PROFILE)),3,1)
# Parallel jobs: the quick profile runs two one-thread jobs at a time, one per core of
# a 2-core CPU (small convolutions use two threads in one process poorly), taken from
# one queue by Hydra's joblib launcher, so a free core picks up the next unfinished
# cell; a GPU wants one process.
JOBS ?= $(if $(filter paper,$(PROFILE)),1,2)
# (stn.train.estimate.make_profile_runs mirrors SEEDS and JOBS for the estimate of the
# other profiles; tests/test_estimate.py checks the two agree.)
RUNS ?= $${STN_RUNS_DIR:-runs}/$(PROFILE)
# one-thread jobs, no interleaved progress bars
PARALLEL = hydra/launcher=joblib hydra.launcher.n_jobs=$(JOBS) trainer.threads=1 \
	trainer.progress=false
# The sweep's overrides: what it trains, what the estimate prices before it starts
# (ESTIMATE=no skips that) and what the sitting's clock counts.
SWEEP_ARGS = experiment=table1 schedule=$(PROFILE) trainer.n_seeds=$(SEEDS) \
	$(if $(filter 1,$(JOBS)),,$(PARALLEL)) $(ARGS)

.DEFAULT_GOAL := help
.PHONY: help setup data train reproduce-mnist readings report browse bench params test lint clean device-prepare device-check

help: ## list every target
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'
	@echo "  variables: PROFILE=paper|fast|quick|smoke, SEEDS=n, JOBS=1|2, ARGS='hydra overrides', MNIST_DIR=folder, ESTIMATE=no"

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

setup: $(STAMP) ## create .venv with the pinned torch/torchvision and the other dependencies

data: $(STAMP) ## generate the five distorted MNIST datasets into data/distorted/
	$(PY) scripts/make_datasets.py

train: $(STAMP) ## train one cell: make train ARGS="data=rts model=st_cnn_aff schedule=quick"
	$(PY) scripts/train.py $(ARGS)

# The sitting is timed from before the data to the end of the sweep (scripts/sweep_clock.py):
# the report lists each finished sitting in results/cost.md; a failed one is never listed.
CLOCK := $(PY) scripts/sweep_clock.py
reproduce-mnist: $(STAMP) ## train the whole of Table 1 (PROFILE=paper|fast|quick, JOBS=1|2) and build the report
	$(CLOCK) start $(SWEEP_ARGS)
	$(PY) scripts/make_datasets.py
	$(if $(filter no,$(ESTIMATE)),,$(PY) scripts/estimate.py $(SWEEP_ARGS))
	$(PY) scripts/train.py -m $(SWEEP_ARGS)
	$(CLOCK) stop $(SWEEP_ARGS)
	$(MAKE) --no-print-directory report RUNS=$(RUNS)

# The readings sweeps (configs/experiment/readings_<data>.yaml), JOBS one-thread jobs each.
readings: JOBS = 2
readings: $(STAMP) ## settle the unstated data details on the validation split -> results/readings.md
	for data in p e rts tc r; do \
	  $(PY) scripts/train.py -m experiment=readings_$$data $(PARALLEL) $(ARGS) || exit 1; done
	$(PY) scripts/readings.py

report: $(STAMP) ## tables, figures and results/index.html from the run folders
	$(PY) scripts/report.py report.runs_root=$(RUNS)

browse: $(STAMP) ## serve results/index.html on localhost
	$(PY) scripts/browse.py

bench: $(STAMP) ## throughput benchmark on the present device -> results/bench.{json,md}
	$(PY) scripts/bench.py $(ARGS)

params: $(STAMP) ## print the parameter count of every model and image size
	$(PY) scripts/param_table.py

# The GPU visit (scripts/device_check.py). Here: wheels of what the GPU image lacks, the
# MNIST files and the commit, into ignored folders that the device tool carries
# (carry=[".whl", ".device"]); there: `make device-check`, with no network and no .venv.
DEVICE_WHEELS := hydra-core==1.3.8 omegaconf==2.3.1
device-prepare: $(STAMP) ## here: .whl/ and .device/ for a GPU visit (MNIST_DIR=folder)
	rm -rf .whl && mkdir -p .whl .device/mnist
	$(PY) -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
	  --implementation cp --platform manylinux2014_x86_64 -d .whl $(DEVICE_WHEELS)
	$(PY) -m pip wheel --quiet --no-deps -w .whl antlr4-python3-runtime==4.9.3
	cp "$${MNIST_DIR:?set MNIST_DIR to the folder with the four MNIST files}"/*-ubyte* .device/mnist/
	git rev-parse HEAD > .device/commit

device-check: ## on a GPU machine: tests, bench, timing, paper protocol, in ~9 min -> $$OUT
	if [ -d .whl ]; then python3 -m pip install -q --no-index --no-deps --no-compile \
	  --no-cache-dir --upgrade --target /tmp/site .whl/*.whl; fi
	PYTHONPATH=/tmp/site MNIST_DIR=$${MNIST_DIR:-.device/mnist} \
	  STN_GIT_COMMIT=$$(cat .device/commit 2>/dev/null || echo unknown) \
	  PYTHONUNBUFFERED=1 python3 scripts/device_check.py $(ARGS)

test: $(STAMP) ## ruff + the test suite
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest

lint: $(STAMP) ## ruff only
	$(VENV)/bin/ruff check .

clean: ## remove caches (keeps data/, runs/ and .venv)
	rm -rf .pytest_cache .ruff_cache $$(find . -name __pycache__ -not -path './.venv/*')
