"""Edge inputs (issue 14): finite values of any size raise no floating-point warning or error, even
under ``numpy.errstate(all="raise")``; boolean labels work wherever labels do; a learning rate of 0
is allowed for every optimizer and schedule (a negative or non-finite one still raises)."""
import math
import warnings

import numpy as np
import pytest

import fnn
from fnn import checks, schedules

BIG = np.finfo(np.float64).max
HUGE = np.array([[1e308, 1e308], [BIG, -1e308], [-BIG, -BIG], [1e308, 3.0]])  # any sum of two rows overflows
LABELS = np.array([0, 1, 1, 0])


@pytest.fixture
def strict():
    """Every floating-point event an error, and every warning too."""
    with np.errstate(all="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


@pytest.mark.parametrize("arr", [HUGE, np.full((5, 3), np.finfo(np.float32).max, np.float32), np.full((70_000, 3), 1e308), np.array(BIG)])
def test_finite_takes_the_largest_floats_quietly(strict, arr):
    assert checks.finite("X", arr) is arr


@pytest.mark.parametrize("at", [(0, 0), (40_000, 2), (69_999, 1)])
def test_finite_names_the_first_bad_entry_among_huge_ones(strict, at):
    arr = np.full((70_000, 3), -1e308)  # spans several blocks
    arr[at] = np.inf
    with pytest.raises(ValueError, match=rf"X: expected finite values, got inf at index \({at[0]}, {at[1]}\)"):
        checks.finite("X", arr)


def test_public_functions_take_huge_finite_inputs_quietly(strict):
    net = fnn.network([2, 3, 1])
    zeros = fnn.init_params(net, scheme="zeros")  # every product with the huge inputs is 0 * x
    AL, cache = fnn.forward(net, zeros, HUGE)
    Y = fnn.targets(net, LABELS)
    assert fnn.cost(net, zeros, cache, Y) == pytest.approx(math.log(2))
    assert fnn.predict(net, zeros, HUGE).tolist() == [0, 0, 0, 0]
    assert fnn.accuracy(LABELS, fnn.predict(net, zeros, HUGE)) == 0.5
    assert [x.shape for x, _ in fnn.batches(HUGE, Y, batch_size=3)] == [(3, 2), (1, 2)]
    result = fnn.fit(net, HUGE, LABELS, fnn.adam(0.1), epochs=3, batch_size=2, params=zeros)
    assert np.isfinite(result.losses).all()
    line = fnn.network([1, 1], output="identity")
    assert fnn.targets(line, np.array([1e308, -BIG])).ravel().tolist() == [1e308, -BIG]


def test_training_steps_take_underflow_quietly(strict):
    """Tiny inputs: products underflow to subnormals; a step is no place for that to raise."""
    net = fnn.network([2, 3, 1])
    result = fnn.fit(net, HUGE * 1e-300 * 1e-8, LABELS, epochs=2, batch_size=2)
    assert np.isfinite(result.state.params.flat).all()


def test_the_stages_take_underflow_quietly(strict):
    """Saturated sigmoids: their derivative A / U underflows, which is exact to the last subnormal."""
    net = fnn.network([2, 3, 1], "sigmoid", "sigmoid", "mean_squared_error")
    params = fnn.init_params(net, seed=1)
    X = np.array([[800.0, -800.0], [-900.0, 700.0], [1e3, 1e3], [3.0, -2.0]])
    _, cache = fnn.forward(net, params, X)
    grads = fnn.backward(net, params, cache, fnn.targets(net, LABELS))
    assert np.isfinite(grads.flat).all()
    assert fnn.gradient_check(net, params, X, fnn.targets(net, LABELS)) < 1e-5


# --- boolean labels, as in scikit-learn (X stays real numeric: bool features raise with a hint)


def test_bool_labels_are_0_and_1_wherever_labels_are(moons):
    X, y = moons
    flags = y.astype(bool)
    sig, soft = fnn.network([2, 4, 1]), fnn.network([2, 4, 2], output="softmax")
    for net in (sig, soft):
        np.testing.assert_array_equal(fnn.targets(net, flags), fnn.targets(net, y))
        a = fnn.fit(net, X, flags, fnn.adam(0.01), epochs=3, batch_size=8)
        b = fnn.fit(net, X, y, fnn.adam(0.01), epochs=3, batch_size=8)
        np.testing.assert_array_equal(a.state.params.flat, b.state.params.flat)
        assert fnn.accuracy(flags, fnn.predict(net, a.state.params, X)) == fnn.accuracy(y, fnn.predict(net, b.state.params, X))
    multi = fnn.network([2, 4, 2])  # two sigmoid units: a boolean indicator matrix
    np.testing.assert_array_equal(fnn.targets(multi, np.c_[flags, ~flags]), np.c_[y, 1 - y].astype(float))
    assert fnn.accuracy(flags, y) == 1.0 and fnn.accuracy(np.c_[flags, ~flags], np.c_[y, 1 - y]) == 1.0
    with_val = fnn.fit(sig, X, flags, epochs=2, batch_size=8, validation=(X, flags))
    assert with_val.history.val_accuracy.shape == (2,)


def test_bool_features_still_raise_with_a_hint(moons):
    X, y = moons
    with pytest.raises(TypeError, match=r"X: expected a real numeric array \(int or float\), got dtype bool; convert with .astype\(float\)"):
        fnn.fit(fnn.network([2, 1]), X > 0, y)


# --- a learning rate of 0


OPTIMIZERS = [fnn.sgd, fnn.momentum, fnn.rmsprop, fnn.adam]
SCHEDULES = [lambda: schedules.constant(0.0), lambda: schedules.step_decay(0.0, 0.5, 2),
             lambda: schedules.exponential_decay(0, 0.5, 2), lambda: schedules.inverse_time_decay(0.0, 1.0, 1)]


@pytest.mark.parametrize("make", OPTIMIZERS)
@pytest.mark.parametrize("rate", [0.0, 0] + SCHEDULES)
def test_a_zero_learning_rate_leaves_params_as_they_are(moons, make, rate):
    X, y = moons
    net = fnn.network([2, 4, 1])
    params = fnn.init_params(net)
    result = fnn.fit(net, X, y, make(rate() if callable(rate) else rate), epochs=2, batch_size=16, params=params)
    np.testing.assert_array_equal(result.state.params.flat, params.flat)
    assert result.state.step == 6 and np.isfinite(result.losses).all()


def test_warm_up_from_zero():
    warm = lambda k: 0.1 * min(1.0, k / 4)  # noqa: E731
    net = fnn.network([2, 4, 1])
    X, y = np.eye(2), np.array([0, 1])
    first = fnn.fit(net, X, y, fnn.adam(warm), epochs=1)
    np.testing.assert_array_equal(first.state.params.flat, fnn.init_params(net).flat)
    assert not np.array_equal(fnn.fit(net, X, y, fnn.adam(warm), epochs=2).state.params.flat, first.state.params.flat)


@pytest.mark.parametrize("make", [*OPTIMIZERS, schedules.constant, lambda lr: schedules.step_decay(lr, 0.5, 1),
                                  lambda lr: schedules.exponential_decay(lr, 0.5, 1), lambda lr: schedules.inverse_time_decay(lr, 1.0, 1)])
@pytest.mark.parametrize("lr, error, words", [(-1e-3, ValueError, ">= 0"), (math.inf, ValueError, "finite"), (math.nan, ValueError, "finite")])
def test_negative_or_non_finite_rates_still_raise(make, lr, error, words):
    with pytest.raises(error, match=words):
        make(lr)
