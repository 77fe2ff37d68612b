"""The activation registry: a name maps to one frozen ``Activation`` carrying ``fn`` and its ``vjp``.

``fn(Z) -> A`` is applied to the pre-activations ``Z`` of shape ``(m, n)``; ``vjp(dA, Z, A) -> dZ``
pulls a gradient back through it (``dA * g'(Z)`` for the element-wise ones, the row-wise
Jacobian product for softmax). Keeping both in one record means they cannot drift apart.

Sigmoid and softmax never overflow or underflow for finite input: exponents are kept inside
``[log(tiny) + 1, -(log(tiny) + 1)]`` of the array's dtype (about ±707 in float64, ±86 in float32),
which changes no result beyond the last representable normal number.
"""
from __future__ import annotations

from typing import Callable

import attrs
import numpy as np

from fnn.buffers import empty, ones

LEAKY_SLOPE = 0.01


@attrs.frozen
class Activation:
    """``fn(Z, out=None) -> A`` and ``vjp(dA, Z, A, out=None) -> dZ`` for one activation.

    ``out``, when given, is where the result goes (``vjp`` may be given ``out=dA``); otherwise a
    fresh array is returned.
    """

    name: str
    fn: Callable[..., np.ndarray]
    vjp: Callable[..., np.ndarray]
    elementwise: bool = True


_EXP_FLOOR = {np.dtype(t): float(np.log(np.finfo(t).tiny)) + 1.0 for t in (np.float16, np.float32, np.float64)}


def exp_floor(dtype: np.dtype) -> float:
    """The lowest exponent ``x`` with ``exp(x)`` (and ``exp(-x)``) normal and finite in ``dtype``."""
    lo = _EXP_FLOOR.get(dtype)
    return float(np.log(np.finfo(dtype).tiny)) + 1.0 if lo is None else lo


_clip = (np._core if hasattr(np, "_core") else np.core).umath.clip
"""``np.clip``'s ufunc, ``min(max(x, lo), hi)`` in one pass, without ``np.clip``'s Python wrapper (~1.5 µs)."""


def _out(out: np.ndarray | None, like: np.ndarray) -> np.ndarray:
    return empty(like.shape, like.dtype) if out is None else out


