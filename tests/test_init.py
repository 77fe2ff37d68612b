import math

import numpy as np
import pytest

import fnn

NET = fnn.network([3, 4, 2], output="identity")


@pytest.mark.parametrize(
    "scheme, factor",
    [
        ("he", lambda i, o: math.sqrt(2 / i)),
        ("lecun", lambda i, o: math.sqrt(1 / i)),
        ("glorot", lambda i, o: math.sqrt(2 / (i + o))),
        ("normal", lambda i, o: 0.01),
    ],
)
def test_normal_schemes_draw_from_one_generator_in_layer_order(scheme, factor):
    p = fnn.init_params(NET, seed=7, scheme=scheme)
    rng = np.random.default_rng(7)
    for d, layer in zip(NET.layers, p.layers):
        np.testing.assert_array_equal(layer.W, factor(d.n_in, d.n_out) * rng.standard_normal((d.n_in, d.n_out)))
        np.testing.assert_array_equal(layer.b, np.zeros(d.n_out))


def test_scale_replaces_the_factor():
    p = fnn.init_params(NET, seed=1, scheme="he", scale=0.5)
    rng = np.random.default_rng(1)
    np.testing.assert_array_equal(p.layers[0].W, 0.5 * rng.standard_normal((3, 4)))


def test_uniform_and_zeros():
    p = fnn.init_params(NET, seed=2, scheme="uniform")
    rng = np.random.default_rng(2)
    np.testing.assert_array_equal(p.layers[0].W, rng.random((3, 4)))
    np.testing.assert_array_equal(p.layers[1].W, rng.random((4, 2)))
    assert not fnn.init_params(NET, scheme="zeros").flat.any()


def test_float32_draws_are_float64_then_cast():
    p32 = fnn.init_params(NET, seed=3, dtype=np.float32)
    p64 = fnn.init_params(NET, seed=3)
    assert p32.flat.dtype == np.float32
    np.testing.assert_array_equal(p32.flat, p64.flat.astype(np.float32))


def test_bad_arguments():
    with pytest.raises(ValueError, match="scheme: expected one of"):
        fnn.init_params(NET, scheme="xavier")
    with pytest.raises(TypeError, match="dtype: expected float32 or float64"):
        fnn.init_params(NET, dtype=np.int64)
    with pytest.raises(ValueError, match="scale: expected None for scheme 'uniform'"):
        fnn.init_params(NET, scheme="uniform", scale=0.1)
    with pytest.raises(TypeError, match="seed: expected an int"):
        fnn.init_params(NET, seed=1.5)
