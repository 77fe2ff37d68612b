import numpy as np
import pytest

from fnn.activations import ACTIVATIONS, sigmoid, softmax, softmax_parts

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
        S, s = softmax_parts(np.array([[0.0, -big]], dtype=dtype))  # log softmax = S - log s, exact
        assert (S - np.log(s)[:, None])[0, 1] == pytest.approx(-big, rel=1e-6)


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


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_scratch_a_forward_pass_leaves_gives_the_vjp_its_fresh_result(name, dtype):
    """A training step hands ``fn`` and ``vjp`` the same ``aux``; the public stages hand none."""
    rng = np.random.default_rng(1)
    act = ACTIVATIONS[name]
    Z = (3 * rng.standard_normal((6, 4))).astype(dtype)
    dA = rng.standard_normal((6, 4)).astype(dtype)
    aux = act.scratch(Z.shape, Z.dtype)
    A = act.fn(Z)
    np.testing.assert_array_equal(act.fn(Z, aux=aux), A)
    np.testing.assert_array_equal(act.vjp(dA, Z, A, aux=aux), act.vjp(dA, Z, A))


def test_scalar_is_a_cached_read_only_0d_array_of_the_dtype():
    from fnn.activations import scalar

    s = scalar(0.1, np.dtype(np.float32))
    assert s.shape == () and s.dtype == np.float32 and not s.flags.writeable and float(s) == np.float32(0.1)
    assert scalar(0.1, np.dtype(np.float32)) is s and scalar(0.1, np.dtype(np.float64)).dtype == np.float64


def test_softmax_parts_are_the_shifted_inputs_and_the_row_sums():
    from fnn.activations import exp_floor

    Z = np.array([[1.0, 2.0, 3.0], [-1000.0, 0.0, 5.0]])
    S, s = softmax_parts(Z)
    np.testing.assert_array_equal(S, Z - Z.max(axis=1, keepdims=True))  # not clamped: log softmax = S - log s exactly
    E = np.exp(np.maximum(S, exp_floor(Z.dtype)))  # the terms are: no underflow to 0
    np.testing.assert_allclose(s, E.sum(axis=1), rtol=1e-15)
    np.testing.assert_allclose(softmax(Z), E / s[:, None], rtol=1e-15)
    assert softmax(Z)[1, 0] > 0


@pytest.mark.parametrize("n", range(1, 7))
@pytest.mark.parametrize("layout", ["C", "F"])
def test_row_max_and_row_sum_agree_with_numpy_narrow_or_wide(n, layout):
    from fnn.activations import row_max, row_sum

    Z = np.asarray(np.random.default_rng(n).standard_normal((9, n)), order=layout)
    np.testing.assert_array_equal(row_max(Z), Z.max(axis=1))
    np.testing.assert_allclose(row_sum(Z), Z.sum(axis=1), rtol=1e-14, atol=1e-15)
    out = np.empty(9)
    assert row_max(Z, out=out) is out and row_sum(Z, out=out) is out


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_ops_bound_once_give_fn_and_vjp_for_every_input_written_into_them(name):
    """What a training step does: bind an activation's ops to its arrays once, then refill the input and run them."""
    from fnn.activations import run

    act, rng = ACTIVATIONS[name], np.random.default_rng(0)
    Z, dA = np.empty((4, 3)), np.empty((4, 3))
    A, dZ, aux = np.empty_like(Z), np.empty_like(Z), act.scratch(Z.shape, Z.dtype)
    forward, backward = act.ops(Z, A, aux), act.vjp_ops(dA, Z, A, dZ, aux)
    for _ in range(3):
        Z[...], dA[...] = rng.standard_normal((2, 4, 3))
        run(forward)
        run(backward)
        np.testing.assert_array_equal(A, act.fn(Z))
        np.testing.assert_array_equal(dZ, act.vjp(dA, Z, act.fn(Z)))


def test_inner_sums_in_the_second_arrays_order_whatever_the_firsts():
    """So a cost does not move in its last bit with the layout of the targets it is given."""
    from fnn.activations import inner

    a, b = np.array([[1e16, 1.0], [-1e16, 1.0]]), np.ones((2, 2))  # by rows 1, by columns 2
    b_f = np.asfortranarray(b)
    by_columns, by_rows = np.vdot(a.T, b.T), np.vdot(a, b)
    assert by_columns != by_rows  # the data tell the two orders apart
    assert inner(a, b_f) == inner(np.asfortranarray(a), b_f) == by_columns
    assert inner(np.asfortranarray(a), b) == inner(a, b) == by_rows
