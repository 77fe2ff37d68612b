"""The loss registry: a name maps to one frozen ``Loss`` carrying the cost and its gradient.

Shapes: ``Z``, ``A`` and ``Y`` are ``(m, n_out)``. ``cost(Z, A, Y, aux=None, D=None)`` is the
data term of ``J`` (the L2 term is added by ``fnn.cost``); ``grad(Z, A, Y, out=None)`` is ``dJ/dA``
where it exists. Cross-entropies are computed from ``Z`` (log-sigmoid, log-softmax), so they are
exact and finite even where ``A`` rounds to 0 or 1. For the pairs in ``fused`` (sigmoid + BCE,
softmax + CCE, exp + Poisson) the output gradient is ``dZ = (A - Y) / m`` in one pass.
"""
from __future__ import annotations

from typing import Callable

import attrs
import numpy as np

from fnn.activations import ACTIVATIONS, Activation, inner, log_sigmoid_pair, run, scalar, softmax_parts
from fnn.buffers import empty, empty_like, ones


@attrs.frozen
class Loss:
    """``cost(Z, A, Y, aux=None, D=None) -> J`` (data term; ``aux``: the output activation's scratch
    from the forward pass; ``D``: the residual ``A - Y``, when the caller has it); ``allowed``
    output activations, of which ``fused`` take ``dZ = (A - Y) / m``. ``divisor(m)``: the output
    delta starts as ``(A - Y) / divisor(m)``, which is ``dZ`` for a fused pair and ``dJ/dA``
    (``grad``) otherwise."""

    name: str
    cost: Callable[[np.ndarray, np.ndarray, np.ndarray], float]
    divisor: Callable[[int], float]
    allowed: frozenset[str]
    fused: frozenset[str] = frozenset()

    def grad(self, Z: np.ndarray, A: np.ndarray, Y: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """``dJ/dA = (A - Y) / divisor(m)``, for a loss that is not only ever fused (MSE, SSE)."""
        if self.allowed <= self.fused:
            raise TypeError(f"{self.name}: its gradient is taken with respect to Z only (fused with {sorted(self.fused)})")
        D = _diff(A, Y, out)
        run(self.delta_ops(D))
        return D

    def delta_ops(self, D: np.ndarray) -> list:
        """``D /= divisor(m)`` as a list of ``Op``."""
        return [(np.divide, (D, scalar(self.divisor(D.shape[0]), D.dtype), D))]


def _bce(Z, A, Y, aux=None, D=None):
    """``-(1/m) sum[Y log A + (1-Y) log(1-A)] = (1/m) sum[softplus(Z) - Y*Z]``."""
    T = log_sigmoid_pair(Z)
    T -= np.multiply(Y, Z, out=empty_like(Z))
    return T.sum() / Z.shape[0]


def _cce(Z, A, Y, aux=None, D=None):
    """``-(1/m) sum Y log A`` with ``log A = S - log s`` (``softmax_parts``, from the forward
    pass's ``aux`` or afresh): ``(1/m) [sum_i log s_i - sum_ik Y_ik S_ik]``, as the rows of ``Y``
    sum to 1 (the stages check it; ``dZ = (A - Y)/m`` rests on it too)."""
    S, s = softmax_parts(Z) if aux is None else aux
    logs = np.log(s, out=empty(s.shape, s.dtype))
    return (np.dot(ones(s.shape[0], s.dtype), logs) - inner(Y, S)) / Z.shape[0]


def _diff(A, Y, out=None):
    return np.subtract(A, Y, out=empty_like(A) if out is None else out)


def _mse(Z, A, Y, aux=None, D=None):
    return _sse(Z, A, Y, aux, D) / (2 * Z.shape[0])


def _sse(Z, A, Y, aux=None, D=None):
    D = _diff(A, Y) if D is None else D
    return inner(D, D)


def _poisson(Z, A, Y, aux=None, D=None):
    """Half the Poisson deviance with the log link, ``A = exp(Z)``:
    ``(1/m) sum[A - Y*Z + Y log Y - Y]`` (``0 log 0 = 0``), scikit-learn's ``poisson`` loss;
    ``dJ/dZ = (A - Y)/m``. ``Y >= 0``."""
    T = np.subtract(A, np.multiply(Y, Z, out=empty_like(Z)), out=empty_like(Z))
    T += xlogy(Y, Y)
    T -= Y
    return T.sum() / Z.shape[0]


def xlogy(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``x * log(y)`` with ``0`` where ``x == 0``."""
    with np.errstate(divide="ignore"):
        return np.where(x == 0, 0.0, x * np.log(np.where(x == 0, 1.0, y))).astype(x.dtype, copy=False)


def _rows(m: int) -> int:
    return m


_NOT_SOFTMAX = frozenset(ACTIVATIONS) - {"softmax"}

LOSSES: dict[str, Loss] = {
    loss.name: loss
    for loss in (
        Loss("binary_cross_entropy", _bce, _rows, frozenset({"sigmoid"}), frozenset({"sigmoid"})),
        Loss("categorical_cross_entropy", _cce, _rows, frozenset({"softmax"}), frozenset({"softmax"})),
        Loss("mean_squared_error", _mse, _rows, _NOT_SOFTMAX),
        Loss("sum_of_squares", _sse, lambda m: 0.5, _NOT_SOFTMAX),
        Loss("poisson", _poisson, _rows, frozenset({"exp"}), frozenset({"exp"})),
    )
}

DEFAULT_LOSS = {"sigmoid": "binary_cross_entropy", "softmax": "categorical_cross_entropy", "exp": "poisson"}


def output_delta_ops(loss: Loss, activation: Activation, Z: np.ndarray, A: np.ndarray, D: np.ndarray, aux=None) -> list:
    """What turns ``D = A - Y`` into ``dJ/dZ`` of the output layer, in place, as a list of ``Op``:
    ``D /= divisor(m)``, then, unless the pair is fused, the activation's vjp (``aux``: its scratch
    from the forward pass)."""
    ops = loss.delta_ops(D)
    return ops if activation.name in loss.fused else ops + activation.vjp_ops(D, Z, A, D, aux)


def output_delta(loss: Loss, activation: Activation, Z: np.ndarray, A: np.ndarray, Y: np.ndarray,
                 out: np.ndarray | None = None, aux: np.ndarray | None = None) -> np.ndarray:
    """``dJ/dZ`` of the output layer, in ``out`` or a fresh array: ``(A - Y)/m`` for a fused pair,
    else ``vjp(grad(Z, A, Y))`` (``output_delta_ops``)."""
    D = _diff(A, Y, out)
    run(output_delta_ops(loss, activation, Z, A, D, aux))
    return D
