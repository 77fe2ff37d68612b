"""The four pure stages: ``forward``, ``cost``, ``backward``, ``update``: the specification.

Samples are rows. For layer ``l`` with ``W``: (n_in, n_out), ``b``: (n_out,)::

    Z = A_prev @ W + b,   A = g(Z)                                    (forward)
    J = loss(Z_L, A_L, Y) + l2/(2m) * sum_l ||W_l||_F^2                 (cost)
    dZ_L = dJ/dZ_L;  dW = A_prev.T @ dZ + (l2/m) W;  db = ones(m) @ dZ;
    dZ_prev = g'(Z_prev) * (dZ @ W.T)                                  (backward)
    W <- W - lr * dW,  b <- b - lr * db                                (update)

Dropout (``forward``'s ``key``): a layer with ``dropout = p`` outputs ``A = g(Z) * M`` with
``M = keep / (1 - p)`` (``dropout_mask``), and backward pulls ``dA * M`` back through ``g``.

With ``sample_weight`` ``w`` (m,), every ``1/m`` becomes ``1/sum(w)`` and each sample's term is
multiplied by ``w_i``, the L2 term included (scikit-learn's convention); weights summing to 0
give cost 0 and gradient 0.

Written as plainly as the tutorials; every array returned is fresh and read-only and no argument
is touched. The engine (``fnn.engine``) runs the same arithmetic as bound operations, and is
tested against these stages.
"""
from __future__ import annotations

import functools
from typing import Any, Callable

import numpy as np

from fnn import checks
from fnn.activations import ACTIVATIONS, ones
from fnn.losses import LOSSES, output_delta
from fnn import members
from fnn.members import StackedParams
from fnn.records import Cache, Grads, LayerCache, Network, Params, freeze, owning, readonly


def check_net(net: Any) -> Network:
    if not isinstance(net, Network):
        raise TypeError(f"net: expected a Network (see fnn.network), got {type(net).__name__}")
    return net


def check_params(net: Network, params: Any, name: str = "params") -> np.dtype:
    """Check that ``params`` fit ``net`` (count, shapes, one float dtype); return that dtype."""
    check_net(net)
    if not isinstance(params, Params):
        raise TypeError(f"{name}: expected a Params (see fnn.init_params), got {type(params).__name__}")
    if params.is_flat and params.shapes == net.shapes:
        return params.dtype
    if len(params.layers) != len(net.layers):
        raise ValueError(f"{name}: expected {len(net.layers)} layers like the network, got {len(params.layers)}")
    dtype = params.layers[0].W.dtype
    for i, (d, layer) in enumerate(zip(net.layers, params.layers)):
        for field, arr, shape in (("W", layer.W, (d.n_in, d.n_out)), ("b", layer.b, (d.n_out,))):
            if arr.shape != shape:
                raise ValueError(f"{name}.layers[{i}].{field}: expected shape {shape} like the network, got {arr.shape}")
            if arr.dtype != dtype:
                raise TypeError(f"{name}.layers[{i}].{field}: expected dtype {dtype} like layers[0].W, got {arr.dtype}")
    return dtype


def check_probabilities(net: Network, Y: np.ndarray, name: str = "Y") -> np.ndarray:
    """For categorical cross-entropy, ``Y``'s rows must be probabilities (>= 0, summing to 1)."""
    if net.loss == "categorical_cross_entropy" and not probability_rows(Y):
        row = int(np.argmax((Y < 0).any(axis=1) | ~np.isclose(Y.sum(axis=1), 1.0, rtol=0, atol=_row_sum_tolerance(Y))))
        raise ValueError(
            f"{name}: expected rows of probabilities (>= 0, summing to 1) for categorical_cross_entropy, "
            f"got row {row} = {Y[row].tolist()}; use fnn.targets(net, labels) for one-hot rows"
        )
    return Y


def _row_sum_tolerance(Y: Any) -> float:
    return (1e-5 if Y.dtype == np.float32 else 1e-9) * Y.shape[1]


def probability_rows(Y: Any) -> bool:
    """Whether every row of ``Y`` (m, n) is >= 0 and sums to 1 (to a tolerance of its dtype); read a
    block of rows at a time (``checks.blocks``), so out-of-core targets are never read whole."""
    tol = _row_sum_tolerance(Y)
    return all(not (B < 0).any() and np.allclose(B.sum(axis=1), 1.0, rtol=0, atol=tol) for _, B in checks.blocks(Y))


