"""The four pure stages: ``forward``, ``cost``, ``backward``, ``update``: the specification.

Samples are rows. For layer ``l`` with ``W``: (n_in, n_out), ``b``: (n_out,)::

    Z = A_prev @ W + b,   A = g(Z)                                    (forward)
    J = loss(Z_L, A_L, Y) + l2/(2m) * sum_l ||W_l||_F^2                 (cost)
    dZ_L = dJ/dZ_L;  dW = A_prev.T @ dZ + (l2/m) W;  db = ones(m) @ dZ;
    dZ_prev = g'(Z_prev) * (dZ @ W.T)                                  (backward)
    W <- W - lr * dW,  b <- b - lr * db                                (update)

Written as plainly as the tutorials; every array returned is fresh and read-only and no argument
is touched. The engine (``fnn.engine``) runs the same arithmetic as bound operations, and is
tested against these stages.
"""
from __future__ import annotations

from typing import Any

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
        tol = _row_sum_tolerance(Y)
        row = int(np.argmax((Y < 0).any(axis=1) | ~np.isclose(Y.sum(axis=1), 1.0, rtol=0, atol=tol)))
        raise ValueError(
            f"{name}: expected rows of probabilities (>= 0, summing to 1) for categorical_cross_entropy, "
            f"got row {row} = {Y[row].tolist()}; use fnn.targets(net, labels) for one-hot rows"
        )
    return Y


def _row_sum_tolerance(Y: np.ndarray) -> float:
    return (1e-5 if Y.dtype == np.float32 else 1e-9) * Y.shape[1]


def probability_rows(Y: np.ndarray) -> bool:
    """Whether every row of ``Y`` (m, n) is >= 0 and sums to 1 (to a tolerance of its dtype)."""
    return not (Y < 0).any() and np.allclose(Y.sum(axis=1), 1.0, rtol=0, atol=_row_sum_tolerance(Y))


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


def forward(net: Network, params: Params, X: Any) -> tuple[np.ndarray, Cache]:
    """``AL`` of shape (m, n_out) and the ``Cache`` of every layer's ``A_prev``, ``Z``, ``A``.

    >>> from fnn import network, init_params
    >>> net = network([2, 3, 1]); AL, cache = forward(net, init_params(net), np.zeros((4, 2)))
    >>> AL.shape, len(cache.layers)
    ((4, 1), 2)
    """
    if isinstance(params, StackedParams):  # K members (fnn.members)
        return members.forward(net, params, X)
    dtype = check_params(net, params)
    A = freeze(as_input(net, X, dtype), "X")
    layers = []
    for d, (W, b) in zip(net.layers, params.pairs()):
        Z = np.dot(A, W)
        if d.use_bias:
            Z += b
        A_prev, A = A, ACTIVATIONS[d.activation].fn(Z)
        layers.append(LayerCache(A_prev, readonly(Z), readonly(A)))
    return A, Cache(tuple(layers))


def l2_term(l2: float, m: int, weights) -> float:
    """``l2/(2m) * sum ||W||_F^2`` over ``weights``, the L2 part of the cost."""
    return l2 / (2 * m) * sum(np.vdot(W, W) for W in weights)


def cost(net: Network, params: Params, cache: Cache, Y: Any) -> np.floating:
    """``J = loss(Z_L, A_L, Y) + l2/(2m) sum ||W||^2`` as a scalar of the params' dtype."""
    if isinstance(params, StackedParams):  # K members (fnn.members)
        return members.cost(net, params, cache, Y)
    dtype = check_params(net, params)
    out = check_cache(net, cache).layers[-1]
    Y = check_targets(net, Y, out.A.shape, dtype)
    J = LOSSES[net.loss].cost(out.Z, out.A, Y)
    if net.l2:
        J += l2_term(net.l2, Y.shape[0], (W for W, _ in params.pairs()))
    return dtype.type(J)


def backward(net: Network, params: Params, cache: Cache, Y: Any) -> Grads:
    """The exact gradient of ``cost``: ``Grads`` with ``dW``, ``db`` shaped like ``W``, ``b``."""
    if isinstance(params, StackedParams):  # K members (fnn.members)
        return members.backward(net, params, cache, Y)
    dtype = check_params(net, params)
    layers = check_cache(net, cache).layers
    out = layers[-1]
    Y = check_targets(net, Y, out.A.shape, dtype)
    m, pairs, acts = Y.shape[0], params.pairs(), [ACTIVATIONS[d.activation] for d in net.layers]
    dZ = output_delta(LOSSES[net.loss], acts[-1], out.Z, out.A, Y)
    grads = []
    for l in range(len(layers) - 1, -1, -1):
        (W, b), d = pairs[l], net.layers[l]
        dW = np.dot(layers[l].A_prev.T, dZ)
        if net.l2:
            dW += (net.l2 / m) * W
        db = np.dot(ones(m, dtype), dZ) if d.use_bias else np.zeros_like(b)
        grads.append((dW, db))
        if l:
            dZ = acts[l - 1].vjp(np.dot(dZ, W.T), layers[l - 1].Z, layers[l - 1].A)
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
