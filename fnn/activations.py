"""The activation registry: a name maps to one frozen ``Activation`` carrying ``fn`` and its ``vjp``.

``fn(Z) -> A`` is applied to the pre-activations ``Z`` of shape ``(m, n)``; ``vjp(dA, Z, A) -> dZ``
pulls a gradient back through it (``dA * g'(Z)`` for the element-wise ones, the row-wise
Jacobian product for softmax). Keeping both in one record means they cannot drift apart.

Sigmoid and softmax never overflow or underflow for finite input: exponents are kept inside
``[log(tiny) + 1, -(log(tiny) + 1)]`` of the array's dtype (about ±707 in float64, ±86 in float32),
which changes no result beyond the last representable normal number.
"""
from __future__ import annotations

import functools
from typing import Callable, NamedTuple

import attrs
import numpy as np

from fnn.buffers import empty, empty_like, ones

LEAKY_SLOPE = 0.01


@attrs.frozen
class Activation:
    """``fn(Z, out=None, aux=None) -> A`` and ``vjp(dA, Z, A, out=None, aux=None) -> dZ`` for one activation.

    ``out``, when given, is where the result goes (``vjp`` may be given ``out=dA``); otherwise a
    fresh array is returned. ``aux``, when given, is ``scratch(Z.shape, Z.dtype, order=)`` (an array
    shaped like ``Z`` unless the activation says otherwise) that ``fn`` may fill and the ``vjp``
    (or the loss) of the same ``Z`` then reads: a training step's workspace passes the same one to
    each. Without it each computes what it needs afresh, to the same bits.

    Both run lists of ``Op`` with every array bound, built by ``ops(Z, out, aux)`` and
    ``vjp_ops(dA, Z, A, out, aux)`` (``out`` given, ``aux`` may be None), which a training step
    binds once and runs step after step.
    """

    name: str
    ops: Callable[..., list]
    vjp_ops: Callable[..., list]
    elementwise: bool = True
    scratch: Callable[[tuple, np.dtype], object] = np.empty

    def fn(self, Z: np.ndarray, out: np.ndarray | None = None, aux=None) -> np.ndarray:
        """``A = g(Z)`` into ``out`` or a fresh array.

        >>> np.round(ACTIVATIONS["sigmoid"].fn(np.array([0.0, -1000.0, 1000.0])), 6).tolist()
        [0.5, 0.0, 1.0]
        """
        out = _out(out, Z)
        run(self.ops(Z, out, aux))
        return out

    def vjp(self, dA: np.ndarray, Z: np.ndarray, A: np.ndarray, out: np.ndarray | None = None, aux=None) -> np.ndarray:
        """``dZ``, the gradient ``dA`` pulled back through ``g`` at ``Z`` (``A = g(Z)``), into ``out`` or a fresh array."""
        out = _out(out, Z)
        run(self.vjp_ops(dA, Z, A, out, aux))
        return out


Op = tuple
"""``(f, args)``: one array operation with every array it reads and writes bound, run as ``f(*args)``."""


def run(ops) -> None:
    """Run each ``(f, args)`` of ``ops`` in order: ``f(*args)``."""
    for f, args in ops:
        f(*args)


_EXP_FLOOR = {np.dtype(t): float(np.log(np.finfo(t).tiny)) + 1.0 for t in (np.float16, np.float32, np.float64)}


def exp_floor(dtype: np.dtype) -> float:
    """The lowest exponent ``x`` with ``exp(x)`` (and ``exp(-x)``) normal and finite in ``dtype``."""
    lo = _EXP_FLOOR.get(dtype)
    return float(np.log(np.finfo(dtype).tiny)) + 1.0 if lo is None else lo


@functools.lru_cache(maxsize=512)
def scalar(value: float, dtype: np.dtype) -> np.ndarray:
    """``value`` as a read-only 0-d array of ``dtype`` (cached).

    A ufunc takes a 0-d array of its operands' dtype in about half the time it takes a Python
    float, which it converts on every call; the result is the same.

    >>> scalar(0.5, np.dtype(np.float32)).dtype, float(scalar(0.5, np.dtype(np.float32)))
    (dtype('float32'), 0.5)
    """
    arr = np.array(value, dtype)
    arr.flags.writeable = False
    return arr


class Consts(NamedTuple):
    """The constants the activations use, as ``scalar``s of one dtype (see ``consts``)."""

    zero: np.ndarray
    one: np.ndarray
    inf: np.ndarray
    lo: np.ndarray  # exp_floor(dtype)
    hi: np.ndarray  # -exp_floor(dtype)
    slope: np.ndarray  # LEAKY_SLOPE


_CONSTS: dict[np.dtype, Consts] = {}


def consts(dtype: np.dtype) -> Consts:
    """The ``Consts`` of ``dtype``, made once: one lookup per activation call instead of one per constant."""
    c = _CONSTS.get(dtype)
    if c is None:
        lo = exp_floor(dtype)
        c = _CONSTS[dtype] = Consts(*(scalar(v, np.dtype(dtype)) for v in (0.0, 1.0, np.inf, lo, -lo, LEAKY_SLOPE)))
    return c


