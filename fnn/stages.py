"""The four pure stages: ``forward``, ``cost``, ``backward``, ``update``.

Samples are rows. For layer ``l`` with ``W``: (n_in, n_out), ``b``: (n_out,)::

    Z = A_prev @ W + b,   A = g(Z)                                    (forward)
    J = loss(Z_L, A_L, Y) + l2/(2m) * sum_l ||W_l||_F^2                 (cost)
    dZ_L = dJ/dZ_L;  dW = A_prev.T @ dZ + (l2/m) W;  db = sum_rows dZ;
    dZ_prev = g'(dZ @ W.T)                                             (backward)
    W <- W - lr * dW,  b <- b - lr * db                                (update)

Every array returned is fresh and read-only; no argument is touched.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from fnn import checks
from fnn.activations import ACTIVATIONS
from fnn.losses import LOSSES, output_delta
from fnn.records import Cache, Grads, LayerCache, Network, Params, freeze, readonly, split


def check_net(net: Any) -> Network:
    if not isinstance(net, Network):
        raise TypeError(f"net: expected a Network (see fnn.network), got {type(net).__name__}")
    return net


def check_params(net: Network, params: Any, name: str = "params") -> np.dtype:
    """Check that ``params`` fit ``net`` (count, shapes, one float dtype); return that dtype."""
    check_net(net)
    if not isinstance(params, Params):
        raise TypeError(f"{name}: expected a Params (see fnn.init_params), got {type(params).__name__}")
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


def check_targets(net: Network, Y: Any, shape: tuple[int, int], dtype: np.dtype, name: str = "Y") -> np.ndarray:
    """``Y`` of exactly ``shape``; for categorical cross-entropy, rows of non-negative values summing to 1."""
    Y = checks.targets(name, Y, shape, dtype)
    if net.loss == "categorical_cross_entropy":
        sums = Y.sum(axis=1)
        tol = 1e-5 if dtype == np.float32 else 1e-9
        if (Y < 0).any() or not np.allclose(sums, 1.0, rtol=0, atol=tol * Y.shape[1]):
            row = int(np.argmax((Y < 0).any(axis=1) | ~np.isclose(sums, 1.0, rtol=0, atol=tol * Y.shape[1])))
            raise ValueError(
                f"{name}: expected rows of probabilities (>= 0, summing to 1) for categorical_cross_entropy, "
                f"got row {row} = {Y[row].tolist()}; use fnn.targets(net, labels) for one-hot rows"
            )
    return Y


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
    dtype = check_params(net, params)
    A = freeze(as_input(net, X, dtype), "X")
    layers = []
    for d, p in zip(net.layers, params.layers):
        Z = A @ p.W
        if d.use_bias:
            Z += p.b
        A_next = readonly(ACTIVATIONS[d.activation].fn(Z))
        layers.append(LayerCache(A, readonly(Z), A_next))
        A = A_next
    return A, Cache(tuple(layers))


def _l2_term(net: Network, params: Params, m: int) -> float:
    if not net.l2:
        return 0.0
    return net.l2 / (2 * m) * sum(float(np.vdot(p.W, p.W)) for p in params.layers)


def cost(net: Network, params: Params, cache: Cache, Y: Any) -> np.floating:
    """``J = loss(Z_L, A_L, Y) + l2/(2m) sum ||W||^2`` as a scalar of the params' dtype."""
    dtype = check_params(net, params)
    out = check_cache(net, cache).layers[-1]
    Y = check_targets(net, Y, out.A.shape, dtype)
    J = LOSSES[net.loss].cost(out.Z, out.A, Y) + _l2_term(net, params, Y.shape[0])
    return dtype.type(J)


def backward(net: Network, params: Params, cache: Cache, Y: Any) -> Grads:
    """The exact gradient of ``cost``: ``Grads`` with ``dW``, ``db`` shaped like ``W``, ``b``."""
    dtype = check_params(net, params)
    check_cache(net, cache)
    out = cache.layers[-1]
    Y = check_targets(net, Y, out.A.shape, dtype)
    m = Y.shape[0]
    flat = np.empty(net.n_params, dtype=dtype)
    views = split(flat, net.shapes, writable=True)
    dZ = output_delta(LOSSES[net.loss], ACTIVATIONS[net.layers[-1].activation], out.Z, out.A, Y)
    for i in range(len(net.layers) - 1, -1, -1):
        d, p, c = net.layers[i], params.layers[i], cache.layers[i]
        dW, db = views[i]
        np.matmul(c.A_prev.T, dZ, out=dW)
        if net.l2:
            dW += (net.l2 / m) * p.W
        if d.use_bias:
            np.sum(dZ, axis=0, out=db)
        else:
            db[...] = 0
        if i:
            prev = cache.layers[i - 1]
            dZ = ACTIVATIONS[net.layers[i - 1].activation].vjp(dZ @ p.W.T, prev.Z, prev.A)
    return Grads.from_flat(flat, net.shapes)


def update(params: Params, grads: Grads, learning_rate: float) -> Params:
    """New ``Params``: ``W - lr * dW``, ``b - lr * db``."""
    if not isinstance(params, Params):
        raise TypeError(f"params: expected a Params, got {type(params).__name__}")
    if not isinstance(grads, Grads):
        raise TypeError(f"grads: expected a Grads (from fnn.backward), got {type(grads).__name__}")
    if grads.shapes != params.shapes:
        raise ValueError(f"grads: expected shapes {params.shapes} like params, got {grads.shapes}")
    lr = checks.real("learning_rate", learning_rate, minimum=0.0)
    flat = params.flat - params.dtype.type(lr) * grads.flat.astype(params.dtype, copy=False)
    return Params.from_flat(flat, params.shapes)

