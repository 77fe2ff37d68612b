"""Each stage on tiny networks worked by hand, the gradient-check grid, and purity."""
import itertools
import math

import attrs
import numpy as np
import pytest

import fnn
from fnn.activations import ACTIVATIONS

# A 2-2-1 relu/identity network with mean squared error, worked by hand:
#   X = [[1, 2], [3, -1]],  W1 = [[1, -1], [0.5, 1]],  b1 = [0, -1],  W2 = [[2], [3]],  b2 = [0.5]
#   Z1 = X @ W1 + b1 = [[1+1, -1+2-1], [3-0.5, -3-1-1]] = [[2, 0], [2.5, -5]]
#   A1 = relu(Z1) = [[2, 0], [2.5, 0]]              (Z1[0, 1] is exactly 0: relu'(0) = 0)
#   Z2 = A1 @ W2 + b2 = [[4.5], [5.5]] = A2;  Y = [[4], [6]]
#   J = 1/(2m) sum (A2 - Y)^2 = (0.25 + 0.25) / 4 = 0.125
#   with l2 = 0.5: R = 0.5 / (2*2) * (1 + 1 + 0.25 + 1 + 4 + 9) = 2.03125
#   dZ2 = (A2 - Y)/m = [[0.25], [-0.25]]
#   dW2 = A1.T @ dZ2 = [[2*0.25 - 2.5*0.25], [0]] = [[-0.125], [0]];  db2 = [0]
#   dA1 = dZ2 @ W2.T = [[0.5, 0.75], [-0.5, -0.75]];  dZ1 = dA1 * (Z1 > 0) = [[0.5, 0], [-0.5, 0]]
#   dW1 = X.T @ dZ1 = [[0.5 - 1.5, 0], [1 + 0.5, 0]] = [[-1, 0], [1.5, 0]];  db1 = [0, 0]
#   with l2 = 0.5 every dW gains (l2/m) W = 0.25 W.
X = np.array([[1.0, 2.0], [3.0, -1.0]])
Y = np.array([[4.0], [6.0]])


def hand_net(l2=0.0):
    return fnn.Network((fnn.Dense(2, 2, "relu"), fnn.Dense(2, 1, "identity")), "mean_squared_error", l2)


HAND_PARAMS = fnn.Params(
    (
        fnn.LayerParams(np.array([[1.0, -1.0], [0.5, 1.0]]), np.array([0.0, -1.0])),
        fnn.LayerParams(np.array([[2.0], [3.0]]), np.array([0.5])),
    )
)


def test_forward_by_hand():
    AL, cache = fnn.forward(hand_net(), HAND_PARAMS, X)
    np.testing.assert_array_equal(cache.layers[0].Z, [[2, 0], [2.5, -5]])
    np.testing.assert_array_equal(cache.layers[0].A, [[2, 0], [2.5, 0]])
    np.testing.assert_array_equal(cache.layers[1].A_prev, cache.layers[0].A)
    np.testing.assert_array_equal(cache.layers[0].A_prev, X)
    np.testing.assert_array_equal(AL, [[4.5], [5.5]])
    assert AL is cache.layers[-1].A


def test_cost_by_hand():
    _, cache = fnn.forward(hand_net(), HAND_PARAMS, X)
    assert fnn.cost(hand_net(), HAND_PARAMS, cache, Y) == 0.125
    assert fnn.cost(hand_net(0.5), HAND_PARAMS, cache, Y) == 0.125 + 2.03125


def test_backward_by_hand():
    _, cache = fnn.forward(hand_net(), HAND_PARAMS, X)
    g = fnn.backward(hand_net(), HAND_PARAMS, cache, Y)
    np.testing.assert_array_equal(g.layers[1].dW, [[-0.125], [0]])
    np.testing.assert_array_equal(g.layers[1].db, [0])
    np.testing.assert_array_equal(g.layers[0].dW, [[-1, 0], [1.5, 0]])
    np.testing.assert_array_equal(g.layers[0].db, [0, 0])
    g2 = fnn.backward(hand_net(0.5), HAND_PARAMS, cache, Y)
    np.testing.assert_array_equal(g2.layers[0].dW, [[-1 + 0.25, -0.25], [1.5 + 0.125, 0.25]])
    np.testing.assert_array_equal(g2.layers[1].dW, [[-0.125 + 0.5], [0.75]])


def test_update_by_hand():
    _, cache = fnn.forward(hand_net(0.5), HAND_PARAMS, X)
    p = fnn.update(HAND_PARAMS, fnn.backward(hand_net(0.5), HAND_PARAMS, cache, Y), 0.1)
    # W1 - 0.1 * [[-0.75, -0.25], [1.625, 0.25]]
    np.testing.assert_allclose(p.layers[0].W, [[1.075, -0.975], [0.3375, 0.975]], rtol=1e-15)
    np.testing.assert_allclose(p.layers[1].W, [[2 - 0.0375], [3 - 0.075]], rtol=1e-15)
    np.testing.assert_array_equal(p.layers[0].b, [0, -1])


