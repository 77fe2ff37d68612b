"""The loss registry: a name maps to one frozen ``Loss`` carrying the cost and its gradient.

Shapes: ``Z``, ``A`` and ``Y`` are ``(m, n_out)``. ``cost(Z, A, Y, aux=None)`` is the data term of ``J``
(the L2 term is added by ``fnn.cost``); ``grad(Z, A, Y, out=None)`` is ``dJ/dA``. Cross-entropies are
computed from ``Z`` (log-sigmoid, log-softmax), so they are exact and finite even where ``A``
rounds to 0 or 1. For the pairs in ``fused`` (sigmoid + BCE, softmax + CCE) the output gradient
is ``dZ = (A - Y) / m`` in one pass.
"""
from __future__ import annotations

from typing import Callable

import attrs
import numpy as np

from fnn.activations import ACTIVATIONS, Activation, inner, log_sigmoid_pair, scalar, softmax_parts
from fnn.buffers import empty, empty_like, ones


@attrs.frozen
class Loss:
    """``cost(Z, A, Y, aux=None) -> J`` (data term; ``aux``: the output activation's scratch from the forward pass), ``grad(Z, A, Y, out=None) -> dJ/dA``; ``allowed`` output activations."""

    name: str
    cost: Callable[[np.ndarray, np.ndarray, np.ndarray], float]
    grad: Callable[..., np.ndarray] | None
    allowed: frozenset[str]
    fused: frozenset[str] = frozenset()


def _bce(Z, A, Y, aux=None):
    """``-(1/m) sum[Y log A + (1-Y) log(1-A)] = (1/m) sum[softplus(Z) - Y*Z]``."""
    T = log_sigmoid_pair(Z)
    T -= np.multiply(Y, Z, out=empty_like(Z))
    return T.sum() / Z.shape[0]


def _cce(Z, A, Y, aux=None):
    """``-(1/m) sum Y log A`` with ``log A = S - log s`` (``softmax_parts``, from the forward
    pass's ``aux`` or afresh): ``(1/m) [sum_i log s_i - sum_ik Y_ik S_ik]``, as the rows of ``Y``
    sum to 1 (the stages check it; ``dZ = (A - Y)/m`` rests on it too)."""
    S, s = softmax_parts(Z) if aux is None else aux
    logs = np.log(s, out=empty(s.shape, s.dtype))
    return (np.dot(ones(s.shape[0], s.dtype), logs) - inner(Y, S)) / Z.shape[0]


def _diff(A, Y, out=None):
    return np.subtract(A, Y, out=empty_like(A) if out is None else out)


def _mse(Z, A, Y, aux=None):
    D = _diff(A, Y)
    return inner(D, D) / (2 * Z.shape[0])


def _sse(Z, A, Y, aux=None):
    D = _diff(A, Y)
    return inner(D, D)


def _scaled_diff(A, Y, d, out=None):
    """``(A - Y) / d`` in ``out`` or a fresh array."""
    D = _diff(A, Y, out)
    return np.divide(D, scalar(d, D.dtype), out=D)


_NOT_SOFTMAX = frozenset(ACTIVATIONS) - {"softmax"}

LOSSES: dict[str, Loss] = {
    loss.name: loss
    for loss in (
        Loss("binary_cross_entropy", _bce, None, frozenset({"sigmoid"}), frozenset({"sigmoid"})),
        Loss("categorical_cross_entropy", _cce, None, frozenset({"softmax"}), frozenset({"softmax"})),
        Loss("mean_squared_error", _mse, lambda Z, A, Y, out=None: _scaled_diff(A, Y, Z.shape[0], out), _NOT_SOFTMAX),
        Loss("sum_of_squares", _sse, lambda Z, A, Y, out=None: _scaled_diff(A, Y, 0.5, out), _NOT_SOFTMAX),
    )
}

DEFAULT_LOSS = {"sigmoid": "binary_cross_entropy", "softmax": "categorical_cross_entropy"}


def output_delta(loss: Loss, activation: Activation, Z: np.ndarray, A: np.ndarray, Y: np.ndarray,
                 out: np.ndarray | None = None, aux: np.ndarray | None = None) -> np.ndarray:
    """``dJ/dZ`` of the output layer, in ``out`` or a fresh array: ``(A - Y)/m`` for a fused pair,
    else ``vjp(grad(Z, A, Y))`` (``aux``: the activation's scratch from the forward pass)."""
    if activation.name in loss.fused:
        return _scaled_diff(A, Y, Z.shape[0], out)
    D = loss.grad(Z, A, Y, out)
    return activation.vjp(D, Z, A, D, aux)
