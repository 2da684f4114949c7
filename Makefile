# The project's commands. Every target runs inside .venv/, which `make install` creates.
# Targets follow a pelican-quickstart site (html, serve, devserver, publish, rsync_upload,
# github) plus the aggregator's own (fetch, demo, test, bench, fuzz, submissions-server).

PYTHON_SYSTEM ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PELICAN := $(VENV)/bin/pelican
STAMP := $(VENV)/.installed

INPUTDIR := $(CURDIR)/content
OUTPUTDIR := $(CURDIR)/output
CONFFILE := $(CURDIR)/pelicanconf.py
PUBLISHCONF := $(CURDIR)/publishconf.py
PORT ?= 8000
SSH_HOST ?= localhost
SSH_PORT ?= 22
SSH_USER ?= $(USER)
SSH_TARGET_DIR ?= /var/www/network
GITHUB_PAGES_BRANCH ?= gh-pages
CHROMIUM ?= /usr/bin/chromium
PYTEST_ARGS ?=

.PHONY: install demo test fetch html serve devserver publish rsync_upload github bench fuzz \
        submissions-server browser clean lint typecheck

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON_SYSTEM) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# Debian's Chromium for the browser tests (Playwright's own browser download is not used).
browser:
	@test -x $(CHROMIUM) || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "Chromium is missing: run 'sudo apt-get install chromium' (browser tests need it)"; exit 1; fi; }

demo: install
	$(PY) -m demo --port $(PORT)

test: install browser
	$(PY) -m pytest -n 2 $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check aggregator plugins tests bench demo
	$(VENV)/bin/mypy

fetch: install
	$(PY) -m aggregator fetch

html: install
	$(PY) -m plugins.incremental $(INPUTDIR) -o $(OUTPUTDIR) -s $(CONFFILE)

serve: install
	$(PELICAN) -l $(INPUTDIR) -o $(OUTPUTDIR) -s $(CONFFILE) -p $(PORT)

devserver: install
	$(PELICAN) -lr $(INPUTDIR) -o $(OUTPUTDIR) -s $(CONFFILE) -p $(PORT)

publish: install
	$(PY) -m aggregator publish

# -t and no -c: a publish leaves every page it did not change as it was, time included, so
# rsync's size-and-time check sends only what changed; pelican-quickstart's -c (checksums)
# read the whole site on both machines at every upload (about 1 GB at 20,000 posts).
rsync_upload: publish
	rsync -e "ssh -p $(SSH_PORT)" -P -rtvz --include tags --cvs-exclude --delete \
	  "$(OUTPUTDIR)"/ "$(SSH_USER)@$(SSH_HOST):$(SSH_TARGET_DIR)"

github: publish
	$(VENV)/bin/ghp-import -m "Generate Pelican site" -b $(GITHUB_PAGES_BRANCH) "$(OUTPUTDIR)"
	git push origin $(GITHUB_PAGES_BRANCH)

bench: install
	$(PY) -m bench

fuzz: install
	$(PY) -m tests.fuzz

submissions-server: install
	$(PY) -m aggregator serve-submissions

clean:
	rm -rf "$(OUTPUTDIR)" cache var/*.tmp