def test_logistic_unit_by_hand():
    # Z = [[0], [ln 3]], A = [0.5, 0.75], Y = [1, 0]: J = 1.5 ln 2, dZ = (A - Y)/2 = [-0.25, 0.375]
    net = fnn.network([1, 1])
    params = fnn.Params((fnn.LayerParams([[1.0]], [0.0]),))
    Xl, Yl = np.array([[0.0], [math.log(3)]]), np.array([[1.0], [0.0]])
    _, cache = fnn.forward(net, params, Xl)
    assert fnn.cost(net, params, cache, Yl) == pytest.approx(1.5 * math.log(2), rel=1e-15)
    g = fnn.backward(net, params, cache, Yl)
    assert g.layers[0].dW[0, 0] == pytest.approx(0.375 * math.log(3), rel=1e-15)
    assert g.layers[0].db[0] == pytest.approx(0.125, rel=1e-15)


def test_softmax_layer_by_hand():
    # Z = [[0, ln 3]] -> A = [0.25, 0.75]; Y = [[0, 1]]: J = -ln 0.75; dZ = A - Y = [0.25, -0.25]
    net = fnn.network([2, 2], output="softmax")
    params = fnn.Params((fnn.LayerParams([[0.0, math.log(3)], [0.0, 0.0]], [0.0, 0.0]),))
    _, cache = fnn.forward(net, params, [[1.0, 0.0]])
    np.testing.assert_allclose(cache.layers[0].A, [[0.25, 0.75]], rtol=1e-15)
    assert fnn.cost(net, params, cache, [[0.0, 1.0]]) == pytest.approx(-math.log(0.75), rel=1e-15)
    g = fnn.backward(net, params, cache, [[0.0, 1.0]])
    np.testing.assert_allclose(g.layers[0].dW, [[0.25, -0.25], [0, 0]], rtol=1e-15)
    np.testing.assert_allclose(g.layers[0].db, [0.25, -0.25], rtol=1e-15)


def test_layer_without_bias_adds_nothing_and_gets_zero_db():
    net = fnn.Network((fnn.Dense(2, 2, "tanh", use_bias=False), fnn.Dense(2, 1, "sigmoid")), "binary_cross_entropy")
    params = fnn.init_params(net, seed=0)
    _, cache = fnn.forward(net, params, X)
    np.testing.assert_array_equal(cache.layers[0].Z, X @ params.layers[0].W)
    g = fnn.backward(net, params, cache, [[1.0], [0.0]])
    assert not g.layers[0].db.any() and g.layers[1].db.any()
    assert not fnn.update(params, g, 0.5).layers[0].b.any()


OUTPUTS = [
    ("sigmoid", "binary_cross_entropy"),
    ("softmax", "categorical_cross_entropy"),
    ("identity", "mean_squared_error"),
    ("tanh", "mean_squared_error"),
    ("sigmoid", "mean_squared_error"),
    ("identity", "sum_of_squares"),
    ("relu", "sum_of_squares"),
    ("leaky_relu", "mean_squared_error"),
    ("exp", "poisson"),
]
HIDDEN = sorted(set(ACTIVATIONS) - {"softmax"})
MODERN = ["elu", "selu", "gelu", "silu", "softplus"]
# every hidden activation under each output above; and each modern one as the output too, with every loss it
# allows (the squared errors), in a network of that activation throughout
GRID = list(itertools.product(HIDDEN, OUTPUTS, [0.0, 0.7], [True, False])) + [
    (g, (g, loss), l2, bias)
    for g, loss, l2, bias in itertools.product(MODERN, ["mean_squared_error", "sum_of_squares"], [0.0, 0.7], [True, False])
]


def grid_case(hidden, output, loss, l2, use_bias, seed=0, m=6):
    rng = np.random.default_rng(seed)
    n_out = 3
    net = fnn.Network(
        (fnn.Dense(4, 5, hidden, use_bias), fnn.Dense(5, 3, hidden, use_bias), fnn.Dense(3, n_out, output, use_bias)),
        loss,
        l2,
    )
    # random weights and biases: nonzero biases keep every Z away from the relu kink at 0
    scale = 0.3 if hidden == "exp" else 1.0  # exp of exp of unit-normal layers overflows the check's differences
    flat = scale * rng.standard_normal(net.n_params) * fnn.gradcheck.trainable(net)
    params = fnn.Params.from_flat(flat, net.shapes)
    Xg = rng.standard_normal((m, 4))
    if output == "softmax":
        Yg = fnn.targets(net, rng.integers(0, n_out, m))
    elif loss == "binary_cross_entropy":
        Yg = rng.integers(0, 2, (m, n_out)).astype(float)
    elif loss == "poisson":
        Yg = rng.poisson(1.5, (m, n_out)).astype(float)
    else:
        Yg = rng.standard_normal((m, n_out))
    return net, params, Xg, Yg


