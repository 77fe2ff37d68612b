"""``gradient_check``: ``backward`` against central differences of ``cost``."""
from __future__ import annotations

from typing import Any

import numpy as np

from fnn import checks
from fnn import members
from fnn.records import Network, Params
from fnn.stages import as_input, as_weights, backward, check_params, check_targets, cost, forward, unstackable


def trainable(net: Network) -> np.ndarray:
    """Boolean mask over the flat parameter vector: False for ``b`` of a ``use_bias=False`` layer."""
    return np.concatenate([np.r_[np.ones(d.n_in * d.n_out, bool), np.full(d.n_out, d.use_bias)] for d in net.layers])


def gradient_check(net: Network, params: Params, X: Any, Y: Any, epsilon: float = 1e-7, sample_weight: Any = None,
                   key: Any = None) -> float:
    """``||g - g_num|| / (||g|| + ||g_num||)`` over every trainable parameter, in float64.

    ``g`` is ``backward``; ``g_num[i] = (J(theta + eps e_i) - J(theta - eps e_i)) / (2 eps)``.
    Params, ``X`` and ``Y`` are cast to float64 first, so a float32 network is checked on its math.
    ``sample_weight`` (m,) checks the weighted cost and its gradient; ``key=(seed, step)`` holds the
    dropout masks of that training step fixed.
    Stacked params: one value per member, ``(K,)``.
    """
    if isinstance(params, members.StackedParams):
        return members.gradient_check(net, params, X, Y, epsilon, **unstackable(sample_weight=sample_weight, key=key))
    check_params(net, params)
    epsilon = checks.real("epsilon", epsilon, positive=True)
    params = Params.from_flat(params.flat.astype(np.float64), params.shapes)
    X = as_input(net, X, np.float64)
    Y = check_targets(net, Y, (X.shape[0], net.layers[-1].n_out), np.dtype(np.float64))
    w, _ = as_weights(sample_weight, X.shape[0], np.dtype(np.float64))
    _, cache = forward(net, params, X, key)
    g = backward(net, params, cache, Y, w).flat
    theta = params.flat.copy()
    mask = trainable(net)
    g_num = np.zeros_like(theta)

    def J(vector):
        p = Params.from_flat(vector, params.shapes)
        return float(cost(net, p, forward(net, p, X, key)[1], Y, w))

    for i in np.flatnonzero(mask):
        plus, minus = theta.copy(), theta.copy()
        plus[i] += epsilon
        minus[i] -= epsilon
        g_num[i] = (J(plus) - J(minus)) / (2 * epsilon)
    g = g[mask]
    g_num = g_num[mask]
    denom = np.linalg.norm(g) + np.linalg.norm(g_num)
    return 0.0 if denom == 0 else float(np.linalg.norm(g - g_num) / denom)
