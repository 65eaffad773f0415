# The README's two commands: `make reproduce` and `make test`. Every target builds .venv itself.
# Any Python from 3.10 on builds it (PYTHON=python3.12 picks one); the versions come from pins.txt.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PINS := pins.txt
# torch's wheel index. Empty: PyPI, whose Linux torch is the CUDA build (several GB). A machine without
# an NVIDIA GPU can take the CPU build instead: make test TORCH_INDEX=https://download.pytorch.org/whl/cpu
TORCH_INDEX ?=
STAMP := $(VENV)/.installed

# test workers (pytest-xdist): one per core of the 2-core reference machine, one thread each (two
# workers each spinning several OpenMP threads on two cores run at half the speed of one worker)
JOBS ?= 2
XDIST := OMP_NUM_THREADS=1 $(PY) -m pytest -n $(JOBS)
LINT := $(PY) -m ruff check helpers tests conftest.py

.PHONY: reproduce test check lab notebooks bench clean

$(STAMP): pyproject.toml $(PINS)
	@test -x $(PY) || $(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null || { \
		echo "The course needs Python 3.10 or newer; PYTHON=$(PYTHON) is" \
			"$$( { command -v $(PYTHON) >/dev/null && $(PYTHON) --version 2>&1 | head -n1; } || echo 'not found')." >&2; \
		echo "Name another one, e.g.: make $(or $(MAKECMDGOALS),test) PYTHON=python3.12" >&2; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c $(PINS) $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) torch torchvision
	$(PY) -m pip install -q -c $(PINS) -e '.[dev]'
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

reproduce: $(STAMP)
	$(PY) -m helpers reproduce --readme-config --out figures
	$(PY) -m helpers readme

# Everything: lint, every test (the zoo-wide ones included) and every notebook under nbval, in one
# session so that both cores stay busy to the end (a notebook runs whole on one worker: loadfile).
# NBVAL=1 turns the notebooks' progress bars off; COURSE_FIGURES_DIR keeps figures/ as committed.
test: $(STAMP)
	$(LINT)
	NBVAL=1 COURSE_FIGURES_DIR=$(CURDIR)/build/nbval-figures $(XDIST) --dist loadfile --durations=15 \
		--nbval-lax --nbval-current-env -p no:cacheprovider tests notebooks

# The inner loop (about a minute): lint and the fast tests, without the zoo-wide checks and notebooks.
check: $(STAMP)
	$(LINT)
	$(XDIST) -m "not slow" tests

# Execute every notebook (or NB=02 for one) top to bottom, storing outputs and run times.
notebooks: $(STAMP)
	COURSE_NO_PROGRESS=1 $(PY) -m helpers notebooks $(NB)
	$(PY) -m helpers readme

bench: $(STAMP)
	$(PY) -m helpers bench

# JupyterLab on the notebooks. The file browser hides each notebook's jupytext twin (NN_name.py,
# kept in sync on save), so a learner opens the .ipynb with its outputs; root (a container) may run it.
LAB_HIDE := "['__pycache__', '*.pyc', '*.py', '.ipynb_checkpoints']"
LAB_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)
lab: $(STAMP)
	$(PY) -m pip install -q -c $(PINS) -e '.[dev,lab]'
	$(VENV)/bin/jupyter lab notebooks/ $(LAB_ROOT) --ContentsManager.hide_globs=$(LAB_HIDE) $(LAB_ARGS)

clean:
	rm -rf $(VENV)
