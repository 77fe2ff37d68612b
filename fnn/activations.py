"""The activation registry: a name maps to one frozen ``Activation`` carrying ``fn`` and its ``vjp``.

``fn(Z) -> A`` is applied to the pre-activations ``Z`` of shape ``(m, n)``; ``vjp(dA, Z, A) -> dZ``
pulls a gradient back through it (``dA * g'(Z)`` for the element-wise ones, the row-wise
Jacobian product for softmax). Keeping both in one record means they cannot drift apart.

Sigmoid and softmax never overflow or underflow for finite input: exponents are kept inside
``[log(tiny) + 1, -(log(tiny) + 1)]`` of the array's dtype (about ±707 in float64, ±86 in float32),
which changes no result beyond the last representable normal number. So do elu, selu, gelu, silu and
softplus, whose forward pass, given ``aux``, also leaves ``g'(Z)`` there for the vjp ``dA * g'(Z)``.
"""
from __future__ import annotations

import functools
import math
from typing import Callable, NamedTuple

import attrs
import numpy as np


LEAKY_SLOPE = 0.01
SELU_SCALE, SELU_ALPHA = 1.0507009873554805, 1.6732632423543772
GELU_K0, GELU_K1 = math.sqrt(2 / math.pi), 0.044715  # gelu(z) = z/2 (1 + tanh(K0 (z + K1 z^3)))
GELU_RANGE = (1e-18, 10.0)
"""gelu reads ``|z|`` clamped into this range: beyond 10 ``tanh`` is already exactly ±1 in float32 and
float64 (no ``z^3`` overflow), and below 1e-18 the cubic and ``K0 z`` vanish beside 1 (no ``z^2`` underflow)."""


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
    return np.empty_like(like) if out is None else out


_ONES: dict[tuple[int, np.dtype], np.ndarray] = {}


def ones(n: int, dtype) -> np.ndarray:
    """A read-only vector of ``n`` ones (cached): ``Z @ ones`` sums rows, ``ones @ Z`` columns.

    >>> ones(3, np.float32).tolist()
    [1.0, 1.0, 1.0]
    """
    vec = _ONES.get((n, dtype))  # kernels pass a np.dtype: no conversion on the way
    if vec is None:
        key = (n, np.dtype(dtype))
        vec = _ONES.get(key)
        if vec is None:
            vec = np.ones(n, dtype)
            vec.flags.writeable = False
            vec = _ONES.setdefault(key, vec)
    return vec


def _sigmoid_ops(Z, E, U=None):
    """``E / (1 + E)`` into ``E`` with ``E = exp(Z)``, ``Z`` kept inside ``±exp_floor`` (no overflow,
    no underflow); ``U = 1 + E`` (fresh when None) is kept for the vjp."""
    c = consts(Z.dtype)
    U = _out(U, Z)
    return [(_clip, (Z, c.lo, c.hi, E)), (np.exp, (E, E)), (np.add, (E, c.one, U)), (np.divide, (E, U, E))]


def _sigmoid_vjp_ops(dA, Z, A, out, aux=None):
    """``dA * A * (1 - A) = dA * A / U``, as ``1 - A = 1 / U`` (``U = 1 + exp(Z)``, from ``aux`` or afresh)."""
    ops = [] if aux is not None else _sigmoid_ops(Z, np.empty_like(Z), aux := np.empty_like(Z))
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


def _minimum(a, b, out):
    """``np.minimum`` with ``out``."""
    return np.minimum(a, b, out=out)


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


def _order(Z: np.ndarray) -> str:
    return "F" if Z.flags.f_contiguous and not Z.flags.c_contiguous else "C"


def _pair_scratch(shape: tuple, dtype: np.dtype, order: str = "C") -> tuple[np.ndarray, np.ndarray]:
    """Two arrays like ``Z``: ``g'(Z)`` and a temporary."""
    return np.empty(shape, dtype, order=order), np.empty(shape, dtype, order=order)


def _masked_scratch(shape: tuple, dtype: np.dtype, order: str = "C") -> tuple[np.ndarray, np.ndarray]:
    """``g'(Z)`` and a boolean mask, both shaped like ``Z``."""
    return np.empty(shape, dtype, order=order), np.empty(shape, bool, order=order)


def _times_derivative(forward: Callable[..., list], scratch: Callable = np.empty) -> Callable[..., list]:
    """The ``vjp_ops`` ``dZ = dA * g'(Z)`` of an activation whose ``forward(Z, out, aux)`` leaves
    ``g'(Z)`` in ``aux`` (or ``aux[0]``); without ``aux`` the forward pass is run into fresh arrays first."""

    def vjp_ops(dA, Z, A, out, aux=None):
        ops = []
        if aux is None:
            aux = scratch(Z.shape, Z.dtype, order=_order(Z))
            ops = forward(Z, np.empty_like(Z), aux)
        return ops + [(np.multiply, (dA, aux[0] if isinstance(aux, tuple) else aux, out))]

    return vjp_ops