def sigmoid(Z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``1 / (1 + exp(-Z))``, with ``Z`` kept inside ``±exp_floor`` (no overflow, no underflow).

    >>> np.round(sigmoid(np.array([0.0, -1000.0, 1000.0])), 6).tolist()
    [0.5, 0.0, 1.0]
    """
    lo = exp_floor(Z.dtype)
    E = _clip(Z, lo, -lo, out=_out(out, Z))
    np.negative(E, out=E)
    np.exp(E, out=E)
    E += 1.0
    return np.reciprocal(E, out=E)


def _sigmoid_vjp(dA, Z, A, out=None):
    """``dA * A * (1 - A)``."""
    T = np.subtract(1.0, A, out=empty(A.shape, A.dtype))
    T *= A
    return np.multiply(dA, T, out=_out(out, A))


def _relu(Z, out=None):
    return np.maximum(Z, 0.0, out=_out(out, Z))


def _relu_vjp(dA, Z, A, out=None):
    """``dA * (Z > 0)``, with the mask as a float array (a boolean index is several times slower)."""
    M = np.greater(Z, 0.0, out=empty(Z.shape, Z.dtype))
    return np.multiply(dA, M, out=_out(out, Z))


def _leaky_relu(Z, out=None):
    """``max(Z, LEAKY_SLOPE * Z)``: ``Z`` where ``Z > 0``, else ``LEAKY_SLOPE * Z``."""
    out = np.multiply(Z, LEAKY_SLOPE, out=_out(out, Z))
    return np.maximum(Z, out, out=out)


def _leaky_relu_vjp(dA, Z, A, out=None):
    """``dA * max(Z > 0, LEAKY_SLOPE)``."""
    M = np.greater(Z, 0.0, out=empty(Z.shape, Z.dtype))
    np.maximum(M, LEAKY_SLOPE, out=M)
    return np.multiply(dA, M, out=_out(out, Z))


def _tanh(Z, out=None):
    return np.tanh(Z, out=_out(out, Z))


def _tanh_vjp(dA, Z, A, out=None):
    """``dA * (1 - A^2)``."""
    T = np.multiply(A, A, out=empty(A.shape, A.dtype))
    np.subtract(1.0, T, out=T)
    return np.multiply(dA, T, out=_out(out, A))


def _identity(Z, out=None):
    out = _out(out, Z)
    np.copyto(out, Z)
    return out


def _identity_vjp(dA, Z, A, out=None):
    return _identity(dA, out)


def row_max(Z: np.ndarray) -> np.ndarray:
    """``max(Z, axis=1)``, shape ``(m,)``: column by column for narrow ``Z`` (a short-axis reduce is slow)."""
    n = Z.shape[1]
    if n > 4:
        return Z.max(axis=1)
    if n == 1:
        return Z[:, 0].copy()
    M = np.maximum(Z[:, 0], Z[:, 1], out=empty((Z.shape[0],), Z.dtype))
    for j in range(2, n):
        np.maximum(M, Z[:, j], out=M)
    return M


def row_sum(Z: np.ndarray) -> np.ndarray:
    """``sum(Z, axis=1)``, shape ``(m,)``, as a matrix-vector product with ones."""
    return Z @ ones(Z.shape[1], Z.dtype)


def log_sigmoid_pair(Z: np.ndarray) -> np.ndarray:
    """``softplus(Z) = log(1 + exp(Z)) = -log(1 - sigmoid(Z))``, exact and finite for finite ``Z``.

    ``-log sigmoid(Z) = softplus(Z) - Z``.
    """
    T = np.abs(Z, out=empty(Z.shape, Z.dtype))
    np.minimum(T, -exp_floor(Z.dtype), out=T)
    np.negative(T, out=T)
    np.exp(T, out=T)
    np.log1p(T, out=T)
    T += np.maximum(Z, 0.0)
    return T


def _shifted(Z: np.ndarray, out: np.ndarray | None) -> np.ndarray:
    """``Z - max(Z, axis=1)``."""
    return np.subtract(Z, row_max(Z)[:, None], out=_out(out, Z))


def log_softmax(Z: np.ndarray) -> np.ndarray:
    """Row-wise ``Z - logsumexp(Z)``, shape ``(m, n)``."""
    S = _shifted(Z, None)
    E = np.maximum(S, exp_floor(Z.dtype), out=empty(Z.shape, Z.dtype))
    np.exp(E, out=E)
    S -= np.log(row_sum(E))[:, None]
    return S


def softmax(Z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Row-wise ``exp(Z) / sum(exp(Z))``, computed from ``Z - max(Z)``; rows sum to 1."""
    E = _shifted(Z, out)
    np.maximum(E, exp_floor(Z.dtype), out=E)
    np.exp(E, out=E)
    E *= np.reciprocal(row_sum(E))[:, None]
    return E


def _softmax_vjp(dA, Z, A, out=None):
    """``dZ = A * (dA - sum(dA * A, axis=1))``: the softmax Jacobian applied row by row."""
    s = row_sum(dA * A)
    T = np.subtract(dA, s[:, None], out=_out(out, A))
    T *= A
    return T


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("sigmoid", sigmoid, _sigmoid_vjp),
        Activation("relu", _relu, _relu_vjp),
        Activation("leaky_relu", _leaky_relu, _leaky_relu_vjp),
        Activation("tanh", _tanh, _tanh_vjp),
        Activation("identity", _identity, _identity_vjp),
        Activation("softmax", softmax, _softmax_vjp, elementwise=False),
    )
}
