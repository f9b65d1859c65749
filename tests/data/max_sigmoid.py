# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # A max and a sigmoid
#
# f(x, y, z) = max(x, y) · σ(z): the max routes, the sigmoid squashes, the mul switches.

# %% kind="student_id" grade_id="student_id"
STUDENT_ID = ""

# %% kind="setup" grade_id="setup"
import numpy as np

from bpkit import pictures, problems, selfcheck

P = problems.load(STUDENT_ID)
print(P.describe())

# %% [markdown]
# Write the three gates first.

# %% kind="gate" grade_id="max_gate"

# %% kind="gate" grade_id="mul_gate"

# %% kind="gate" grade_id="sigmoid_gate"

# %% [markdown]
# **By hand**, with your numbers: m = max(x, y), s = σ(z), f = m · s; give m, s, f, the gradients
# of m and s, then of x, y and z.

# %% kind="setup" grade_id="setup_max_sigmoid" exercise="max_sigmoid_by_hand"

# %% kind="display" grade_id="picture_max_sigmoid" exercise="max_sigmoid_by_hand"

# %% kind="solution" grade_id="max_sigmoid_by_hand"

# %% kind="selfcheck" grade_id="selfcheck_max_sigmoid_by_hand"

# %% kind="test" grade_id="test_max_sigmoid_by_hand" points=3 title="f = max(x, y) · σ(z) by hand"

# %% [markdown]
# **With your gates**: return f and the gradients (dx, dy, dz).

# %% kind="solution" grade_id="max_sigmoid_with_gates"

# %% kind="selfcheck" grade_id="selfcheck_max_sigmoid_with_gates"

# %% kind="test" grade_id="test_max_sigmoid_with_gates" points=2 title="max_sigmoid_with_gates"
