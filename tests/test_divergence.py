"""DivergenceError: a non-finite step stops training with the step, the cost and a learning-rate hint."""
from __future__ import annotations

import math
import pickle

import numpy as np
import pytest

import fnn

rng = np.random.default_rng(0)
X = rng.normal(size=(50, 2)) * 100
y = (X[:, 0] > 0).astype(int)
NET = fnn.network([2, 8, 1])


@pytest.mark.parametrize("optimizer", [fnn.sgd(1e6), fnn.momentum(1e6), fnn.sgd(fnn.schedules.step_decay(1e-3, 1e4, 5))],
                         ids=["sgd", "momentum", "growing-schedule"])
def test_fit_raises_divergence_with_step_cost_and_hint(optimizer):
    """Under the project's warnings-as-errors: the overflow on the way is not a RuntimeWarning."""
    with pytest.raises(fnn.DivergenceError) as info:
        fnn.fit(NET, X, y, optimizer, epochs=200)
    err = info.value
    assert err.step > 0 and err.state.step == err.step
    assert np.isfinite(err.state.params.flat).all() and not math.isfinite(err.cost)
    message = str(err)
    for word in (f"step {err.step}", f"cost {err.cost}", "learning rate", f"learning_rate={optimizer.hyperparams[0][1]!r}", "smaller"):
        assert word in message


def test_the_error_carries_the_state_the_failing_step_was_given():
    """Replaying the fold up to ``err.step`` gives ``err.state`` bit for bit; one more step raises again."""
    opt = fnn.momentum(1e6)
    state = fnn.init_state(fnn.init_params(NET, seed=0), opt)
    Y = fnn.targets(NET, y)
    step = fnn.train_step(NET, opt)
    with pytest.raises(fnn.DivergenceError) as info:
        fnn.fold(step, fnn.batches(X, Y, epochs=200), state)
    err = info.value
    trail = fnn.scan(step, fnn.batches(X, Y, epochs=err.step), state)
    for replayed in trail:
        pass
    assert replayed.step == err.step and replayed.params.flat.tobytes() == err.state.params.flat.tobytes()
    with pytest.raises(fnn.DivergenceError) as again:
        step(replayed, (X, Y))
    assert again.value.step == err.step


def test_an_update_to_non_finite_params_is_divergence_even_when_the_cost_was_finite():
    net = fnn.network([1, 1], output="identity")
    params = fnn.init_params(net, seed=0)
    opt = fnn.sgd(1e308)
    with pytest.raises(fnn.DivergenceError) as info:
        fnn.train_step(net, opt)(fnn.init_state(params, opt), (np.array([[10.0]]), np.array([[-100.0]])))
    assert info.value.step == 0 and math.isfinite(info.value.cost)
    assert info.value.state.params.flat.tobytes() == params.flat.tobytes()


def test_divergence_is_raised_even_where_numpy_would_raise_on_overflow():
    opt = fnn.sgd(1e6)
    with np.errstate(over="raise", invalid="raise", divide="raise"), pytest.raises(fnn.DivergenceError):
        fnn.fit(NET, X, y, opt, epochs=200)


def test_divergence_error_as_in_the_api_and_picklable():
    state = fnn.init_state(fnn.init_params(NET), fnn.adam(0.5))
    err = fnn.DivergenceError(7, state)
    assert (err.step, err.state, math.isnan(err.cost)) == (7, state, True)
    assert isinstance(err, ArithmeticError) and "step 7" in str(err) and "adam learning_rate=constant(lr=0.5)" in str(err)
    again = pickle.loads(pickle.dumps(fnn.DivergenceError(3, None, float("inf"))))
    assert (again.step, again.state, again.cost) == (3, None, math.inf) and "cost inf" in str(again)


def test_a_stable_run_raises_nothing():
    result = fnn.fit(NET, X / 100, y, fnn.adam(1e-2), epochs=20)
    assert np.isfinite(result.losses).all() and result.state.step == 20
