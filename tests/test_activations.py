import numpy as np
import pytest

from fnn.activations import ACTIVATIONS, SELU_ALPHA, SELU_SCALE, sigmoid, softmax, softmax_parts

Z = np.array([[-2.0, -0.5, 0.0, 0.5, 3.0]])
MODERN = ["elu", "selu", "gelu", "silu", "softplus"]


def test_values_against_their_definitions():
    np.testing.assert_allclose(ACTIVATIONS["sigmoid"].fn(Z), 1 / (1 + np.exp(-Z)), rtol=1e-15)
    np.testing.assert_array_equal(ACTIVATIONS["relu"].fn(Z), [[0, 0, 0, 0.5, 3]])
    np.testing.assert_array_equal(ACTIVATIONS["leaky_relu"].fn(Z), [[-0.02, -0.005, 0, 0.5, 3]])
    np.testing.assert_array_equal(ACTIVATIONS["tanh"].fn(Z), np.tanh(Z))
    np.testing.assert_array_equal(ACTIVATIONS["identity"].fn(Z), Z)
    np.testing.assert_allclose(softmax(Z), np.exp(Z) / np.exp(Z).sum(), rtol=1e-15)
    np.testing.assert_array_equal(ACTIVATIONS["elu"].fn(Z), np.where(Z > 0, Z, np.expm1(Z)))
    np.testing.assert_allclose(ACTIVATIONS["selu"].fn(Z), SELU_SCALE * np.where(Z > 0, Z, SELU_ALPHA * np.expm1(Z)), rtol=1e-15)
    gelu = 0.5 * Z * (1 + np.tanh(np.sqrt(2 / np.pi) * (Z + 0.044715 * Z**3)))
    np.testing.assert_allclose(ACTIVATIONS["gelu"].fn(Z), gelu, rtol=1e-15)
    np.testing.assert_allclose(ACTIVATIONS["silu"].fn(Z), Z / (1 + np.exp(-Z)), rtol=1e-15)
    np.testing.assert_allclose(ACTIVATIONS["softplus"].fn(Z), np.log(1 + np.exp(Z)), rtol=1e-15)


def test_derivatives_at_zero_are_the_documented_ones():
    Z0 = np.zeros((1, 1))
    ones = np.ones((1, 1))
    cases = [("relu", 0.0), ("leaky_relu", 0.01), ("identity", 1.0), ("sigmoid", 0.25), ("tanh", 1.0),
             ("elu", 1.0), ("selu", SELU_SCALE * SELU_ALPHA), ("gelu", 0.5), ("silu", 0.5), ("softplus", 0.5)]
    for name, slope in cases:  # selu at 0: its left slope, as PyTorch
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
@pytest.mark.parametrize("layout", ["C", "F"])
def test_the_scratch_a_forward_pass_leaves_gives_the_vjp_its_fresh_result(name, dtype, layout):
    """A training step hands ``fn`` and ``vjp`` the same ``aux`` (in the layout of its intermediates);
    the public stages hand none."""
    rng = np.random.default_rng(1)
    act = ACTIVATIONS[name]
    Z = np.asarray(3 * rng.standard_normal((6, 4)), dtype, order=layout)
    Z[0, :3] = [0.0, 1e4, -1e4]
    dA = rng.standard_normal((6, 4)).astype(dtype)
    aux = act.scratch(Z.shape, Z.dtype, order=layout)
    A = act.fn(Z)
    assert A.flags.f_contiguous == (layout == "F")
    np.testing.assert_array_equal(act.fn(Z, aux=aux), A)
    np.testing.assert_array_equal(act.vjp(dA, Z, A, aux=aux), act.vjp(dA, Z, A))
    np.testing.assert_array_equal(act.fn(np.ascontiguousarray(Z)), A)  # the layout changes no bit


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
@pytest.mark.parametrize("dtype, layout, in_place", [(np.float64, "C", False), (np.float32, "F", True)])
def test_ops_bound_once_give_fn_and_vjp_for_every_input_written_into_them(name, dtype, layout, in_place):
    """What a training step does: bind an activation's ops to its arrays once (the vjp writing over
    ``dA`` when ``in_place``, as the backward pass does), then refill the input and run them."""
    from fnn.activations import run

    act, rng = ACTIVATIONS[name], np.random.default_rng(0)
    Z, dA = np.empty((4, 3), dtype, order=layout), np.empty((4, 3), dtype, order=layout)
    A, aux = np.empty_like(Z), act.scratch(Z.shape, Z.dtype, order=layout)
    dZ = dA if in_place else np.empty_like(Z)
    forward, backward = act.ops(Z, A, aux), act.vjp_ops(dA, Z, A, dZ, aux)
    for scale in (1.0, 10.0, 0.1):
        Z[...], dA[...] = scale * rng.standard_normal((2, 4, 3))
        expected = act.vjp(dA, Z, act.fn(Z))
        run(forward)
        run(backward)
        np.testing.assert_array_equal(A, act.fn(Z))
        np.testing.assert_array_equal(dZ, expected)


