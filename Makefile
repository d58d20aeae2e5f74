# The GAN Workbook. Two commands a learner needs:
#   make lab    set everything up and open lesson 1 in JupyterLab
#   make test   set everything up and run every test (what CI runs)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# The PyTorch pair CI installs. Override for your machine, e.g.
#   make lab TORCH="torch torchvision"
TORCH  ?= torch==2.14.1 torchvision==0.29.1
JOBS   ?= 2
STAMP  := $(VENV)/.installed

NBVAL := --nbval-lax --nbval-current-env --nbval-cell-timeout=600

.PHONY: install lab test unit notebooks sync exercises execute bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install $(TORCH)
	$(BIN)/python -m pip install -e ".[lab,test]"
	command -v chromium >/dev/null 2>&1 || { command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq chromium; } || echo "chromium could not be installed (needs apt-get as root): tests/test_browser.py will be skipped"
	touch $@

lab: $(STAMP)
	$(BIN)/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) notebooks/01_minimax_theory.ipynb

# Every test: unit tests, notebook pairing, generated exercises, every lesson
# under nbval in quick mode, and (tests/test_exercises.py) every solution and
# untouched exercise notebook run in a fresh kernel with their checks asserted.
# ruff first (configured in pyproject.toml). Two workers on two cores: one
# torch thread each.
test: $(STAMP)
	$(BIN)/ruff check coursekit scripts bench tests solutions
	OMP_NUM_THREADS=1 COURSEKIT_QUICK=1 COURSEKIT_OFFLINE=1 $(BIN)/python -m pytest -n $(JOBS) --dist loadfile \
	    $(NBVAL) tests notebooks

unit: $(STAMP)
	OMP_NUM_THREADS=1 COURSEKIT_QUICK=1 COURSEKIT_OFFLINE=1 $(BIN)/python -m pytest -n $(JOBS) --dist loadfile tests

notebooks: $(STAMP)
	OMP_NUM_THREADS=1 COURSEKIT_QUICK=1 COURSEKIT_OFFLINE=1 $(BIN)/python -m pytest -n $(JOBS) --dist loadfile \
	    $(NBVAL) notebooks

# Rewrite each .ipynb from its paired .py (the .py is the reviewed source),
# then regenerate exercises/ from solutions/.
sync: $(STAMP)
	$(BIN)/python -m coursekit.release --sync --check $(if $(ONLY),--only $(ONLY))

exercises: sync

# Run every lesson in full mode in a fresh kernel, save the executed
# notebooks (real outputs for readers) and write docs/timings.md. It runs the
# .ipynb files, so sync them from their .py pairs first.
execute: sync
	$(BIN)/python scripts/execute_notebooks.py --quick-too

# Benchmarks: each prints ratios measured side by side in one run.
bench: $(STAMP)
	for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache
