import numpy as np
import pytest

from fnn.activations import ACTIVATIONS, log_softmax, sigmoid, softmax

Z = np.array([[-2.0, -0.5, 0.0, 0.5, 3.0]])


def test_values_against_their_definitions():
    np.testing.assert_allclose(ACTIVATIONS["sigmoid"].fn(Z), 1 / (1 + np.exp(-Z)), rtol=1e-15)
    np.testing.assert_array_equal(ACTIVATIONS["relu"].fn(Z), [[0, 0, 0, 0.5, 3]])
    np.testing.assert_array_equal(ACTIVATIONS["leaky_relu"].fn(Z), [[-0.02, -0.005, 0, 0.5, 3]])
    np.testing.assert_array_equal(ACTIVATIONS["tanh"].fn(Z), np.tanh(Z))
    np.testing.assert_array_equal(ACTIVATIONS["identity"].fn(Z), Z)
    np.testing.assert_allclose(softmax(Z), np.exp(Z) / np.exp(Z).sum(), rtol=1e-15)


def test_derivatives_at_zero_are_the_documented_ones():
    Z0 = np.zeros((1, 1))
    ones = np.ones((1, 1))
    for name, slope in [("relu", 0.0), ("leaky_relu", 0.01), ("identity", 1.0), ("sigmoid", 0.25), ("tanh", 1.0)]:
        act = ACTIVATIONS[name]
        assert act.vjp(ones, Z0, act.fn(Z0))[0, 0] == slope, name


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_vjp_matches_central_differences(name):
    rng = np.random.default_rng(0)
    Z = rng.standard_normal((4, 3))
    Z[np.abs(Z) < 1e-3] = 0.1  # keep away from the kinks of relu and leaky_relu
    dA = rng.standard_normal((4, 3))
    act = ACTIVATIONS[name]
    eps = 1e-6
    numeric = np.zeros_like(Z)
    for idx in np.ndindex(Z.shape):
        plus, minus = Z.copy(), Z.copy()
        plus[idx] += eps
        minus[idx] -= eps
        numeric[idx] = np.vdot(dA, act.fn(plus) - act.fn(minus)) / (2 * eps)
    np.testing.assert_allclose(act.vjp(dA, Z, act.fn(Z)), numeric, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("dtype, big", [(np.float64, 1000.0), (np.float32, 100.0)])
def test_sigmoid_and_softmax_are_quiet_at_extremes(dtype, big):
    with np.errstate(all="raise"):
        s = sigmoid(np.array([[-big, 0, big]], dtype=dtype))
        assert s.dtype == dtype and s[0, 1] == 0.5 and s[0, 2] == 1.0 and 0 <= s[0, 0] < 1e-30
        for row in ([big, big], [-1e4, -1e4], [0.0, -big]):
            p = softmax(np.array([row], dtype=dtype))
            assert p.dtype == dtype and np.isfinite(p).all() and abs(p.sum() - 1) < 1e-6
        np.testing.assert_array_equal(softmax(np.array([[big, big]], dtype=dtype)), [[0.5, 0.5]])
        assert log_softmax(np.array([[0.0, -big]], dtype=dtype))[0, 1] == pytest.approx(-big, rel=1e-6)


def test_activations_keep_float32():
    Z32 = Z.astype(np.float32)
    for act in ACTIVATIONS.values():
        A = act.fn(Z32)
        assert A.dtype == np.float32, act.name
        assert act.vjp(np.ones_like(Z32), Z32, A).dtype == np.float32, act.name


def test_activation_functions_do_not_touch_their_input():
    for act in ACTIVATIONS.values():
        Zc = Z.copy()
        A = act.fn(Zc)
        act.vjp(np.ones_like(Zc), Zc, A)
        np.testing.assert_array_equal(Zc, Z)
        assert not np.shares_memory(A, Zc), act.name
