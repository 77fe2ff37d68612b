"""Sample weights: every 1/m becomes 1/sum(w), each sample's term times w_i, the L2 term included."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import fnn

from conftest import assert_same

PAIRS = [("sigmoid", "binary_cross_entropy"), ("softmax", "categorical_cross_entropy"),
         ("identity", "mean_squared_error"), ("tanh", "sum_of_squares")]


def setup(output, loss, l2=0.3, m=7, bias=True, seed=0):
    n_out = 3 if output == "softmax" else 2 if output == "sigmoid" else 1
    sizes = [3, 4, n_out]
    net = fnn.Network((fnn.Dense(3, 4, "tanh", bias), fnn.Dense(4, n_out, output, bias)), loss, l2)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, sizes[0]))
    if output == "softmax":
        Y = fnn.targets(net, rng.integers(0, 3, m))
    elif output == "sigmoid":
        Y = (rng.random((m, n_out)) > 0.5).astype(float)
    else:
        Y = rng.standard_normal((m, n_out))
    return net, fnn.init_params(net, seed=seed, scheme="glorot"), X, Y


def J_and_g(net, params, X, Y, w=None):
    _, cache = fnn.forward(net, params, X)
    return float(fnn.cost(net, params, cache, Y, sample_weight=w)), fnn.backward(net, params, cache, Y, sample_weight=w).flat


@pytest.mark.parametrize("output, loss", PAIRS)
@given(counts=st.lists(st.integers(0, 3), min_size=7, max_size=7).filter(any))
@settings(max_examples=15, deadline=None)
def test_integer_weights_equal_repeating_each_sample(output, loss, counts):
    """w_i = k_i is the unweighted cost of the set with sample i repeated k_i times, L2 included."""
    net, params, X, Y = setup(output, loss)
    idx = np.repeat(np.arange(7), counts)
    J_w, g_w = J_and_g(net, params, X, Y, np.array(counts, float))
    J_r, g_r = J_and_g(net, params, X[idx], Y[idx])
    assert math.isclose(J_w, J_r, rel_tol=1e-12)
    np.testing.assert_allclose(g_w, g_r, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("output, loss", PAIRS)
def test_unit_weights_give_the_unweighted_values(output, loss):
    net, params, X, Y = setup(output, loss)
    J1, g1 = J_and_g(net, params, X, Y, np.ones(7))
    J0, g0 = J_and_g(net, params, X, Y)
    assert math.isclose(J1, J0, rel_tol=1e-13)
    np.testing.assert_allclose(g1, g0, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("output, loss", PAIRS)
@pytest.mark.parametrize("l2", [0.0, 0.5])
@pytest.mark.parametrize("bias", [True, False])
def test_gradient_check_with_weights_including_zeros(output, loss, l2, bias):
    net, params, X, Y = setup(output, loss, l2=l2, bias=bias, seed=4)
    w = np.array([0.0, 2.5, 0.3, 0.0, 1.0, 4.0, 0.7])
    assert fnn.gradient_check(net, params, X, Y, sample_weight=w) < 1e-7


def test_weights_summing_to_zero_give_cost_zero_and_gradient_zero():
    net, params, X, Y = setup("identity", "mean_squared_error", l2=1.0)
    J, g = J_and_g(net, params, X, Y, np.zeros(7))
    assert J == 0.0 and not g.any()


def test_scaling_the_weights_scales_only_the_l2_term():
    net, params, X, Y = setup("sigmoid", "binary_cross_entropy", l2=0.0)
    l2net = fnn.Network(net.layers, net.loss, 0.8)
    w = np.linspace(0.1, 2.0, 7)
    data, _ = J_and_g(net, params, X, Y, w)
    for c in (0.5, 3.0):
        assert math.isclose(J_and_g(net, params, X, Y, c * w)[0], data, rel_tol=1e-13)
        l2_of = lambda v: J_and_g(l2net, params, X, Y, v)[0] - J_and_g(net, params, X, Y, v)[0]  # noqa: E731
        assert math.isclose(l2_of(c * w), l2_of(w) / c, rel_tol=1e-10)


@pytest.mark.parametrize("bad, words", [
    (-np.ones(7), "expected weights >= 0, got -1.0"),
    (np.r_[np.ones(6), np.nan], "expected finite values, got nan"),
    (np.ones(6), r"expected one weight per sample, shape \(7,\), got shape \(6,\)"),
    (np.ones((7, 1)), r"expected one weight per sample, shape \(7,\), got shape \(7, 1\)"),
])
def test_bad_weights_are_refused_naming_sample_weight(bad, words):
    net, params, X, Y = setup("identity", "mean_squared_error")
    _, cache = fnn.forward(net, params, X)
    for call in (lambda: fnn.cost(net, params, cache, Y, sample_weight=bad),
                 lambda: fnn.backward(net, params, cache, Y, sample_weight=bad),
                 lambda: fnn.fit(net, X, Y, epochs=1, sample_weight=bad),
                 lambda: fnn.batches(X, Y, sample_weight=bad)):
        with pytest.raises(ValueError, match="sample_weight: " + words):
            call()


def test_a_data_set_needs_some_weight():
    net, _, X, Y = setup("identity", "mean_squared_error")
    for call in (lambda: fnn.fit(net, X, Y, epochs=1, sample_weight=np.zeros(7)), lambda: fnn.batches(X, Y, sample_weight=np.zeros(7))):
        with pytest.raises(ValueError, match="sample_weight: expected at least one weight > 0, got all 7 weights zero"):
            call()


@pytest.mark.parametrize("m", [7, 40])
@pytest.mark.parametrize("output, loss", PAIRS)
def test_the_engine_follows_the_weighted_stages(output, loss, m):
    """A weighted step equals the weighted stages and the optimizer's update, bit for bit in row order."""
    net, params, X, Y = setup(output, loss, l2=0.2, m=m)
    w = np.random.default_rng(1).random(m) * 2
    w[2] = 0.0
    opt = fnn.adam(0.05)
    state = fnn.init_state(params, opt)
    new = fnn.train_step(net, opt)(state, (X, Y, w))
    _, cache = fnn.forward(net, params, X)
    grads = fnn.backward(net, params, cache, Y, sample_weight=w)
    by_hand, _ = opt.update(params, grads, state.opt_state)
    exact = m == 7
    assert fnn.engine.plan.plan(net).order(m) == ("C" if exact else "F")
    assert_same(new.params, by_hand, exact=exact, rtol=1e-10)
    J = fnn.cost(net, params, cache, Y, sample_weight=w)
    assert new.loss == J if exact else math.isclose(new.loss, J, rel_tol=1e-12)


