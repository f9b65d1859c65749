"""A student's gate whose backward no catalogued mistake explains, for the property "a wrong
gradient no model explains is never named": tests/test_gradients_properties.py draws it for the
entry-by-entry gates, the matrix product and the reductions, tests/test_network_layers.py for the
network's layers."""

import numpy as np


def wrong_gate(spec, sources, pick, factor):
    """A student gate whose backward mixes, input by input, the correct gradient, one input of some
    mistake's model, and noise; whatever no model reproduces as a whole."""
    from autograder.grading.checks import _model_close, _models, _reference_seen

    class Wrong(spec.cls):
        def forward(self, *inputs):
            self.seen_inputs = inputs
            return super().forward(*inputs)

        def backward(self, dout):
            seen = _reference_seen(spec, self.seen_inputs, dout)
            # a way that does not apply to these shapes (dx = dout·W of a non-square W) models nothing
            variants = [v for vs in _models(spec, seen).values() for v in vs if len(v) == len(seen.correct)]
            noise = lambda c: np.asarray(c) * factor + 0.3  # noqa: E731
            grads = []
            for i, (source, c) in enumerate(zip(sources, seen.correct)):
                if source == "model" and variants:
                    grads.append(variants[pick % len(variants)][i])
                else:
                    grads.append(c if source == "correct" else noise(c))

            # A gradient that is not finite is the unshifted softmax's own (softmax-no-shift, on a
            # case near 800): NaN equals nothing, so it is counted here as the model it is.
            def explained(gs):
                return any(not np.all(np.isfinite(g)) for g in gs) or any(
                    all(np.shape(g) == np.shape(w) and _model_close(g, w) for g, w in zip(gs, v))
                    for v in variants + [seen.correct]
                )

            shift = 0.7
            while explained(grads):
                grads[0] = np.asarray(seen.correct[0]) + shift
                shift += 0.7
            return tuple(grads) if len(grads) > 1 else grads[0]

    Wrong.__name__ = spec.name
    return Wrong
