# The README's two commands: `make reproduce` and `make test`. Every target builds .venv itself.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
# torch/torchvision pinned to the releases this machine holds on disk (others download gigabytes)
TORCH_PINS := torch==2.14.1 torchvision==0.29.1
STAMP := $(VENV)/.installed

.PHONY: reproduce test lab notebooks bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH_PINS)
	$(PY) -m pip install -q -e '.[dev]' $(TORCH_PINS)
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

reproduce: $(STAMP)
	$(PY) -m helpers reproduce --readme-config --out figures
	$(PY) -m helpers readme

test: $(STAMP)
	$(PY) -m ruff check helpers tests
	$(PY) -m pytest tests
	NBVAL=1 COURSE_FIGURES_DIR=$(CURDIR)/build/nbval-figures $(PY) -m pytest --nbval-lax --nbval-current-env \
		-p no:cacheprovider notebooks

# Execute every notebook (or NB=02 for one) top to bottom, storing outputs and run times.
notebooks: $(STAMP)
	COURSE_NO_PROGRESS=1 $(PY) -m helpers notebooks $(NB)
	$(PY) -m helpers readme

bench: $(STAMP)
	$(PY) -m helpers bench

lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks/

clean:
	rm -rf $(VENV)