def check_targets(net: Network, Y: Any, shape: tuple[int, int], dtype: np.dtype, name: str = "Y") -> np.ndarray:
    """``Y`` of exactly ``shape``; for categorical cross-entropy, rows of non-negative values summing to 1."""
    return check_probabilities(net, checks.targets(name, Y, shape, dtype), name)


def check_cache(net: Network, cache: Any) -> Cache:
    if not isinstance(cache, Cache):
        raise TypeError(f"cache: expected a Cache (from fnn.forward), got {type(cache).__name__}")
    if len(cache.layers) != len(net.layers):
        raise ValueError(f"cache: expected {len(net.layers)} layers like the network, got {len(cache.layers)}")
    return cache


def as_input(net: Network, X: Any, dtype: np.dtype) -> np.ndarray:
    """``X`` as a finite ``(m, n_in)`` array of ``dtype``."""
    return checks.matrix("X", X, net.layers[0].n_in, " (one row per sample, n_in columns for the first layer)", dtype)


def check_key(key: Any) -> tuple[int, int] | None:
    """A dropout key ``(seed, step)`` of ints >= 0, or None."""
    if key is None:
        return None
    if not isinstance(key, (tuple, list)) or len(key) != 2:
        raise TypeError(f"key: expected None or a pair (seed, step) of ints >= 0, got {type(key).__name__} {key!r}")
    return checks.integer("key[0] (seed)", key[0]), checks.integer("key[1] (step)", key[1])


def dropout_mask(key: tuple[int, int], layer: int, p: float, shape: tuple[int, int], dtype: np.dtype,
                 out: np.ndarray | None = None) -> np.ndarray:
    """``M = keep / (1 - p)`` with ``keep = default_rng([seed, step, layer]).random(shape) >= p``, for
    ``key = (seed, step)``: a pure function of the key, the layer and the batch shape."""
    keep = np.random.default_rng([key[0], key[1], layer]).random(shape) >= p
    return np.multiply(keep, dtype.type(1 / (1 - p)), out=np.empty(shape, dtype) if out is None else out)


def underflow_is_fine(stage: Callable) -> Callable:
    """``stage`` run with underflow (to a subnormal or 0, exact to the last representable number)
    taken quietly, whatever ``numpy.errstate`` the caller set."""

    @functools.wraps(stage)
    def run(*args, **kwargs):
        with np.errstate(under="ignore"):
            return stage(*args, **kwargs)

    return run


@underflow_is_fine
def forward(net: Network, params: Params, X: Any, key: Any = None) -> tuple[np.ndarray, Cache]:
    """``AL`` of shape (m, n_out) and the ``Cache`` of every layer's ``A_prev``, ``Z``, ``A``.

    ``key=(seed, step)`` applies the training dropout masks (``dropout_mask``; the cache keeps
    them, so ``cost`` and ``backward`` of that cache are exact); ``None`` drops nothing (inference).

    >>> from fnn import network, init_params
    >>> net = network([2, 3, 1]); AL, cache = forward(net, init_params(net), np.zeros((4, 2)))
    >>> AL.shape, len(cache.layers)
    ((4, 1), 2)
    """
    if isinstance(params, StackedParams):  # K members (fnn.members)
        return members.forward(net, params, X, **unstackable(key=key))
    dtype = check_params(net, params)
    A = freeze(as_input(net, X, dtype), "X")
    key = check_key(key)
    layers = []
    for l, (d, (W, b)) in enumerate(zip(net.layers, params.pairs())):
        Z = np.dot(A, W)
        if d.use_bias:
            Z += b
        A_prev, A, M = A, ACTIVATIONS[d.activation].fn(Z), None
        if key is not None and d.dropout:
            M = dropout_mask(key, l, d.dropout, Z.shape, dtype)
            A *= M
        layers.append(LayerCache(A_prev, readonly(Z), readonly(A), None if M is None else readonly(M)))
    return A, Cache(tuple(layers))


def unstackable(**given: Any) -> dict:
    """Nothing, once it is checked that none of ``given`` (sample weights, a dropout key) is set:
    stacked members (``fnn.members``) take neither."""
    for name, value in given.items():
        if value is not None:
            raise ValueError(f"{name}: expected None for stacked members (they take no {name}), got {type(value).__name__}")
    return {}


def l2_term(l2: float, m: int, weights) -> float:
    """``l2/(2m) * sum ||W||_F^2`` over ``weights``, the L2 part of the cost."""
    return l2 / (2 * m) * sum(np.vdot(W, W) for W in weights)


