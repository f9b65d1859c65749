"""Hypothesis profiles, loaded by conftest.py before any test module is imported (each module's
own @settings(...) is built on the profile in force when that module is imported).

CI's property tests are reproducible: under CI=true hypothesis draws the same examples on every
run (derandomize) and keeps no database of past failures to replay, so a red run fails the same
way when run again. On a desk, examples are random and a failure found is replayed from
.hypothesis/."""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
