import math

import numpy as np
import pytest

import fnn
from fnn.activations import ACTIVATIONS
from fnn.losses import LOSSES, output_delta


def test_binary_cross_entropy_from_Z_matches_the_formula():
    Z = np.array([[0.0], [math.log(3)]])
    A = ACTIVATIONS["sigmoid"].fn(Z)  # [0.5, 0.75]
    Y = np.array([[1.0], [0.0]])
    # -(1/2) [log 0.5 + log 0.25] = 1.5 log 2
    assert LOSSES["binary_cross_entropy"].cost(Z, A, Y) == pytest.approx(1.5 * math.log(2), rel=1e-15)


def test_cross_entropies_are_exact_where_A_saturates():
    with np.errstate(all="raise"):
        Z = np.array([[40.0], [-800.0]])
        A = ACTIVATIONS["sigmoid"].fn(Z)
        Y = np.array([[0.0], [1.0]])
        # softplus(40) = 40 + log1p(e^-40), softplus(-800) - (-800) = 800 (+ ~1e-307)
        assert LOSSES["binary_cross_entropy"].cost(Z, A, Y) == pytest.approx((40 + 800) / 2, rel=1e-15)
        Zs = np.array([[1000.0, 0.0]])
        Ys = np.array([[0.0, 1.0]])
        assert LOSSES["categorical_cross_entropy"].cost(Zs, ACTIVATIONS["softmax"].fn(Zs), Ys) == pytest.approx(1000.0)


def test_categorical_cross_entropy_matches_the_formula():
    Z = np.array([[0.0, math.log(3)]])
    A = ACTIVATIONS["softmax"].fn(Z)  # [0.25, 0.75]
    assert LOSSES["categorical_cross_entropy"].cost(Z, A, np.array([[0.0, 1.0]])) == pytest.approx(-math.log(0.75), rel=1e-15)


def test_squared_errors_match_their_formulas():
    A = np.array([[1.0], [3.0]])
    Y = np.array([[0.0], [1.0]])
    assert LOSSES["mean_squared_error"].cost(A, A, Y) == (1 + 4) / 4
    assert LOSSES["sum_of_squares"].cost(A, A, Y) == 1 + 4
    np.testing.assert_array_equal(LOSSES["mean_squared_error"].grad(A, A, Y), [[0.5], [1.0]])
    np.testing.assert_array_equal(LOSSES["sum_of_squares"].grad(A, A, Y), [[2.0], [4.0]])
    assert LOSSES["mean_squared_error"].divisor(2) == 2 and LOSSES["sum_of_squares"].divisor(2) == 0.5


@pytest.mark.parametrize("loss", ["binary_cross_entropy", "categorical_cross_entropy"])
def test_a_loss_only_ever_fused_has_no_gradient_with_respect_to_A(loss):
    A = np.array([[0.25, 0.75]])
    with pytest.raises(TypeError, match=f"{loss}: its gradient is taken with respect to Z only"):
        LOSSES[loss].grad(A, A, A)


@pytest.mark.parametrize("loss, act", [("binary_cross_entropy", "sigmoid"), ("categorical_cross_entropy", "softmax")])
def test_fused_pairs_give_A_minus_Y_over_m(loss, act):
    Z = np.array([[0.3, -1.2], [2.0, 0.1], [-0.4, 0.4]])
    A = ACTIVATIONS[act].fn(Z)
    Y = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    np.testing.assert_array_equal(output_delta(LOSSES[loss], ACTIVATIONS[act], Z, A, Y), (A - Y) / 3)


def test_every_loss_lists_the_outputs_it_allows():
    assert LOSSES["binary_cross_entropy"].allowed == {"sigmoid"}
    assert LOSSES["categorical_cross_entropy"].allowed == {"softmax"}
    assert LOSSES["mean_squared_error"].allowed == set(ACTIVATIONS) - {"softmax"}


def test_cross_entropy_from_the_forward_pass_parts_is_the_fresh_one_and_the_formula():
    rng = np.random.default_rng(0)
    Z = 4 * rng.standard_normal((9, 3))
    Y = rng.dirichlet(np.ones(3), 9)  # rows of probabilities, not only one-hot
    act = ACTIVATIONS["softmax"]
    aux = act.scratch(Z.shape, Z.dtype)
    A = act.fn(Z, aux=aux)
    cce = LOSSES["categorical_cross_entropy"].cost
    assert cce(Z, A, Y, aux) == cce(Z, A, Y)
    np.testing.assert_allclose(cce(Z, A, Y), -np.sum(Y * np.log(A)) / 9, rtol=1e-13)


def test_poisson_matches_scikit_learn_and_its_gradient_checks():
    from sklearn.neural_network._base import poisson_loss

    rng = np.random.default_rng(3)
    X = rng.normal(size=(12, 3))
    Y = rng.poisson(2.0, size=(12, 2)).astype(float)
    Y[0] = 0.0  # 0 log 0 = 0
    net = fnn.network([3, 4, 2], hidden="tanh", output="exp", l2=0.3)
    assert net.loss == "poisson"
    params = fnn.init_params(net, seed=1)
    A, cache = fnn.forward(net, params, X)
    data_term = float(fnn.cost(net, params, cache, Y)) - 0.3 / (2 * 12) * sum(float((p.W**2).sum()) for p in params.layers)
    assert data_term == pytest.approx(poisson_loss(Y, A), rel=1e-12)
    assert fnn.gradient_check(net, params, X, Y) < 1e-7
    net_mse = fnn.network([3, 4, 2], hidden="exp", output="exp", loss="mean_squared_error")
    assert fnn.gradient_check(net_mse, fnn.init_params(net_mse, seed=2, scale=0.3), X, Y) < 1e-7