def _elementwise(name: str, forward: Callable[..., list], scratch: Callable = np.empty) -> Activation:
    return Activation(name, forward, _times_derivative(forward, scratch), scratch=scratch)


def _elu_ops(Z, out, aux=None):
    """``elu(z) = z`` for ``z > 0``, else ``expm1(z)``: ``max(Z, expm1(T))`` with ``T = clip(Z, lo, 0)``
    (``expm1(z) >= z``, and ``expm1(lo)`` is already -1). With ``aux``: ``elu'(Z) = exp(T)`` there
    (1 for ``z > 0``)."""
    c = consts(Z.dtype)
    T = out if aux is None else aux
    ops = [(_clip, (Z, c.lo, c.zero, T)), (np.expm1, (T, out)), (_maximum, (Z, out, out))]
    return ops if aux is None else ops + [(np.exp, (aux, aux))]


def _multiply_where(a, b, out, where):
    """``out = a * b`` where ``where`` holds; elsewhere ``out`` is left as it is."""
    return np.multiply(a, b, out=out, where=where)


def _selu_ops(Z, out, aux=None):
    """``selu(z) = SCALE z`` for ``z > 0``, else ``SCALE ALPHA expm1(z)``: ``SCALE ALPHA expm1(T)``
    with ``T = clip(Z, lo, 0)``, then ``SCALE Z`` where ``P = Z > 0``. With ``aux = (D, P)``:
    ``D = selu'(Z)``, ``SCALE ALPHA exp(T)``, then ``SCALE`` where ``P``."""
    c, dtype = consts(Z.dtype), Z.dtype
    scale, scale_alpha = scalar(SELU_SCALE, dtype), scalar(SELU_SCALE * SELU_ALPHA, dtype)
    T, P = (out, np.empty_like(Z, dtype=bool)) if aux is None else aux
    ops = [(_clip, (Z, c.lo, c.zero, T)), (np.expm1, (T, out)), (np.multiply, (out, scale_alpha, out))]
    if aux is not None:
        ops += [(np.exp, (T, T)), (np.multiply, (T, scale_alpha, T))]
    ops += [(np.greater, (Z, c.zero, P)), (_multiply_where, (Z, scale, out, P))]
    return ops if aux is None else ops + [(np.copyto, (T, scale, "same_kind", P))]


def _gelu_ops(Z, out, aux=None):
    """``gelu(z) = z h`` with ``h = (1 + t)/2``, ``t = tanh(x (K0 + K0 K1 s))``, ``x = sign(z) a``,
    ``s = a^2`` and ``a = |z|`` clamped into ``GELU_RANGE``; ``Z`` itself is used only in ``z h``, which is
    ``z`` or ``-0`` beyond the range, as ``t`` is ±1 there. With ``aux = (D, T)``:
    ``D = gelu'(Z) = h + x (1 - t^2) (K0 + 3 K0 K1 s)/2 = (1 + t) (1/2 + (1 - t) x (K0 + 3 K0 K1 s)/2)``."""
    dtype, one, half = Z.dtype, consts(Z.dtype).one, scalar(0.5, Z.dtype)
    D, T = (np.empty_like(Z), np.empty_like(Z)) if aux is None else aux
    lo, hi = (scalar(v, dtype) for v in GELU_RANGE)
    ops = [(np.abs, (Z, D)), (_clip, (D, lo, hi, D)), (np.copysign, (D, Z, T)), (np.multiply, (D, D, D)),  # D = s, T = x
           (np.multiply, (D, scalar(GELU_K0 * GELU_K1, dtype), out)), (np.add, (out, scalar(GELU_K0, dtype), out)),
           (np.multiply, (out, T, out)), (np.tanh, (out, out))]  # out = t
    if aux is not None:
        ops += [(np.multiply, (D, scalar(1.5 * GELU_K0 * GELU_K1, dtype), D)), (np.add, (D, scalar(GELU_K0 / 2, dtype), D)),
                (np.multiply, (D, T, D)), (np.subtract, (one, out, T)), (np.multiply, (D, T, D))]  # D = (1 - t) x r / 2
    ops.append((np.add, (out, one, out)))  # out = 1 + t
    if aux is not None:
        ops += [(np.add, (D, half, D)), (np.multiply, (D, out, D))]
    return ops + [(np.multiply, (out, half, out)), (np.multiply, (out, Z, out))]