def test_fit_with_weights_is_the_fold_over_weighted_batches():
    net, params, X, Y = setup("softmax", "categorical_cross_entropy", m=30)
    w = np.random.default_rng(2).random(30)
    data = list(fnn.batches(X, Y, batch_size=8, epochs=3, seed=1, sample_weight=w))
    assert all(len(b) == 3 and b[2].shape == (len(b[0]),) and not b[2].flags.writeable for b in data)
    opt = fnn.sgd(0.5)
    folded = fnn.fold(fnn.train_step(net, opt), data, fnn.init_state(params, opt))
    result = fnn.fit(net, X, Y, opt, epochs=3, batch_size=8, seed=1, params=params, sample_weight=w)
    assert_same(folded.params, result.state.params)
    unweighted = fnn.fit(net, X, Y, opt, epochs=3, batch_size=8, seed=1, params=params)
    assert not np.array_equal(unweighted.state.params.flat, result.state.params.flat)


def test_a_batch_whose_weights_sum_to_zero_takes_a_zero_step():
    net, params, X, Y = setup("identity", "mean_squared_error", l2=0.5)
    opt = fnn.sgd(0.1)
    state = fnn.init_state(params, opt)
    new = fnn.train_step(net, opt)(state, (X, Y, np.zeros(7)))
    assert new.loss == 0.0 and new.step == 1
    assert_same(new.params, params)