_clip = (np._core if hasattr(np, "_core") else np.core).umath.clip
"""``np.clip``'s ufunc, ``min(max(x, lo), hi)`` in one vectorised pass, without ``np.clip``'s
Python wrapper (~1.5 µs); as ``clip(Z, 0, inf)`` it is also about twice as fast as ``maximum(Z, 0)``."""


def _out(out: np.ndarray | None, like: np.ndarray) -> np.ndarray:
    return empty_like(like) if out is None else out


def _sigmoid_ops(Z, E, U=None):
    """``E / (1 + E)`` into ``E`` with ``E = exp(Z)``, ``Z`` kept inside ``±exp_floor`` (no overflow,
    no underflow); ``U = 1 + E`` (fresh when None) is kept for the vjp."""
    c = consts(Z.dtype)
    U = _out(U, Z)
    return [(_clip, (Z, c.lo, c.hi, E)), (np.exp, (E, E)), (np.add, (E, c.one, U)), (np.divide, (E, U, E))]


def _sigmoid_vjp_ops(dA, Z, A, out, aux=None):
    """``dA * A * (1 - A) = dA * A / U``, as ``1 - A = 1 / U`` (``U = 1 + exp(Z)``, from ``aux`` or afresh)."""
    ops = [] if aux is not None else _sigmoid_ops(Z, empty_like(Z), aux := empty_like(Z))
    return ops + [(np.divide, (A, aux, aux)), (np.multiply, (dA, aux, out))]


def _relu_ops(Z, out, aux=None):
    """``max(Z, 0)``, as ``clip(Z, 0, inf)``."""
    c = consts(Z.dtype)
    return [(_clip, (Z, c.zero, c.inf, out))]


def _relu_vjp_ops(dA, Z, A, out, aux=None):
    """``dA * (Z > 0)``, with the mask as a float array (a boolean index is several times slower)."""
    M = _out(aux, Z)
    return [(np.greater, (Z, consts(Z.dtype).zero, M)), (np.multiply, (dA, M, out))]


def _maximum(a, b, out):
    """``np.maximum`` with ``out`` (which it no longer takes by position)."""
    return np.maximum(a, b, out=out)


def _leaky_relu_ops(Z, out, aux=None):
    """``max(Z, LEAKY_SLOPE * Z)``: ``Z`` where ``Z > 0``, else ``LEAKY_SLOPE * Z``."""
    return [(np.multiply, (Z, consts(Z.dtype).slope, out)), (_maximum, (Z, out, out))]


def _leaky_relu_vjp_ops(dA, Z, A, out, aux=None):
    """``dA * max(Z > 0, LEAKY_SLOPE)``."""
    c, M = consts(Z.dtype), _out(aux, Z)
    return [(np.greater, (Z, c.zero, M)), (_maximum, (M, c.slope, M)), (np.multiply, (dA, M, out))]


def _tanh_ops(Z, out, aux=None):
    return [(np.tanh, (Z, out))]


def _tanh_vjp_ops(dA, Z, A, out, aux=None):
    """``dA * (1 - A^2)``."""
    T = _out(aux, A)
    return [(np.multiply, (A, A, T)), (np.subtract, (consts(A.dtype).one, T, T)), (np.multiply, (dA, T, out))]


def _exp_ops(Z, out, aux=None):
    """``exp(Z)`` (the Poisson loss's inverse log link; an overflow is the step's ``DivergenceError``)."""
    return [(np.exp, (Z, out))]


def _exp_vjp_ops(dA, Z, A, out, aux=None):
    """``dA * A``."""
    return [(np.multiply, (dA, A, out))]


def _identity_ops(Z, out, aux=None):
    return [(np.copyto, (out, Z))]


def _identity_vjp_ops(dA, Z, A, out, aux=None):
    return _identity_ops(dA, out)


NARROW = 4
"""Up to this many columns, row-wise maxima and sums go column by column (a short-axis reduce is slow)."""


def _by_columns(f, Z: np.ndarray, out: np.ndarray) -> list:
    """``out = f(...f(f(Z[:, 0], Z[:, 1]), Z[:, 2])..., Z[:, n - 1])`` column by column, as ops."""
    if Z.shape[1] == 1:
        return [(np.copyto, (out, Z[:, 0]))]
    return [(f, (Z[:, 0], Z[:, 1], out))] + [(f, (out, Z[:, j], out)) for j in range(2, Z.shape[1])]


def row_max_ops(Z: np.ndarray, M: np.ndarray) -> list:
    """``M = max(Z, axis=1)`` as ops: the ufunc's reduce (``np.max``'s wrapper costs ~1 µs), or
    column by column for ``NARROW`` ``Z``."""
    return [(np.maximum.reduce, (Z, 1, None, M))] if Z.shape[1] > NARROW else _by_columns(_maximum, Z, M)


def row_sum_ops(Z: np.ndarray, s: np.ndarray) -> list:
    """``s = sum(Z, axis=1)`` as ops: a matrix-vector product with ones, or column by column for ``NARROW`` ``Z``."""
    return [(np.dot, (Z, ones(Z.shape[1], Z.dtype), s))] if Z.shape[1] > NARROW else _by_columns(np.add, Z, s)


