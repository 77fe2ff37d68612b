"""The loss registry: a name maps to one frozen ``Loss`` carrying the cost and its gradient.

Shapes: ``Z``, ``A`` and ``Y`` are ``(m, n_out)``. ``cost(Z, A, Y, aux=None, D=None)`` is the
data term of ``J`` (the L2 term is added by ``fnn.cost``); ``grad(Z, A, Y, out=None)`` is ``dJ/dA``
where it exists. With sample weights ``w`` (m,), every ``1/m`` becomes ``1/sum(w)`` and each
sample's term is multiplied by ``w_i``: ``weighted_cost = sum_i w_i rows_i / norm(sum(w))``, and
the output delta is ``(A - Y) * w_i / divisor(sum(w))`` (``weights_factor``). Cross-entropies are computed from ``Z`` (log-sigmoid, log-softmax), so they are
exact and finite even where ``A`` rounds to 0 or 1. For the pairs in ``fused`` (sigmoid + BCE,
softmax + CCE, exp + Poisson) the output gradient is ``dZ = (A - Y) / m`` in one pass.
"""
from __future__ import annotations

from typing import Callable

import attrs
import numpy as np

from fnn.activations import ACTIVATIONS, Activation, inner, log_sigmoid_pair, ones, row_sum, run, scalar, softmax_parts


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
    rows: Callable[..., np.ndarray]  # (Z, A, Y, aux=None, D=None) -> (m,): each sample's term
    norm: Callable[[float], float]  # J = sum(rows) / norm(m)
    allowed: frozenset[str]
    fused: frozenset[str] = frozenset()

    def weighted_cost(self, Z: np.ndarray, A: np.ndarray, Y: np.ndarray, w: np.ndarray, total, aux=None, D=None):
        """``sum_i w_i rows_i / norm(total)`` for weights ``w`` summing to ``total``; 0 when ``total`` is 0."""
        if not total:
            return Z.dtype.type(0)
        return np.dot(w, self.rows(Z, A, Y, aux, D)) / self.norm(total)

    def grad(self, Z: np.ndarray, A: np.ndarray, Y: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """``dJ/dA = (A - Y) / divisor(m)``, for a loss that is not only ever fused (MSE, SSE)."""
        if self.allowed <= self.fused:
            raise TypeError(f"{self.name}: its gradient is taken with respect to Z only (fused with {sorted(self.fused)})")
        D = _diff(A, Y, out)
        run(self.delta_ops(D))
        return D

    def delta_ops(self, D: np.ndarray, factor: np.ndarray | None = None) -> list:
        """``D /= divisor(m)`` as a list of ``Op``; with sample weights, ``D *= factor[:, None]``
        (``weights_factor``)."""
        if factor is not None:
            return [(np.multiply, (D, factor[:, None], D))]
        return [(np.divide, (D, scalar(self.divisor(D.shape[0]), D.dtype), D))]

    def weights_factor(self, w: np.ndarray, total, out: np.ndarray | None = None) -> np.ndarray:
        """``w / divisor(total)`` (m,), each sample's share of the output delta; zeros when ``total`` is 0."""
        out = np.empty_like(w) if out is None else out
        if not total:
            out.fill(0)
            return out
        return np.divide(w, scalar(self.divisor(total), w.dtype), out=out)


def _bce_terms(Z, Y):
    """``softplus(Z) - Y*Z``, each entry's binary cross-entropy, from ``Z`` (exact where ``A`` rounds to 0 or 1)."""
    T = log_sigmoid_pair(Z)
    T -= np.multiply(Y, Z, out=np.empty_like(Z))
    return T


def _bce(Z, A, Y, aux=None, D=None):
    """``-(1/m) sum[Y log A + (1-Y) log(1-A)] = (1/m) sum[softplus(Z) - Y*Z]``."""
    return _bce_terms(Z, Y).sum() / Z.shape[0]


def _cce(Z, A, Y, aux=None, D=None):
    """``-(1/m) sum Y log A`` with ``log A = S - log s`` (``softmax_parts``, from the forward
    pass's ``aux`` or afresh): ``(1/m) [sum_i log s_i - sum_ik Y_ik S_ik]``, as the rows of ``Y``
    sum to 1 (the stages check it; ``dZ = (A - Y)/m`` rests on it too)."""
    S, s = softmax_parts(Z) if aux is None else aux
    logs = np.log(s, out=np.empty(s.shape, s.dtype))
    return (np.dot(ones(s.shape[0], s.dtype), logs) - inner(Y, S)) / Z.shape[0]


def _bce_rows(Z, A, Y, aux=None, D=None):
    """``sum_k softplus(Z) - Y*Z`` per row."""
    return row_sum(_bce_terms(Z, Y))


def _cce_rows(Z, A, Y, aux=None, D=None):
    """``log s_i - sum_k Y_ik S_ik`` per row (see ``_cce``)."""
    S, s = softmax_parts(Z) if aux is None else aux
    return np.log(s) - row_sum(np.multiply(Y, S, out=np.empty_like(S)))


def _squares_rows(Z, A, Y, aux=None, D=None):
    """``sum_k (A - Y)^2`` per row."""
    D = _diff(A, Y) if D is None else D
    return row_sum(np.multiply(D, D, out=np.empty_like(D)))


def _diff(A, Y, out=None):
    return np.subtract(A, Y, out=np.empty_like(A) if out is None else out)


def _mse(Z, A, Y, aux=None, D=None):
    return _sse(Z, A, Y, aux, D) / (2 * Z.shape[0])


def _sse(Z, A, Y, aux=None, D=None):
    D = _diff(A, Y) if D is None else D
    return inner(D, D)


def _poisson_terms(Z, A, Y):
    """``A - Y*Z + Y log Y - Y`` (``0 log 0 = 0``), each entry's half Poisson deviance."""
    T = np.subtract(A, np.multiply(Y, Z, out=np.empty_like(Z)), out=np.empty_like(Z))
    T += xlogy(Y, Y)
    T -= Y
    return T


def _poisson(Z, A, Y, aux=None, D=None):
    """Half the Poisson deviance with the log link, ``A = exp(Z)``:
    ``(1/m) sum[A - Y*Z + Y log Y - Y]``, scikit-learn's ``poisson`` loss;
    ``dJ/dZ = (A - Y)/m``. ``Y >= 0``."""
    return _poisson_terms(Z, A, Y).sum() / Z.shape[0]


def _poisson_rows(Z, A, Y, aux=None, D=None):
    return row_sum(_poisson_terms(Z, A, Y))


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
        Loss("binary_cross_entropy", _bce, _rows, _bce_rows, _rows, frozenset({"sigmoid"}), frozenset({"sigmoid"})),
        Loss("categorical_cross_entropy", _cce, _rows, _cce_rows, _rows, frozenset({"softmax"}), frozenset({"softmax"})),
        Loss("mean_squared_error", _mse, _rows, _squares_rows, lambda m: 2 * m, _NOT_SOFTMAX),
        Loss("sum_of_squares", _sse, lambda m: 0.5, _squares_rows, lambda m: 1, _NOT_SOFTMAX),
        Loss("poisson", _poisson, _rows, _poisson_rows, _rows, frozenset({"exp"}), frozenset({"exp"})),
    )
}

