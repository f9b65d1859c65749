# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # A softplus
#
# f(x, y, z) = softplus(x + y) · z: the add distributes, the softplus smooths what a ReLU would cut, the mul switches.

# %% kind="student_id" grade_id="student_id"
STUDENT_ID = ""

# %% kind="setup" grade_id="setup"
import numpy as np

from bpkit import pictures, problems, selfcheck

P = problems.load(STUDENT_ID)
print(P.describe())

# %% [markdown]
# Write the three gates first.

# %% kind="gate" grade_id="add_gate"

# %% kind="gate" grade_id="mul_gate"

# %% kind="gate" grade_id="softplus_gate"

# %% [markdown]
# **By hand**, with your numbers: s = x + y, t = softplus(s), f = t · z; give s, t, f, the gradients
# of t and s, then of x, y and z.

# %% kind="setup" grade_id="setup_softplus" exercise="softplus_by_hand"

# %% kind="display" grade_id="picture_softplus" exercise="softplus_by_hand"

# %% kind="solution" grade_id="softplus_by_hand"

# %% kind="selfcheck" grade_id="selfcheck_softplus_by_hand"

# %% kind="test" grade_id="test_softplus_by_hand" points=3 title="f = softplus(x + y) · z by hand"

# %% [markdown]
# **With your gates**: return f and the gradients (dx, dy, dz).

# %% kind="solution" grade_id="softplus_with_gates"

# %% kind="selfcheck" grade_id="selfcheck_softplus_with_gates"

# %% kind="test" grade_id="test_softplus_with_gates" points=2 title="softplus_with_gates"
