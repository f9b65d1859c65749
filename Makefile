# Everything sets itself up on a fresh clone: a private virtual environment in .venv,
# the project installed into it with its test extras, then the job itself.
# rfc3987-syntax comes with jupyter-events' jsonschema[format-nongpl] and compiles 39 Lark
# grammars whenever jsonschema is imported: 1.7 s of CPU in every process that imports
# nbformat (each nbgrader command, the CLI, every grading). Nothing here checks IRI formats
# (jsonschema skips a format whose checker is missing), so it is removed again.
PYTHON ?= python3
# Bytecode is cached (__pycache__/, ignored by git) whatever the calling shell says: with
# PYTHONDONTWRITEBYTECODE=1 every pytest worker rewrote and compiled all ~200 test modules and
# helpers again on each run (some 8 s of CPU per worker, half of what collecting costs).
unexport PYTHONDONTWRITEBYTECODE
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast test-cgroup-v2 docs bench clean system-packages hub-env

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "backprop-kit needs Python >= 3.10, found " + sys.version.split()[0]'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,docs]'
	$(BIN)/python -m pip uninstall --quiet --yes rfc3987-syntax
	@touch $(STAMP)

# Debian packages the kit and its tests use, installed with apt-get when running as root and
# missing (elsewhere: grading warns without bubblewrap; the tests that need the others are
# skipped, except under CI=true, where they refuse to skip):
#   bwrap (bubblewrap)           the grading sandbox (setpriv, from util-linux, is always there)
#   chromium, chromedriver       browser tests of the student notebook, feedback and reports
#   pg_ctl (postgresql)          the gradebook on a database server
#   fc-list (fonts-noto-cjk)     Hangul glyphs, so a `language: ko` page renders in Chromium
#                                (checked by its font file: fontconfig is there without it)
# and, from the npm registry (Node's npm must be there; Debian package npm):
#   configurable-http-proxy      JupyterHub's proxy, for the end-to-end hub tests
# Debian puts PostgreSQL's server programs in /usr/lib/postgresql/<version>/bin, off PATH;
# the tests look there.
SYSTEM_PACKAGES := bwrap:bubblewrap chromium:chromium chromedriver:chromium-driver initdb:postgresql \
                   /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc:fonts-noto-cjk
system-packages:
	@missing=""; for pair in $(SYSTEM_PACKAGES); do cmd=$${pair%%:*}; pkg=$${pair#*:}; \
	  if ! command -v $$cmd >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/$$cmd >/dev/null 2>&1 && ! [ -e "$$cmd" ]; then missing="$$missing $$pkg"; fi; \
	done; \
	if [ -n "$$missing" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing with apt-get:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@if ! command -v configurable-http-proxy >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && command -v npm >/dev/null 2>&1; then \
	  echo "installing with npm: configurable-http-proxy"; \
	  npm install --global --silent configurable-http-proxy >/dev/null; \
	fi

# The environment the JupyterHub tests serve a course from (tests/hub_course.py). The hub's
# users — the course account, each student — run its programs, so its Python must be one
# every account can read: a Python under /root (pyenv's, say) is not. Built from Debian's
# python3 when running as root; the hub tests skip without it (fail under CI=true).
HUB_VENV := .venv-hub
HUB_PYTHON ?= /usr/bin/python3
$(HUB_VENV)/.installed: pyproject.toml
	$(HUB_PYTHON) -m venv $(HUB_VENV)
	$(HUB_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(HUB_VENV)/bin/python -m pip install --quiet -e '.[hub,lti]'
	@touch $@
hub-env:
	@if [ "$$(id -u)" = 0 ] && [ -x $(HUB_PYTHON) ] && $(HUB_PYTHON) -c 'import sys, venv, ensurepip; assert sys.version_info >= (3, 10)' 2>/dev/null; then \
	  $(MAKE) --no-print-directory $(HUB_VENV)/.installed; fi

demo: $(STAMP) system-packages
	$(BIN)/backprop-kit demo

# Both cores: pytest-xdist hands out whole files (--dist loadfile), so a module's fixtures (a
# graded class, a hub, a browser) are built once, by the worker that runs the file; heaviest
# files first (tests/heaviest_first.py), so neither core idles at the end.
test: $(STAMP) system-packages hub-env docs
	$(BIN)/python -m pytest -q -n 2 --dist loadfile $(PYTEST_ARGS)

# The documentation site, into build/site/: warnings are errors (a link to a missing page or
# anchor among them, mkdocs.yml's validation), then the README's links are checked the same
# way and every external link is listed, not fetched (no network where the suite runs).
# NO_MKDOCS_2_WARNING: mkdocs-material's banner about MkDocs 2 says nothing about this site.
# Never --quiet: it drops the warnings before --strict counts them, and the build passes.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict
	$(BIN)/python -m autograder.docs --check

# The minute-to-minute lane: every test outside the slow lanes (pyproject.toml's markers).
# The fast lane runs on both cores (pytest-xdist), whole files per worker like `make test`: a
# module's fixture (test_course.py's course, built by init as a process) is built once, not once
# per worker, and the files go heaviest first (tests/heaviest_first.py).
test-fast: $(STAMP) system-packages
	$(BIN)/python -m pytest -q -n 2 --dist loadfile -m "not browser and not cluster and not postgres and not e2e and not attacks and not slow" $(PYTEST_ARGS)

# cgroup v2's limits holding for real (tests/test_cgroup_v2_rebind.py): moves the machine's memory,
# pids and cpu controllers from cgroup v1 to v2 and back, so it runs alone, after `make test`, and
# only where no v1 hierarchy holds a child cgroup (it skips, naming them, elsewhere). Root only.
test-cgroup-v2: $(STAMP) system-packages
	BPKIT_CGROUP_REBIND=1 $(BIN)/python -m pytest -q -n 0 -rs tests/test_cgroup_v2_rebind.py $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python benchmarks/gradcheck.py

clean:
	rm -rf $(VENV) $(HUB_VENV) build *.egg-info
