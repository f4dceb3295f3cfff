# SHREK developer entry points. Everything runs inside a project-local virtual environment,
# created on first use, so a fresh clone needs nothing installed by hand.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install install-panda-server install-panda-stack install-rucio-server install-browser \
	test test-panda \
	lint docs dist demo bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# panda-server's own workflow parser, for the test that runs it on SHREK's CWL. Its service
# dependencies are not needed (--no-deps); as root its build hook looks up a user 'atlpan'
# unless it runs under another group, hence setpriv.
install-panda-server: $(VENV)/.panda-server

$(VENV)/.panda-server: $(STAMP)
	$(BIN)/python -m pip install --quiet panda-common cwl-utils ruamel.yaml
	if [ "$$(id -u)" = 0 ] && command -v setpriv >/dev/null; then \
	  DISABLE_MM=1 setpriv --regid=65534 --clear-groups $(BIN)/python -m pip install --quiet --no-deps panda-server; \
	else DISABLE_MM=1 $(BIN)/python -m pip install --quiet --no-deps panda-server; fi
	touch $@

# A real PanDA (panda-server 1.0.4 with JEDI, PostgreSQL 15 with pg_cron and pg_partman) for
# the tests marked panda_server, in its own environment: tests/panda_stack/install.sh.
PANDA_VENV := .venv-panda
install-panda-stack: $(PANDA_VENV)/.installed

$(PANDA_VENV)/.installed: tests/panda_stack/requirements.txt tests/panda_stack/install.sh
	PYTHON=$(PYTHON) bash tests/panda_stack/install.sh $(PANDA_VENV)

# A real Rucio server (41.x) for the Rucio tests, in its own environment: they start it on
# 127.0.0.1 with SQLite. About a minute the first time.
RUCIO_VENV := .venv-rucio
install-rucio-server: $(RUCIO_VENV)/.installed

$(RUCIO_VENV)/.installed:
	rm -rf $(RUCIO_VENV)
	$(PYTHON) -m venv $(RUCIO_VENV)
	$(RUCIO_VENV)/bin/python -m pip install --quiet 'rucio==41.5.1' gunicorn
	touch $@

# Debian's Chromium and its chromedriver, for the tests that open the built site (shrek site)
# in a real browser: installed with apt-get where it is missing and this runs as root.
install-browser:
	@if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    chromium chromium-driver >/dev/null; \
	else echo "the browser tests need Debian's chromium and chromium-driver:" \
	  "sudo apt-get install chromium chromium-driver" >&2; exit 1; fi

test: $(STAMP) install-panda-server install-panda-stack install-rucio-server install-browser
	$(BIN)/python -m pytest --durations=10
	$(BIN)/shrek --registry . validate
	$(BIN)/shrek --registry . render-readme --check

# Only the tests against a real panda-server and JEDI (README: Testing against a real PanDA
# server), required to run rather than skip.
test-panda: $(STAMP) install-panda-stack
	SHREK_REQUIRE_PANDA_SERVER=1 $(BIN)/python -m pytest -m panda_server

lint: $(STAMP)
	$(BIN)/python scripts/check_tracked.py
	$(BIN)/lint-imports
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python scripts/gen_docs.py --check
	$(BIN)/mkdocs build --strict --quiet --site-dir $(CURDIR)/.docs-site

# The generated reference pages (command reference, exit codes), then the documentation site.
docs: $(STAMP)
	$(BIN)/python scripts/gen_docs.py
	$(BIN)/mkdocs build --strict

# A release's files: the sdist and the wheel, checked as PyPI checks them, then the wheel
# installed into a fresh environment that runs the demo (scripts/check_dist.sh).
dist: $(STAMP)
	rm -rf dist
	$(BIN)/python -m build --outdir dist .
	$(BIN)/twine check --strict dist/*
	PYTHON=$(PYTHON) bash scripts/check_dist.sh dist

demo: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/demo.sh

bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) $(RUCIO_VENV) $(PANDA_VENV) .pytest_cache build dist *.egg-info site .docs-site
