# Two entry points: `make demo` (the main job on the built-in default) and
# `make test` (the whole suite). Each creates .venv when there is none.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat setup.py | cksum | cut -d' ' -f1)

.PHONY: demo test lint format bench clean

$(STAMP): setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[test,demo,plot]"
	rm -f $(VENV)/.installed-* && touch $@

demo: $(STAMP)
	$(PY) -m speechbrain_gemo.demo

test: $(STAMP)
	$(PY) -m pytest -n 2 --dist loadgroup

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: $(STAMP)
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) results build *.egg-info