def _silu_ops(Z, out, aux=None):
    """``silu(z) = z sigmoid(z)``: the sigmoid ``E / U`` of ``_sigmoid_ops`` (``E = exp(C)``,
    ``U = 1 + E``, ``C = clip(Z, lo, hi)``) times ``max(Z, lo)``: below ``lo``, where ``silu`` is
    subnormal, it stays at ``lo sigmoid(lo)`` (about -4e-305 in float64). With ``aux = (D, S)``:
    ``D = silu'(Z) = sigmoid(z) (1 + z (1 - sigmoid(z))) = S (U + C) / U``, ``S = sigmoid(Z)`` (as
    ``1 - sigmoid(z) = 1 / U``; ``C / U`` would underflow for tiny ``z``)."""
    c = consts(Z.dtype)
    if aux is None:
        C = S = np.empty_like(Z)
    else:
        C, S = aux
    ops = [(_clip, (Z, c.lo, c.hi, C)), (np.exp, (C, S)), (np.add, (S, c.one, out)), (np.divide, (S, out, S))]
    if aux is not None:
        ops += [(np.add, (C, out, C)), (np.divide, (C, out, C)), (np.multiply, (C, S, C))]
    return ops + [(_clip, (Z, c.lo, c.inf, out)), (np.multiply, (out, S, out))]


def _softplus_ops(Z, out, aux=None):
    """``softplus(z) = log(1 + e^z) = max(z, 0) + log1p(exp(-|z|))``, as ``max(logaddexp(0, C), Z)``
    with ``C = clip(Z, lo, hi)`` (``softplus(z) > z``, and is ``z`` beyond ``hi``). With ``aux``:
    ``softplus'(Z) = sigmoid(Z) = exp(C - softplus(C))`` there (a few ulps of ``sigmoid``: the
    exponent's rounding, up to ``eps |z|``)."""
    c = consts(Z.dtype)
    C = out if aux is None else aux
    ops = [(_clip, (Z, c.lo, c.hi, C)), (np.logaddexp, (c.zero, C, out))]
    if aux is not None:
        ops += [(np.subtract, (C, out, C)), (np.exp, (C, C))]
    return ops + [(_maximum, (out, Z, out))]


def _exp_ops(Z, out, aux=None):
    """``exp(Z)`` (the Poisson loss's inverse log link), with ``Z`` kept below ``-exp_floor``: finite
    for any finite input (beyond, ``exp`` would overflow to inf)."""
    c = consts(Z.dtype)
    return [(_minimum, (Z, c.hi, out)), (np.exp, (out, out))]


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
    M = np.empty((Z.shape[0],), Z.dtype) if out is None else out
    run(row_max_ops(Z, M))
    return M


def row_sum(Z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``sum(Z, axis=1)``, shape ``(m,)``, into ``out`` or a fresh vector."""
    s = np.empty((Z.shape[0],), Z.dtype) if out is None else out
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
    T = np.abs(Z, out=np.empty_like(Z))
    np.minimum(T, consts(dtype).hi, out=T)
    np.negative(T, out=T)
    np.exp(T, out=T)
    np.log1p(T, out=T)
    T += _clip(Z, consts(dtype).zero, consts(dtype).inf, out=np.empty_like(Z))  # relu(Z)
    return T


def softmax_parts_ops(Z: np.ndarray, S: np.ndarray, s: np.ndarray, E: np.ndarray) -> list:
    """``S = Z - max(Z, axis=1)``, ``E = exp(S)`` and ``s = sum(E, axis=1)`` as ops (``s`` holds the
    row maxima until the sums). Exponents are kept above ``exp_floor``, so no term underflows."""
    c = consts(Z.dtype)
    subtract_max = [(np.subtract, (Z, s[:, None], S)), (_clip, (S, c.lo, c.inf, E)), (np.exp, (E, E))]
    return row_max_ops(Z, s) + subtract_max + row_sum_ops(E, s)


def _parts(Z: np.ndarray, aux: tuple | None) -> tuple[np.ndarray, np.ndarray]:
    """``aux = (S, s)``, or fresh arrays for them: ``S`` like ``Z``, ``s`` of shape ``(m,)``."""
    return (np.empty_like(Z), np.empty((Z.shape[0],), Z.dtype)) if aux is None else aux


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
    T, s = np.empty_like(A), np.empty((A.shape[0],), A.dtype)
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
        _elementwise("elu", _elu_ops),
        _elementwise("selu", _selu_ops, _masked_scratch),
        _elementwise("gelu", _gelu_ops, _pair_scratch),
        _elementwise("silu", _silu_ops, _pair_scratch),
        _elementwise("softplus", _softplus_ops),
    )
}
sigmoid, softmax = ACTIVATIONS["sigmoid"].fn, ACTIVATIONS["softmax"].fn
