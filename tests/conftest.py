"""Shared helpers: small networks and an explicit comparison for records holding arrays."""
from __future__ import annotations

import numpy as np
import pytest


def arrays_of(record) -> list[np.ndarray]:
    """Every array in a Params/Grads/Cache record, layer by layer (a cache's ``mask`` where a layer dropped)."""
    import attrs

    fields = ((layer, f.name) for layer in record.layers for f in attrs.fields(type(layer)) if not f.name.startswith("_"))
    return [getattr(layer, name) for layer, name in fields if getattr(layer, name) is not None]


def assert_same(a, b, exact: bool = True, rtol: float = 1e-12) -> None:
    """Two records hold arrays of equal shapes, dtypes and values (bitwise when ``exact``)."""
    xs, ys = arrays_of(a), arrays_of(b)
    assert len(xs) == len(ys)
    for x, y in zip(xs, ys):
        assert x.shape == y.shape and x.dtype == y.dtype
        if exact:
            np.testing.assert_array_equal(x, y)
        else:
            np.testing.assert_allclose(x, y, rtol=rtol, atol=0)


@pytest.fixture
def moons():
    """A small two-moons-like set: X (40, 2) float64, y (40,) in {0, 1}."""
    rng = np.random.default_rng(3)
    t = rng.uniform(0, np.pi, 40)
    y = (np.arange(40) % 2).astype(int)
    X = np.c_[np.cos(t) + y, np.sin(t) * (1 - 2 * y) + 0.5 * y] + 0.1 * rng.standard_normal((40, 2))
    return X, y
