"""fit_lbfgs: scipy's L-BFGS-B over the flat parameters, with cost and gradient from the public stages."""
import inspect
import sys

import numpy as np
import pytest

import fnn
from fnn.lbfgs import LbfgsState


def blobs(m=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, 3))
    y = (X[:, 0] + 0.5 * X[:, 1] ** 2 > 0.3).astype(int)
    return X, y


def test_reaches_a_stationary_point_of_the_cost():
    X, y = blobs()
    net = fnn.network([3, 6, 1], hidden="tanh", l2=0.1)
    result = fnn.fit_lbfgs(net, X, y, max_iter=500, tol=1e-8, seed=0)
    state = result.state
    assert isinstance(state.opt_state, LbfgsState) and state.opt_state.converged
    assert state.step == state.opt_state.n_iter == len(result.losses)
    _, cache = fnn.forward(net, state.params, X)
    Y = fnn.targets(net, y)
    assert float(fnn.cost(net, state.params, cache, Y)) == pytest.approx(state.loss, rel=1e-12)
    assert np.abs(fnn.backward(net, state.params, cache, Y).flat).max() < 1e-4  # stopped by ftol or gtol
    assert np.all(np.diff(result.losses) <= 1e-12)  # L-BFGS-B's line search only accepts descent


def test_agrees_with_scipy_on_a_linear_least_squares_problem():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 4))
    w = np.array([1.0, -2.0, 0.5, 3.0])
    y = X @ w + 0.7 + 0.01 * rng.normal(size=40)
    net = fnn.network([4, 1], output="identity")
    state = fnn.fit_lbfgs(net, X, y, tol=1e-12).state
    coef, *_ = np.linalg.lstsq(np.c_[X, np.ones(40)], y, rcond=None)
    np.testing.assert_allclose(np.r_[state.params.layers[0].W[:, 0], state.params.layers[0].b], coef, atol=1e-6)


@pytest.mark.parametrize("limit, value", [("max_iter", 3), ("max_fun", 4)])
def test_limits_stop_it_unconverged(limit, value):
    X, y = blobs()
    net = fnn.network([3, 8, 1], hidden="relu")
    state = fnn.fit_lbfgs(net, X, y, tol=0.0, **{limit: value}).state
    info = state.opt_state
    assert not info.converged and info.status == 1
    assert info.n_iter <= 3 if limit == "max_iter" else info.n_fev <= value + 1


def test_float32_params_stay_float32_and_inputs_are_untouched():
    X, y = blobs()
    net = fnn.network([3, 5, 1])
    p0 = fnn.init_params(net, seed=0, dtype=np.float32)
    Xc = X.copy()
    state = fnn.fit_lbfgs(net, X, y, params=p0, max_iter=20).state
    assert state.params.flat.dtype == np.float32
    np.testing.assert_array_equal(X, Xc)


@pytest.mark.parametrize(
    "kwargs, error, words",
    [({"max_iter": 0}, ValueError, ["max_iter", ">= 1"]), ({"max_fun": 1.5}, TypeError, ["max_fun"]),
     ({"tol": -1.0}, ValueError, ["tol", ">= 0.0"])],
)
def test_bad_arguments(kwargs, error, words):
    X, y = blobs()
    with pytest.raises(error) as info:
        fnn.fit_lbfgs(fnn.network([3, 1]), X, y, **kwargs)
    assert all(w in str(info.value) for w in words)


def test_the_core_imports_without_scipy():
    import subprocess

    code = "import sys; sys.modules['scipy'] = None; import fnn; print('scipy' in sys.modules and sys.modules['scipy'] is not None)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


@pytest.mark.skipif("sample_weight" not in inspect.signature(fnn.cost).parameters, reason="core sample weights land with the engine")
def test_weights_equal_repeated_rows():
    X, y = blobs(30)
    net = fnn.network([3, 4, 1], hidden="tanh", l2=0.2)
    w = np.arange(30) % 3
    a = fnn.fit_lbfgs(net, X, y, sample_weight=w, tol=1e-10, max_iter=1000).state
    b = fnn.fit_lbfgs(net, np.repeat(X, w, axis=0), np.repeat(y, w), tol=1e-10, max_iter=1000).state
    np.testing.assert_allclose(a.params.flat, b.params.flat, atol=1e-5)
