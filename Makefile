# Everything sets itself up on a fresh clone: a private virtual environment in .venv,
# the project installed into it with its test extras, then the job itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench clean system-packages

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "backprop-kit needs Python >= 3.10, found " + sys.version.split()[0]'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

# The grading sandbox needs bubblewrap (and setpriv, from util-linux). As root on Debian or
# Ubuntu it is installed here; otherwise grading warns, and the sandbox tests are skipped.
system-packages:
	@if ! command -v bwrap >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing bubblewrap (the grading sandbox) with apt-get"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null; \
	fi

demo: $(STAMP) system-packages
	$(BIN)/backprop-kit demo

test: $(STAMP) system-packages
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python benchmarks/gradcheck.py

clean:
	rm -rf $(VENV) build *.egg-info
