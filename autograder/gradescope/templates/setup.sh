#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image (Ubuntu).
# Written by `backprop-kit gradescope`.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# bubblewrap: the sandbox student code runs in (see course.yaml grading.require_sandbox).
apt-get install -y -qq --no-install-recommends python3 python3-venv python3-pip bubblewrap
python3 -c 'import sys; assert sys.version_info >= (3, 10), "backprop-kit needs Python >= 3.10 (Ubuntu 22.04 or later)"'
python3 -m venv /autograder/venv
/autograder/venv/bin/python -m pip install --quiet --upgrade pip
# The kit itself comes from the wheel inside this bundle; its dependencies from PyPI.
/autograder/venv/bin/python -m pip install --quiet /autograder/source/wheels/backprop_kit-*.whl
# course.yaml's grading.packages: what a notebook may import besides the standard library and numpy.
if [ -s /autograder/source/packages.txt ]; then
    /autograder/venv/bin/python -m pip install --quiet -r /autograder/source/packages.txt
fi
# Build the one-student course once (nbgrader generate_assignment), so each run starts from it.
/autograder/venv/bin/python -m autograder.gradescope.run --prepare
