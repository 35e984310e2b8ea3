# Two targets do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --quiet --disable-pip-version-check

.PHONY: run test benchmark clean

# Each stamp is remade (and its packages reinstalled) whenever its requirements file changes.
$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PIP) -r requirements-dev.txt
	touch $@

run: $(VENV)/.installed
	$(PY) basic_cnn.py
	$(PY) improved_cnn.py
	$(PY) tools/compare_models.py

# One worker per core, each test file kept on one worker: a file's tests share its training run.
test: $(VENV)/.installed-dev
	$(PY) -m pytest -q -n auto --dist loadfile tests

benchmark: $(VENV)/.installed
	$(PY) tools/benchmark.py

clean:
	rm -rf $(VENV) .pytest_cache __pycache__ */__pycache__
