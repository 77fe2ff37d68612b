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

LEAKY_SLOPE = 0.01


@attrs.frozen
class Activation:
    """``fn(Z) -> A`` and ``vjp(dA, Z, A) -> dZ`` for one activation."""

    name: str
    fn: Callable[[np.ndarray], np.ndarray]
    vjp: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
    elementwise: bool = True


def exp_floor(dtype: np.dtype) -> float:
    """The lowest exponent ``x`` with ``exp(x)`` (and ``exp(-x)``) normal and finite in ``dtype``."""
    return float(np.log(np.finfo(dtype).tiny)) + 1.0


def sigmoid(Z: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-Z))``, without overflow or underflow."""
    lo = exp_floor(Z.dtype)
    E = np.clip(Z, lo, -lo)
    np.negative(E, out=E)
    np.exp(E, out=E)
    E += 1.0
    return np.reciprocal(E, out=E)


def log_sigmoid_pair(Z: np.ndarray) -> np.ndarray:
    """``softplus(Z) = log(1 + exp(Z)) = -log(1 - sigmoid(Z))``, exact and finite for finite ``Z``.

    ``-log sigmoid(Z) = softplus(Z) - Z``.
    """
    lo = exp_floor(Z.dtype)
    T = np.abs(Z)
    np.minimum(T, -lo, out=T)
    np.negative(T, out=T)
    np.exp(T, out=T)
    np.log1p(T, out=T)
    T += np.maximum(Z, 0)
    return T


def log_softmax(Z: np.ndarray) -> np.ndarray:
    """Row-wise ``Z - logsumexp(Z)``, shape ``(m, n)``."""
    S = Z - Z.max(axis=1, keepdims=True)
    E = np.maximum(S, exp_floor(Z.dtype))
    np.exp(E, out=E)
    S -= np.log(E.sum(axis=1, keepdims=True))
    return S


def softmax(Z: np.ndarray) -> np.ndarray:
    """Row-wise ``exp(Z) / sum(exp(Z))``, computed from ``Z - max(Z)``; rows sum to 1."""
    E = Z - Z.max(axis=1, keepdims=True)
    np.maximum(E, exp_floor(Z.dtype), out=E)
    np.exp(E, out=E)
    E /= E.sum(axis=1, keepdims=True)
    return E


def _softmax_vjp(dA: np.ndarray, Z: np.ndarray, A: np.ndarray) -> np.ndarray:
    """``dZ = A * (dA - sum(dA * A, axis=1))``: the softmax Jacobian applied row by row."""
    return A * (dA - (dA * A).sum(axis=1, keepdims=True))


def _leaky_relu(Z: np.ndarray) -> np.ndarray:
    return np.where(Z > 0, Z, LEAKY_SLOPE * Z)


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("sigmoid", sigmoid, lambda dA, Z, A: dA * A * (1 - A)),
        Activation("relu", lambda Z: np.maximum(Z, 0), lambda dA, Z, A: dA * (Z > 0)),
        Activation("leaky_relu", _leaky_relu, lambda dA, Z, A: dA * np.where(Z > 0, 1.0, LEAKY_SLOPE).astype(Z.dtype)),
        Activation("tanh", np.tanh, lambda dA, Z, A: dA * (1 - A * A)),
        Activation("identity", lambda Z: Z.copy(), lambda dA, Z, A: dA),
        Activation("softmax", softmax, _softmax_vjp, elementwise=False),
    )
}
