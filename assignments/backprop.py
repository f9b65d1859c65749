# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Backpropagation, one gate at a time
#
# This notebook follows cs231n lecture 4. You will compute gradients on computational
# graphs **by hand** with your own numbers, then write the `forward()` / `backward()` of the
# gates that do it for you, and finally backpropagate through vectors and matrices.
#
# * Fill in every cell that says `YOUR CODE HERE` and replace every `...` answer.
# * After each exercise a **self-check** cell tests your code on random inputs against the
#   numeric gradient of *your own* forward. It tells you what looks wrong; it never shows
#   the answers. The graded tests run after you submit, on other inputs.
# * Give hand-computed answers to at least **3 decimal places** (or exactly).
#
# Start by running the next two cells. If you are not on JupyterHub, type your student id
# (the one your course uses for grading) between the quotes: your numbers depend on it.

# %% kind="student_id" grade_id="student_id"
STUDENT_ID = ""

# %% kind="setup" grade_id="setup"
import numpy as np
from bpkit import pictures, problems, selfcheck

P = problems.load(STUDENT_ID)
print(P.describe())

# %% [markdown]
# ## 1. A simple graph: f(x, y, z) = (x + y) · z
#
# Write the function as a graph of two gates: an add gate makes q = x + y, a mul gate makes
# f = q · z. Backpropagation walks the graph from f back to the inputs: at each gate it
# multiplies the gradient arriving from above (the **upstream** gradient) by the gate's
# own **local** gradient. The gradient of f with respect to itself is 1.
#
# The lecture's example, with x = −2, y = 5, z = −4 (values above the edges, gradients
# below):

# %% kind="display" grade_id="picture_simple_lecture"
pictures.simple(-2, 5, -4, q=3, f=-12, grads={"x": -4, "y": -4, "z": 3, "q": -4, "f": 1})

# %% [markdown] graphs="lecture"
# **Your turn.** Here is the same graph with your numbers. Compute by hand the forward
# values q and f, then ∂f/∂q, ∂f/∂z, ∂f/∂x and ∂f/∂y with the chain rule.

# %% [markdown] graphs="per-student"
# **Your turn.** Every student has a graph of their own, of the same shape: four inputs
# w, x, y, z; p and q each made from two of them by an add gate or a max gate; and f = p · q.
# The cells below print and draw **your graph** with your numbers. Compute by hand the forward
# values p, q and f, then ∂f/∂p, ∂f/∂q and the gradient of each input with the chain rule.
# The max gate routes: the larger input gets the whole upstream gradient, the other gets 0.

# %% kind="setup" grade_id="setup_simple" exercise="simple_by_hand"

# %% kind="display" grade_id="picture_simple" exercise="simple_by_hand"

# %% kind="solution" grade_id="simple_by_hand"

# %% kind="selfcheck" grade_id="selfcheck_simple_by_hand"

# %% kind="test" grade_id="test_simple_by_hand" points=3 title="f = (x + y) · z by hand (part 1)" title_per_student="Your graph f = p · q by hand (part 1)"

# %% [markdown]
# ## 2. Gates: forward() and backward()
#
# A real network has far too many parameters to write each gradient formula by hand. Instead
# every node of the graph is an object with two methods:
#
# * `forward(...)` computes the node's output and **stores** what backward will need;
# * `backward(dout)` receives `dout`, the gradient of the loss with respect to the node's
#   output, and returns the gradient with respect to each input (a tuple when there are two
#   inputs), each with the **same shape as that input**.
#
# Inputs may be Python floats or numpy arrays of any shape (both inputs of a two-input
# gate have the same shape). Three patterns show up again and again:
#
# * the **add gate** is a *distributor*: its local gradient is 1 for both inputs;
# * the **max gate** is a *router*: the larger input gets the whole upstream gradient, the
#   other gets 0;
# * the **mul gate** is a *switcher*: each input's gradient is the upstream gradient times
#   the *other* input.
#
# Write each class in its own cell, using only numpy. Keep helper functions inside the
# cell that uses them: each gate is graded on its own.

