# Two targets do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test benchmark clean

# Reinstalled whenever requirements.txt changes.
$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

run: $(VENV)/.installed
	$(PY) basic_cnn.py
	$(PY) improved_cnn.py
	$(PY) compare_models.py

test: $(VENV)/.installed
	$(PY) -m pytest -q tests

benchmark: $(VENV)/.installed
	$(PY) benchmark.py

clean:
	rm -rf $(VENV) .pytest_cache __pycache__ tests/__pycache__
