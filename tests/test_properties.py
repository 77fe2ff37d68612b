"""Laws that hold for every architecture and data set (hypothesis)."""
import attrs
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fnn
from conftest import arrays_of, assert_same

HIDDEN = ["relu", "leaky_relu", "tanh", "sigmoid", "identity", "elu", "selu", "gelu", "silu", "softplus"]
OUTPUTS = [("sigmoid", "binary_cross_entropy"), ("softmax", "categorical_cross_entropy"),
           ("identity", "mean_squared_error"), ("tanh", "sum_of_squares"), ("softplus", "mean_squared_error"),
           ("selu", "sum_of_squares"), ("gelu", "mean_squared_error")]
OPTIMIZERS = [lambda: fnn.sgd(0.05), lambda: fnn.momentum(0.05), lambda: fnn.rmsprop(0.01), lambda: fnn.adam(0.01)]


@st.composite
def problems(draw):
    widths = draw(st.lists(st.integers(1, 6), min_size=1, max_size=3))
    hidden = draw(st.sampled_from(HIDDEN))
    output, loss = draw(st.sampled_from(OUTPUTS))
    n_out = draw(st.integers(2, 3)) if output == "softmax" else draw(st.integers(1, 3))
    l2 = draw(st.sampled_from([0.0, 0.1]))
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    net = fnn.network(widths + [n_out], hidden=hidden, output=output, loss=loss, l2=l2)
    m = draw(st.integers(1, 12))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, widths[0])) * draw(st.sampled_from([1.0, 10.0]))
    if output == "softmax":
        y = rng.integers(0, n_out, m)
    elif loss == "binary_cross_entropy":
        y = rng.integers(0, 2, (m, n_out)).astype(float) if n_out > 1 else rng.integers(0, 2, m)
    else:
        y = rng.standard_normal((m, n_out))
    params = fnn.init_params(net, seed=seed, dtype=dtype)
    batch = draw(st.sampled_from([None, 1, 3, 5]))
    opt = draw(st.sampled_from(OPTIMIZERS))
    return net, params, X, y, batch, opt


def fit_or_divergence(*args, **kwargs):
    """``fnn.fit``'s result, or the ``DivergenceError`` it raised (a legitimate outcome for some draws)."""
    try:
        return fnn.fit(*args, **kwargs)
    except fnn.DivergenceError as err:
        return err


def every_array(state):
    out = list(arrays_of(state.params)) + [state.params.flat]
    out += [getattr(state.opt_state, f.name) for f in attrs.fields(type(state.opt_state))
            if isinstance(getattr(state.opt_state, f.name), np.ndarray)]
    return out


SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(problems())
def test_no_argument_changes_and_every_record_array_is_read_only(problem):
    net, params, X, y, batch, opt = problem
    Xc, yc, flat = X.copy(), np.copy(y), params.flat.copy()
    Y = fnn.targets(net, y)
    AL, cache = fnn.forward(net, params, X)
    J = fnn.cost(net, params, cache, Y)
    grads = fnn.backward(net, params, cache, Y)
    new = fnn.update(params, grads, 0.01)
    assert np.isfinite(J)
    for arr in arrays_of(cache) + arrays_of(grads) + arrays_of(new) + [AL, grads.flat, new.flat]:
        assert not arr.flags.writeable
    result = fit_or_divergence(net, X, y, optimizer=opt(), epochs=2, batch_size=batch, params=params)
    assert all(not a.flags.writeable for a in every_array(result.state))
    assert np.isfinite(result.state.params.flat).all()
    if isinstance(result, fnn.FitResult):
        assert np.isfinite(result.losses).all()
    np.testing.assert_array_equal(X, Xc)
    np.testing.assert_array_equal(y, yc)
    np.testing.assert_array_equal(params.flat, flat)
    assert X.flags.writeable


@SETTINGS
@given(problems())
def test_same_seed_gives_bitwise_equal_runs(problem):
    net, params, X, y, batch, opt = problem
    a = fit_or_divergence(net, X, y, optimizer=opt(), epochs=3, batch_size=batch, seed=5, params=params)
    b = fit_or_divergence(net, X, y, optimizer=opt(), epochs=3, batch_size=batch, seed=5, params=params)
    assert type(a) is type(b) and a.state.step == b.state.step
    assert_same(a.state.params, b.state.params)
    if isinstance(a, fnn.FitResult):
        np.testing.assert_array_equal(a.losses, b.losses)


@SETTINGS
@given(problems(), st.integers(0, 6))
def test_replaying_a_trail_from_a_middle_state_gives_the_same_states(problem, start):
    net, params, X, y, batch, opt = problem
    optimizer = opt()
    step = fnn.train_step(net, optimizer)
    data = list(fnn.batches(X, fnn.targets(net, y), batch_size=batch, epochs=3, seed=1))
    trail = []
    try:
        trail.extend(fnn.scan(step, data, fnn.init_state(params, optimizer)))
    except fnn.DivergenceError:
        pass
    start = min(start, len(trail) - 1)
    for a, b in zip(trail[start:], fnn.scan(step, data[start : len(trail) - 1], trail[start])):
        assert a.step == b.step
        assert_same(a.params, b.params)
        for x, z in zip(every_array(a), every_array(b)):
            np.testing.assert_array_equal(x, z)


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(HIDDEN),
    st.sampled_from(OUTPUTS),
    st.floats(-1e3, 1e3),
    st.integers(0, 2**16),
)
def test_costs_and_gradients_stay_finite_for_large_finite_inputs(hidden, out_loss, scale, seed):
    output, loss = out_loss
    net = fnn.network([3, 4, 2], hidden=hidden, output=output, loss=loss)
    rng = np.random.default_rng(seed)
    params = fnn.Params.from_flat(rng.standard_normal(net.n_params) * 3, net.shapes)
    X = rng.standard_normal((5, 3)) * scale
    Y = fnn.targets(net, rng.integers(0, 2, 5)) if output == "softmax" else rng.integers(0, 2, (5, 2)).astype(float)
    # overflow, invalid and division by zero are errors; gradients may legitimately underflow
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        _, cache = fnn.forward(net, params, X)
        assert np.isfinite(fnn.cost(net, params, cache, Y))
        assert np.isfinite(fnn.backward(net, params, cache, Y).flat).all()