# %% kind="gate" grade_id="add_gate"

# %% kind="gate" grade_id="mul_gate"

# %% kind="gate" grade_id="max_gate"

# %% kind="gate" grade_id="relu_gate"

# %% [markdown] graphs="lecture"
# **With your gates.** Now compute the graph of part 1 with your `AddGate` and `MulGate`:
# return f and the gradients (dx, dy, dz). Your hand answers should agree.

# %% [markdown] graphs="per-student"
# **With your gates.** Now compute your graph of part 1 with your `AddGate`, `MaxGate` and
# `MulGate`: return f and the gradients (dw, dx, dy, dz). Your hand answers should agree.


# %% kind="solution" grade_id="simple_with_gates"

# %% kind="selfcheck" grade_id="selfcheck_simple_with_gates"

# %% kind="test" grade_id="test_simple_with_gates" points=2 title="simple_with_gates, f = (x + y) · z with your gates (part 2)" title_per_student="simple_with_gates, your graph of part 1 with your gates (part 2)"

# %% [markdown]
# ## 3. The sigmoid neuron
#
# f(w, x) = 1 / (1 + e^−(w0·x0 + w1·x1 + w2)) staged as small gates: two multiplies, two
# adds, a multiply by −1, exp, +1 and 1/x. The lecture's example, w = (2, −3, −3) and
# x = (−1, −2):

# %% kind="display" grade_id="picture_neuron_lecture"
pictures.neuron(
    (2, -3, -3),
    (-1, -2),
    values={"w0x0": -2, "w1x1": 6, "p": 4, "s": 1, "neg": -1, "exp": 0.37, "denom": 1.37, "f": 0.73},
    grads={
        "f": 1,
        "denom": -0.53,
        "exp": -0.53,
        "neg": -0.20,
        "s": 0.20,
        "p": 0.20,
        "w2": 0.20,
        "w0x0": 0.20,
        "w1x1": 0.20,
        "w0": -0.20,
        "x0": 0.39,
        "w1": -0.39,
        "x1": -0.59,
    },
)

# %% [markdown]
# **Your turn**, step by step with your numbers. Local gradients you need:
# d(1/u)/du = −1/u², d(u + 1)/du = 1, d(e^u)/du = e^u, d(−u)/du = −1.
# Give f, then the gradient reaching each stage from the top: at the input of 1/x
# (`dfd_denom`), of +1 (`dfd_exp`), of exp (`dfd_neg`), of ·(−1) (`dfds`), and finally
# the five parameters.

# %% kind="setup" grade_id="setup_neuron" exercise="neuron_by_hand"

# %% kind="display" grade_id="picture_neuron" exercise="neuron_by_hand"

# %% kind="solution" grade_id="neuron_by_hand"

# %% kind="selfcheck" grade_id="selfcheck_neuron_by_hand"

# %% kind="test" grade_id="test_neuron_by_hand" points=4 title="The sigmoid neuron by hand (part 3)"

# %% [markdown]
# **The shortcut.** The four staged gates after the sum collapse into one sigmoid gate
# σ(x) = 1/(1 + e^−x), whose local gradient is σ(x)·(1 − σ(x)), computed from the gate's
# output. In the lecture (1 − 0.73)·0.73 = 0.20, the same as the staged result.
# Write `SigmoidGate` (mind very large |x|), then the neuron with your gates.

# %% kind="gate" grade_id="sigmoid_gate"


# %% kind="solution" grade_id="neuron_with_gates"

# %% kind="selfcheck" grade_id="selfcheck_neuron_with_gates"

# %% kind="test" grade_id="test_neuron_with_gates" points=2 title="neuron_with_gates, the neuron with your gates (part 3)"

# %% [markdown] graphs="lecture"
# ## 4. Gradients add at branches
#
# When one value feeds several gates, nudging it moves every branch, so its gradient is
# the **sum** of the gradients coming back along each branch (the multivariate chain
# rule). Code accumulates (`+=`); it does not overwrite.
#
# Here f(x, y) = (x + y) · x: x feeds both the add gate and the mul gate.