def as_weights(sample_weight: Any, m: int, dtype: np.dtype) -> tuple[np.ndarray | None, Any]:
    """``(w, sum(w))`` checked, in ``dtype``; ``(None, m)`` without weights."""
    if sample_weight is None:
        return None, m
    w = checks.weights("sample_weight", sample_weight, m, dtype)
    return w, np.add.reduce(w)


@underflow_is_fine
def cost(net: Network, params: Params, cache: Cache, Y: Any, sample_weight: Any = None) -> np.floating:
    """``J = loss(Z_L, A_L, Y) + l2/(2m) sum ||W||^2`` as a scalar of the params' dtype (with
    ``sample_weight``: the weighted mean, ``m`` replaced by ``sum(w)``)."""
    if isinstance(params, StackedParams):  # K members (fnn.members)
        return members.cost(net, params, cache, Y, **unstackable(sample_weight=sample_weight))
    dtype = check_params(net, params)
    out = check_cache(net, cache).layers[-1]
    Y = check_targets(net, Y, out.A.shape, dtype)
    w, total = as_weights(sample_weight, Y.shape[0], dtype)
    loss = LOSSES[net.loss]
    J = loss.cost(out.Z, out.A, Y) if w is None else loss.weighted_cost(out.Z, out.A, Y, w, total)
    if net.l2 and total:
        J += l2_term(net.l2, total, (W for W, _ in params.pairs()))
    return dtype.type(J)


@underflow_is_fine
def backward(net: Network, params: Params, cache: Cache, Y: Any, sample_weight: Any = None) -> Grads:
    """The exact gradient of ``cost``: ``Grads`` with ``dW``, ``db`` shaped like ``W``, ``b``."""
    if isinstance(params, StackedParams):  # K members (fnn.members)
        return members.backward(net, params, cache, Y, **unstackable(sample_weight=sample_weight))
    dtype = check_params(net, params)
    layers = check_cache(net, cache).layers
    out = layers[-1]
    Y = check_targets(net, Y, out.A.shape, dtype)
    m, pairs, acts = Y.shape[0], params.pairs(), [ACTIVATIONS[d.activation] for d in net.layers]
    w, total = as_weights(sample_weight, m, dtype)
    loss = LOSSES[net.loss]
    dZ = output_delta(loss, acts[-1], out.Z, out.A, Y, factor=None if w is None else loss.weights_factor(w, total))
    grads = []
    for l in range(len(layers) - 1, -1, -1):
        (W, b), d = pairs[l], net.layers[l]
        dW = np.dot(layers[l].A_prev.T, dZ)
        if net.l2 and total:
            dW += (net.l2 / total) * W
        db = np.dot(ones(m, dtype), dZ) if d.use_bias else np.zeros_like(b)
        grads.append((dW, db))
        if l:
            prev, dA = layers[l - 1], np.dot(dZ, W.T)
            if prev.mask is not None:  # A = g(Z) * M
                dA *= prev.mask
            G = prev.A if prev.mask is None else acts[l - 1].fn(prev.Z)
            dZ = acts[l - 1].vjp(dA, prev.Z, G)
    flat = np.concatenate([a.ravel() for pair in reversed(grads) for a in pair])
    return owning(Grads, flat, net.shapes)


def update(params: Params, grads: Grads, learning_rate: float) -> Params:
    """New ``Params``: ``W - lr * dW``, ``b - lr * db``."""
    if isinstance(params, StackedParams):  # K members (fnn.members)
        return members.update(params, grads, learning_rate)
    p, g = flat_pair(params, grads)
    lr = checks.real("learning_rate", learning_rate, minimum=0.0)
    return owning(Params, p - lr * g, params.shapes)


def flat_pair(params: Any, grads: Any) -> tuple[np.ndarray, np.ndarray]:
    """The flat vectors of ``params`` and ``grads`` (in the params' dtype), once both are checked."""
    if not isinstance(params, Params):
        raise TypeError(f"params: expected a Params, got {type(params).__name__}")
    if not isinstance(grads, Grads):
        raise TypeError(f"grads: expected a Grads (from fnn.backward), got {type(grads).__name__}")
    if grads.shapes != params.shapes:
        raise ValueError(f"grads: expected shapes {params.shapes} like params, got {grads.shapes}")
    p = params.flat
    return p, grads.flat.astype(p.dtype, copy=False)
