"""Initialisation schemes: a name maps to one frozen ``Scheme``.

``b = 0`` always. One ``rng = numpy.random.default_rng(seed)`` serves all layers in order;
layer by layer ``W = factor * rng.standard_normal((n_in, n_out))`` with factor
``he`` sqrt(2/n_in), ``lecun`` sqrt(1/n_in), ``glorot`` sqrt(2/(n_in+n_out)), ``normal`` ``scale``
(0.01 unless given); ``uniform`` is ``rng.random((n_in, n_out))`` (U[0,1)); ``zeros`` draws nothing.
``scale``, when given, replaces the factor of any normal scheme. Draws are float64, then cast.

Which scheme suits which hidden activation (so that the variance of ``Z`` holds from layer to layer
at the start): ``he`` for relu, leaky_relu, elu, gelu, silu and softplus (He et al. 2015); ``lecun``
for selu, whose self-normalisation rests on weights of variance ``1/n_in`` (Klambauer et al. 2017);
``glorot`` for tanh and sigmoid (Glorot and Bengio 2010). ``init_params`` and ``fit`` default to
``he`` whatever the activation: pass ``scheme="lecun"`` (``init="lecun"``) for selu.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import attrs
import numpy as np

from fnn import checks
from fnn.members import check_seeds, is_seeds, stack
from fnn.records import Network, Params


@attrs.frozen
class Scheme:
    """``factor(n_in, n_out)`` for a normal scheme, or ``draw(rng, shape)`` for the others."""

    name: str
    factor: Callable[[int, int], float] | None = None
    draw: Callable[[np.random.Generator, tuple[int, int]], np.ndarray] | None = None

    def weights(self, rng: np.random.Generator, n_in: int, n_out: int, scale: float | None) -> np.ndarray:
        if self.factor is None:
            return self.draw(rng, (n_in, n_out))
        factor = self.factor(n_in, n_out) if scale is None else scale
        return factor * rng.standard_normal((n_in, n_out))


SCHEMES: dict[str, Scheme] = {
    s.name: s
    for s in (
        Scheme("he", factor=lambda n_in, n_out: math.sqrt(2.0 / n_in)),
        Scheme("lecun", factor=lambda n_in, n_out: math.sqrt(1.0 / n_in)),
        Scheme("glorot", factor=lambda n_in, n_out: math.sqrt(2.0 / (n_in + n_out))),
        Scheme("normal", factor=lambda n_in, n_out: 0.01),
        Scheme("uniform", draw=lambda rng, shape: rng.random(shape)),
        Scheme("zeros", draw=lambda rng, shape: np.zeros(shape)),
    )
}


def rng_for(name: str, seed: Any) -> np.random.Generator:
    """``numpy.random.default_rng(seed)``, with a message naming ``name`` when the seed is unusable."""
    if isinstance(seed, (bool, float, str)):
        raise TypeError(f"{name}: expected an int, a sequence of ints or None, got {type(seed).__name__} {seed!r}")
    try:
        return np.random.default_rng(seed)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name}: expected a non-negative int, a sequence of them or None, got {seed!r} ({err})") from None


def init_params(net: Network, seed: Any = 0, scheme: str = "he", scale: float | None = None, dtype: Any = np.float64) -> Params:
    """Fresh ``Params`` for ``net``: weights drawn by ``scheme`` from ``default_rng(seed)``, biases 0.

    ``seed=[s_0, ..., s_{K-1}]`` (a list, tuple or 1-D array) gives ``StackedParams`` of ``K`` members,
    member ``k`` equal to ``init_params(net, seed=s_k, ...)`` (see ``fnn.members``).

    >>> from fnn.records import network
    >>> p = init_params(network([2, 3, 1]), seed=0); p.layers[0].W.shape, p.layers[1].b.tolist()
    ((2, 3), [0.0])
    """
    if not isinstance(net, Network):
        raise TypeError(f"net: expected a Network, got {type(net).__name__}")
    chosen = checks.known("scheme", scheme, SCHEMES)
    if scale is not None:
        scale = checks.real("scale", scale, minimum=0.0)
        if chosen.factor is None:
            raise ValueError(f"scale: expected None for scheme {scheme!r} (it applies to he, lecun, glorot, normal), got {scale}")
    dt = checks.dtype("dtype", dtype)
    if is_seeds(seed):
        return stack([init_params(net, s, scheme, scale, dt) for s in check_seeds(seed)])
    rng = rng_for("seed", seed)
    flat = np.zeros(net.n_params, dtype=dt)
    pos = 0
    for d in net.layers:
        n_w = d.n_in * d.n_out
        flat[pos : pos + n_w] = chosen.weights(rng, d.n_in, d.n_out, scale).ravel()
        pos += n_w + d.n_out
    return Params.from_flat(flat, net.shapes)