# %% [markdown] graphs="per-student"
# ## 4. Gradients add at branches
#
# When one value feeds several gates, nudging it moves every branch, so its gradient is
# the **sum** of the gradients coming back along each branch (the multivariate chain
# rule). Code accumulates (`+=`); it does not overwrite.
#
# **Your graph** (printed and drawn below) has three inputs x, y, z; one of them feeds both p
# and q, which are an add gate and a max gate (it wins its max), and f = p · q. Give p, q, f,
# ∂f/∂p, ∂f/∂q and the gradient of each input: the one that feeds two gates collects both.

# %% kind="setup" grade_id="setup_branch" exercise="branch_by_hand"

# %% kind="display" grade_id="picture_branch" exercise="branch_by_hand"

# %% kind="solution" grade_id="branch_by_hand"

# %% kind="selfcheck" grade_id="selfcheck_branch_by_hand"

# %% kind="test" grade_id="test_branch_by_hand" points=2 title="f = (x + y) · x by hand: gradients add at branches (part 4)" title_per_student="Your graph with a branch, by hand: gradients add at branches (part 4)"


# %% kind="solution" grade_id="branch_with_gates"

# %% kind="selfcheck" grade_id="selfcheck_branch_with_gates"

# %% kind="test" grade_id="test_branch_with_gates" points=2 title="branch_with_gates, f = (x + y) · x with your gates (part 4)" title_per_student="branch_with_gates, your graph of part 4 with your gates (part 4)"

# %% [markdown]
# ## 5. Vectorized gradients: f(x, W) = ‖W·x‖²
#
# With vectors the local gradient becomes a Jacobian matrix, but nobody builds it: the
# gradient with respect to a variable always has **that variable's shape**, and shapes tell
# you which product to write. Here q = W·x with W of shape (H, D) and x of shape (D,) — or
# a batch of N columns, shape (D, N) — and f = Σ q².
#
# The lecture's example, W = [[0.1, 0.5], [−0.3, 0.8]] and x = (0.2, 0.4):

# %% kind="display" grade_id="picture_l2_lecture"
pictures.l2_of_matmul(
    [[0.1, 0.5], [-0.3, 0.8]],
    [0.2, 0.4],
    values={"q": [0.22, 0.26], "f": 0.116},
    grads={"f": 1, "q": [0.44, 0.52], "W": [[0.088, 0.176], [0.104, 0.208]], "x": [-0.112, 0.636]},
)

# %% kind="gate" grade_id="matmul_gate"

# %% kind="gate" grade_id="l2_gate"

# %% [markdown]
# **By hand**, with your W (shape 2 × 3) and x: give q, f, ∂f/∂q, ∂f/∂W and ∂f/∂x as numbers
# or numpy arrays of the right shapes.

# %% kind="setup" grade_id="setup_l2" exercise="l2_by_hand"

# %% kind="display" grade_id="picture_l2" exercise="l2_by_hand"

# %% kind="solution" grade_id="l2_by_hand"

# %% kind="selfcheck" grade_id="selfcheck_l2_by_hand"

# %% kind="test" grade_id="test_l2_by_hand" points=3 title="f = ‖W·x‖² by hand (part 5)"

# %% [markdown]
# Now with your gates, for a single vector x and for a batch of columns.


# %% kind="solution" grade_id="l2_with_gates"

# %% kind="selfcheck" grade_id="selfcheck_l2_with_gates"

# %% kind="test" grade_id="test_l2_with_gates" points=2 title="l2_with_gates, f = ‖W·x‖² with your gates (part 5)"

# %% [markdown] exercise="jacobian_question"

# %% kind="solution" grade_id="jacobian_question"

# %% kind="selfcheck" grade_id="selfcheck_jacobian_question"

# %% kind="test" grade_id="test_jacobian_question" points=1 title="Why nobody builds the Jacobian (part 5)"

# %% [markdown]
# That's it: the diagonal Jacobian is why every elementwise backward is elementwise too.
# Save the notebook and submit it.