def row_max(Z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``max(Z, axis=1)``, shape ``(m,)``, into ``out`` or a fresh vector."""
    M = empty((Z.shape[0],), Z.dtype) if out is None else out
    run(row_max_ops(Z, M))
    return M


def row_sum(Z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``sum(Z, axis=1)``, shape ``(m,)``, into ``out`` or a fresh vector."""
    s = empty((Z.shape[0],), Z.dtype) if out is None else out
    run(row_sum_ops(Z, s))
    return s


def inner(a: np.ndarray, b: np.ndarray) -> float:
    """``sum(a * b)`` as one BLAS dot, summed in ``b``'s memory order whatever ``a``'s, so the sum
    does not depend on how ``a`` is laid out (``np.vdot`` reads both in C order, copying an
    F-ordered array first; an F-ordered ``b`` is read in its own order, and ``a`` in that order)."""
    fb = b.flags
    if fb.f_contiguous and not fb.c_contiguous:
        return np.vdot(a.T, b.T)
    return np.vdot(a, b)


def log_sigmoid_pair(Z: np.ndarray) -> np.ndarray:
    """``softplus(Z) = log(1 + exp(Z)) = -log(1 - sigmoid(Z))``, exact and finite for finite ``Z``.

    ``-log sigmoid(Z) = softplus(Z) - Z``.
    """
    dtype = Z.dtype
    T = np.abs(Z, out=empty_like(Z))
    np.minimum(T, consts(dtype).hi, out=T)
    np.negative(T, out=T)
    np.exp(T, out=T)
    np.log1p(T, out=T)
    T += _clip(Z, consts(dtype).zero, consts(dtype).inf, out=empty_like(Z))  # relu(Z)
    return T


def softmax_parts_ops(Z: np.ndarray, S: np.ndarray, s: np.ndarray, E: np.ndarray) -> list:
    """``S = Z - max(Z, axis=1)``, ``E = exp(S)`` and ``s = sum(E, axis=1)`` as ops (``s`` holds the
    row maxima until the sums). Exponents are kept above ``exp_floor``, so no term underflows."""
    c = consts(Z.dtype)
    subtract_max = [(np.subtract, (Z, s[:, None], S)), (_clip, (S, c.lo, c.inf, E)), (np.exp, (E, E))]
    return row_max_ops(Z, s) + subtract_max + row_sum_ops(E, s)


def _parts(Z: np.ndarray, aux: tuple | None) -> tuple[np.ndarray, np.ndarray]:
    """``aux = (S, s)``, or fresh arrays for them: ``S`` like ``Z``, ``s`` of shape ``(m,)``."""
    return (empty_like(Z), empty((Z.shape[0],), Z.dtype)) if aux is None else aux


def softmax_parts(Z: np.ndarray, aux: tuple | None = None, E: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``S = Z - max(Z, axis=1)`` and ``s = sum(exp(S), axis=1)``, so ``log softmax(Z) = S - log s``,
    into ``aux = (S, s)`` (or fresh arrays); ``exp(S)`` is left in ``E`` when given."""
    S, s = _parts(Z, aux)
    run(softmax_parts_ops(Z, S, s, _out(E, Z)))
    return S, s


def _softmax_scratch(shape: tuple, dtype: np.dtype, order: str = "C") -> tuple[np.ndarray, np.ndarray]:
    return np.empty(shape, dtype, order=order), np.empty(shape[:1], dtype)


def _softmax_ops(Z, E, aux=None):
    """Row-wise ``exp(Z) / sum(exp(Z))`` into ``E``, computed from ``Z - max(Z)``; rows sum to 1.
    ``aux = (S, s)`` (fresh when None) keeps ``softmax_parts`` for the cross-entropy."""
    S, s = _parts(Z, aux)
    return softmax_parts_ops(Z, S, s, E) + [(np.divide, (E, s[:, None], E))]


def _softmax_vjp_ops(dA, Z, A, out, aux=None):
    """``dZ = A * (dA - sum(dA * A, axis=1))``: the softmax Jacobian applied row by row."""
    T, s = empty_like(A), empty((A.shape[0],), A.dtype)
    return [(np.multiply, (dA, A, T))] + row_sum_ops(T, s) + [(np.subtract, (dA, s[:, None], out)), (np.multiply, (out, A, out))]


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("sigmoid", _sigmoid_ops, _sigmoid_vjp_ops),
        Activation("relu", _relu_ops, _relu_vjp_ops),
        Activation("leaky_relu", _leaky_relu_ops, _leaky_relu_vjp_ops),
        Activation("tanh", _tanh_ops, _tanh_vjp_ops),
        Activation("identity", _identity_ops, _identity_vjp_ops),
        Activation("exp", _exp_ops, _exp_vjp_ops),
        Activation("softmax", _softmax_ops, _softmax_vjp_ops, elementwise=False, scratch=_softmax_scratch),
    )
}
sigmoid, softmax = ACTIVATIONS["sigmoid"].fn, ACTIVATIONS["softmax"].fn
