# Two entry points: `make demo` (the main job on the built-in default) and
# `make test` (the whole suite). Each creates .venv when there is none.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat setup.py | cksum | cut -d' ' -f1)

.PHONY: demo test lint format bench clean browser

$(STAMP): setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[test,demo,plot]"
	rm -f $(VENV)/.installed-* && touch $@

demo: $(STAMP)
	$(PY) -m speechbrain_gemo.demo

test: $(STAMP) browser
	$(PY) -m pytest -n 2 --dist loadgroup -rs

# The browser tests (tests/test_page.py) drive Debian's headless Chromium:
# installed here when missing (as root, or with passwordless sudo); where it
# cannot be, those tests are skipped and say why (-rs above)
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; \
	then :; \
	elif ! command -v apt-get >/dev/null; then \
	  echo "warning: no apt-get: install Chromium and its chromedriver to run tests/test_page.py"; \
	elif [ "$$(id -u)" = 0 ]; then \
	  { apt-get update -q && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -q --no-install-recommends chromium chromium-driver; } \
	  || echo "warning: apt-get could not install chromium chromium-driver: tests/test_page.py will be skipped"; \
	elif sudo -n true 2>/dev/null; then \
	  { sudo apt-get update -q && sudo DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -q --no-install-recommends chromium chromium-driver; } \
	  || echo "warning: apt-get could not install chromium chromium-driver: tests/test_page.py will be skipped"; \
	else \
	  echo "warning: cannot install chromium chromium-driver (needs root): tests/test_page.py will be skipped"; \
	fi

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
