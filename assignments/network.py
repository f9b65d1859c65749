# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # From gates to layers: a linear classifier and a two-layer network
#
# The second half of cs231n lecture 4. A network is far too big to write every gradient by
# hand, so each **layer** is a gate: `forward()` computes its output from a whole batch and
# keeps what backward needs, `backward(dout)` returns the gradient of every input, **each with
# that input's shape**. Stack them, and backpropagation through the network is each layer's
# backward in reverse order.
#
# * Fill in every cell that says `YOUR CODE HERE`.
# * After each layer a **self-check** cell compares your backward with the numeric gradient of
#   *your own* forward and prints the relative error, as cs231n's notebooks do, then what
#   looks wrong. It never shows the answers. The graded tests run after you submit, on
#   other inputs.
#
# Start by running the next two cells. If you are not on JupyterHub, type your student id
# (the one your course uses for grading) between the quotes: your numbers depend on it.

# %% kind="student_id" grade_id="student_id"
STUDENT_ID = ""

# %% kind="setup" grade_id="setup"
import numpy as np
from bpkit import pictures, problems, selfcheck

P = problems.load(STUDENT_ID)

# %% [markdown]
# ## 1. The affine layer: out = x·W + b
#
# A batch x holds N samples as rows, shape (N, D); W has shape (D, M) and b shape (M,). Every
# row of the batch is multiplied by the same W and gets the same b added. Shapes pick the
# products: dx must be (N, D), dW must be (D, M), and db must be (M,), so db sums the upstream
# gradient over the batch.

# %% kind="gate" grade_id="affine_gate"

# %% [markdown]
# ## 2. ReLU on a batch
#
# The same `ReLUGate` as in the first notebook, now applied to a matrix: elementwise, so its
# backward is elementwise too. The upstream gradient passes where the **input** was positive.

# %% kind="gate" grade_id="relu_gate"

# %% [markdown]
# ## 3. Two losses of class scores
#
# A classifier's scores have shape (N, C), one row per sample, one column per class; the labels
# y are N integers in 0 … C−1. Both losses are the **mean** over the batch, so each sample's
# gradient carries one 1/N. The labels get no gradient.
#
# * **Softmax and cross-entropy**: with p = softmax(s) row by row, the loss is the mean of
#   −log p[y]. Subtract each row's largest score before `exp`: the softmax stays the same and
#   nothing overflows.
# * **Multiclass hinge (SVM)**, margin 1: for each sample, the sum over the classes j ≠ y of
#   max(0, s_j − s_y + 1). The correct class never counts itself.

# %% kind="gate" grade_id="softmax_ce_gate"

# %% kind="gate" grade_id="svm_loss_gate"

# %% [markdown]
# That's it for the layers: each backward returned gradients shaped like its inputs.
# Save the notebook and submit it.