@pytest.mark.parametrize("m", [6, 24])  # 24 rows >= 4 x the widest layer: column order, biases in the products
@pytest.mark.parametrize("hidden, out_loss, l2, use_bias", GRID, ids=lambda v: str(v))
def test_gradient_check_every_activation_loss_l2_bias(hidden, out_loss, l2, use_bias, m):
    net, params, Xg, Yg = grid_case(hidden, *out_loss, l2, use_bias, m=m)
    assert fnn.engine.plan.plan(net).order(m) == ("F" if m == 24 else "C")
    assert fnn.gradient_check(net, params, Xg, Yg) < 1e-7


def test_the_grid_covers_every_activation_with_every_loss_it_allows():
    pairs = {(output, loss) for _, (output, loss), _, _ in GRID}
    for name, loss in fnn.LOSSES.items():
        for output in set(MODERN) & loss.allowed:
            assert (output, name) in pairs
    assert set(HIDDEN) >= set(MODERN) and {h for h, *_ in GRID} == set(HIDDEN)


def test_gradient_check_detects_a_wrong_gradient(monkeypatch):
    net, params, Xg, Yg = grid_case("tanh", "identity", "mean_squared_error", 0.0, True)
    import fnn.losses as losses

    broken = losses.LOSSES["mean_squared_error"]
    monkeypatch.setitem(losses.LOSSES, "mean_squared_error", attrs.evolve(broken, divisor=lambda m: m / 1.1))  # dJ/dA 1.1x
    assert fnn.gradient_check(net, params, Xg, Yg) > 1e-3


def test_stages_touch_no_argument():
    net, params, Xg, Yg = grid_case("relu", "softmax", "categorical_cross_entropy", 0.7, True)
    Xc, Yc, flat = Xg.copy(), Yg.copy(), params.flat.copy()
    AL, cache = fnn.forward(net, params, Xg)
    fnn.cost(net, params, cache, Yg)
    g = fnn.backward(net, params, cache, Yg)
    fnn.update(params, g, 0.1)
    np.testing.assert_array_equal(Xg, Xc)
    np.testing.assert_array_equal(Yg, Yc)
    np.testing.assert_array_equal(params.flat, flat)
    assert Xg.flags.writeable and Yg.flags.writeable
    assert not np.shares_memory(cache.layers[0].A_prev, Xg)


def test_float32_stays_float32():
    net, params, Xg, Yg = grid_case("tanh", "sigmoid", "binary_cross_entropy", 0.7, True)
    p32 = fnn.Params.from_flat(params.flat.astype(np.float32), params.shapes)
    AL, cache = fnn.forward(net, p32, Xg)
    J = fnn.cost(net, p32, cache, Yg)
    g = fnn.backward(net, p32, cache, Yg)
    new = fnn.update(p32, g, np.float64(0.1))
    assert AL.dtype == np.float32 and isinstance(J, np.float32)
    assert all(a.dtype == np.float32 for c in cache.layers for a in (c.A_prev, c.Z, c.A))
    assert g.flat.dtype == np.float32 and new.flat.dtype == np.float32


def test_shape_errors_name_the_argument():
    net, params, Xg, Yg = grid_case("relu", "sigmoid", "binary_cross_entropy", 0.0, True)
    with pytest.raises(ValueError, match=r"X: expected shape \(m, 4\).*got \(4, 6\); X looks transposed"):
        fnn.forward(net, params, Xg.T)
    _, cache = fnn.forward(net, params, Xg)
    with pytest.raises(ValueError, match=r"Y: expected shape \(6, 3\) like the network output, got \(18,\); use fnn.targets"):
        fnn.cost(net, params, cache, Yg.ravel())
    with pytest.raises(ValueError, match=r"Y: expected shape \(6, 3\) like the network output, got \(3, 6\)"):
        fnn.backward(net, params, cache, Yg.T)
    with pytest.raises(ValueError, match=r"params.layers\[0\].W: expected shape \(4, 5\)"):
        fnn.forward(net, fnn.init_params(fnn.network([3, 5, 3, 3])), Xg)


def test_categorical_targets_must_be_distributions():
    net, params, Xg, Yg = grid_case("relu", "softmax", "categorical_cross_entropy", 0.0, True)
    _, cache = fnn.forward(net, params, Xg)
    with pytest.raises(ValueError, match="Y: expected rows of probabilities"):
        fnn.backward(net, params, cache, 2 * Yg)