def test_inner_sums_in_the_second_arrays_order_whatever_the_firsts():
    """So a cost does not move in its last bit with the layout of the targets it is given."""
    from fnn.activations import inner

    a, b = np.array([[1e16, 1.0], [-1e16, 1.0]]), np.ones((2, 2))  # by rows 1, by columns 2
    b_f = np.asfortranarray(b)
    by_columns, by_rows = np.vdot(a.T, b.T), np.vdot(a, b)
    assert by_columns != by_rows  # the data tell the two orders apart
    assert inner(a, b_f) == inner(np.asfortranarray(a), b_f) == by_columns
    assert inner(np.asfortranarray(a), b) == inner(a, b) == by_rows


def torch_reference(name: str, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch's value of the activation at ``Z`` and its derivative by autograd, in ``Z``'s dtype.
    Softplus's linear cut-off is moved from 20 to 40, beyond which ``log(1 + e^z)`` is ``z`` exactly in
    both dtypes (at 20 it is not, in float64); gelu's autograd derivative is NaN where ``z^2``
    overflows (``inf * 0``), so the limits 1 and 0 stand in there."""
    torch = pytest.importorskip("torch")  # an optional reference (the bench extra's); installed here, it runs
    F = torch.nn.functional

    f = {"elu": F.elu, "selu": F.selu, "gelu": lambda z: F.gelu(z, approximate="tanh"), "silu": F.silu,
         "softplus": lambda z: F.softplus(z, threshold=40)}[name]
    z = torch.tensor(Z, requires_grad=True)
    a = f(z)
    a.sum().backward()
    D = z.grad.numpy()
    return a.detach().numpy(), np.where(np.isnan(D), Z > 0, D).astype(Z.dtype)


def grid(dtype) -> np.ndarray:
    """Every 0.01 in [-30, 30], then magnitudes from 1e-30 up to half the dtype's largest, both signs; 0; (m, 5)."""
    top = np.log10(np.finfo(dtype).max / 2)
    mags = np.minimum(np.logspace(-30, top, 999), np.finfo(dtype).max / 2)
    z = np.concatenate([np.linspace(-30, 30, 6001), mags, -mags, [0.0]]).astype(dtype)
    return z.reshape(-1, 5)


@pytest.mark.parametrize("name", MODERN)
@pytest.mark.parametrize("dtype, layout", [(np.float64, "C"), (np.float32, "C"), (np.float64, "F"), (np.float32, "F")])
def test_values_and_derivatives_agree_with_pytorch(name, dtype, layout):
    """Within a few ulps of ``max(1, |value|)``: relative for large values, absolute near zero, where
    both compute differences of nearly equal numbers (gelu's ``1 + tanh`` below -5, silu's
    derivative near -1.28). gelu's derivative is the loosest: ``z (1 - t^2) (...)`` magnifies the
    ulp of ``tanh`` by up to about 20."""
    Zg = np.asarray(grid(dtype), order=layout)
    act, eps = ACTIVATIONS[name], np.finfo(dtype).eps
    with np.errstate(all="raise"):
        A = act.fn(Zg)
        D = act.vjp(np.ones_like(Zg), Zg, A)
    TA, TD = torch_reference(name, np.ascontiguousarray(Zg))
    assert A.dtype == D.dtype == dtype
    assert (np.abs(A - TA) / (1 + np.abs(TA))).max() <= 4 * eps
    assert (np.abs(D - TD) / (1 + np.abs(TD))).max() <= (32 if name == "gelu" else 8) * eps


def test_the_modern_activations_keep_their_exact_limits_far_out():
    """Large inputs give the asymptotes exactly (no clamp shows), with the derivatives' limits."""
    big = np.array([[1e300, -1e300, 1e20, -1e20, 50.0, -800.0]])
    expected = {
        "elu": ([1e300, -1, 1e20, -1, 50, -1], [1, 0, 1, 0, 1, 0]),
        "selu": ([SELU_SCALE * 1e300, -SELU_SCALE * SELU_ALPHA, SELU_SCALE * 1e20, -SELU_SCALE * SELU_ALPHA, SELU_SCALE * 50,
                  -SELU_SCALE * SELU_ALPHA], [SELU_SCALE, 0, SELU_SCALE, 0, SELU_SCALE, 0]),
        "gelu": ([1e300, 0, 1e20, 0, 50, 0], [1, 0, 1, 0, 1, 0]),
        "silu": ([1e300, 0, 1e20, 0, 50, 0], [1, 0, 1, 0, 1, 0]),
        "softplus": ([1e300, 0, 1e20, 0, 50, 0], [1, 0, 1, 0, 1, 0]),
    }
    for name, (values, slopes) in expected.items():
        act = ACTIVATIONS[name]
        with np.errstate(all="raise"):
            A = act.fn(big)
            D = act.vjp(np.ones_like(big), big, A)
        np.testing.assert_allclose(A, [values], rtol=1e-15, atol=1e-300, err_msg=name)
        np.testing.assert_allclose(D, [slopes], rtol=1e-15, atol=1e-300, err_msg=name)
        assert A[0, 0] == values[0] and A[0, 2] == values[2], name  # z itself, not a clamp of it