DEFAULT_LOSS = {"sigmoid": "binary_cross_entropy", "softmax": "categorical_cross_entropy", "exp": "poisson"}


def output_delta_ops(loss: Loss, activation: Activation, Z: np.ndarray, A: np.ndarray, D: np.ndarray, aux=None,
                     factor: np.ndarray | None = None) -> list:
    """What turns ``D = A - Y`` into ``dJ/dZ`` of the output layer, in place, as a list of ``Op``:
    ``D /= divisor(m)`` (with sample weights ``D *= factor[:, None]``, see ``Loss.weights_factor``),
    then, unless the pair is fused, the activation's vjp (``aux``: its scratch from the forward pass)."""
    ops = loss.delta_ops(D, factor)
    return ops if activation.name in loss.fused else ops + activation.vjp_ops(D, Z, A, D, aux)


def output_delta(loss: Loss, activation: Activation, Z: np.ndarray, A: np.ndarray, Y: np.ndarray,
                 out: np.ndarray | None = None, aux: np.ndarray | None = None, factor: np.ndarray | None = None) -> np.ndarray:
    """``dJ/dZ`` of the output layer, in ``out`` or a fresh array: ``(A - Y)/m`` for a fused pair,
    else ``vjp(grad(Z, A, Y))`` (``output_delta_ops``; ``factor``: with sample weights)."""
    D = _diff(A, Y, out)
    run(output_delta_ops(loss, activation, Z, A, D, aux, factor))
    return D
