"""train_step, fold, scan, batches and fit."""
import math

import numpy as np
import pytest

import fnn
from conftest import assert_same

X10 = np.arange(20.0).reshape(10, 2)
Y10 = np.arange(10.0).reshape(10, 1)


def rows(batches):
    return [x[:, 0] // 2 for x, _ in batches]


@pytest.mark.parametrize("batch_size, sizes", [(3, [3, 3, 3, 1]), (10, [10]), (25, [10]), (1, [1] * 10), (5, [5, 5])])
def test_batches_cover_every_row_once_per_epoch(batch_size, sizes):
    out = list(fnn.batches(X10, Y10, batch_size=batch_size, epochs=2, seed=4))
    assert [len(x) for x, _ in out] == sizes * 2
    per_epoch = len(sizes)
    for e in range(2):
        seen = np.concatenate(rows(out[e * per_epoch : (e + 1) * per_epoch]))
        np.testing.assert_array_equal(np.sort(seen), np.arange(10))
        np.testing.assert_array_equal(seen, np.random.default_rng([4, e]).permutation(10))


def test_batches_permute_X_and_Y_together():
    for x, y in fnn.batches(X10, Y10, batch_size=3, epochs=3, seed=1):
        np.testing.assert_array_equal(x[:, 0] // 2, y[:, 0])
        assert not x.flags.writeable and not y.flags.writeable


def test_start_epoch_continues_the_sequence():
    all_epochs = list(fnn.batches(X10, Y10, batch_size=4, epochs=5, seed=2))
    later = list(fnn.batches(X10, Y10, batch_size=4, epochs=2, seed=2, start_epoch=3))
    for (a, b), (c, d) in zip(all_epochs[9:], later):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)
    assert len(later) == 6


def test_full_batch_is_the_whole_set_in_order():
    out = list(fnn.batches(X10, Y10, epochs=3))
    assert len(out) == 3
    for x, y in out:
        np.testing.assert_array_equal(x, X10)
        np.testing.assert_array_equal(y, Y10)
    assert list(fnn.batches(X10, Y10, epochs=0)) == []


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(batch_size=0), ValueError, "batch_size: expected an int >= 1, got 0"),
        (dict(batch_size=-2), ValueError, "batch_size: expected an int >= 1, got -2"),
        (dict(batch_size=2.0), TypeError, "batch_size: expected an int"),
        (dict(epochs=-1), ValueError, "epochs: expected an int >= 0, got -1"),
        (dict(start_epoch=-1), ValueError, "start_epoch: expected an int >= 0"),
        (dict(seed=-1), ValueError, "seed: expected an int >= 0"),
    ],
)
def test_batches_reject_bad_arguments_eagerly(kwargs, error, message):
    with pytest.raises(error, match=message):
        fnn.batches(X10, Y10, **kwargs)


def test_batches_reject_mismatched_rows():
    with pytest.raises(ValueError, match=r"Y: expected 10 rows like X, got 9"):
        fnn.batches(X10, Y10[:9])


def setup(opt, dtype=np.float64, hidden="tanh"):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 3))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    net = fnn.network([3, 6, 4, 2], hidden=hidden, output="softmax", l2=0.01)
    params = fnn.init_params(net, seed=1, dtype=dtype)
    return net, params, X, y


OPTIMIZERS = [lambda: fnn.sgd(0.1), lambda: fnn.sgd(0.1, momentum=0.9, nesterov=True), lambda: fnn.momentum(0.1), lambda: fnn.rmsprop(0.01), lambda: fnn.adam(0.01),
              lambda: fnn.sgd(fnn.schedules.step_decay(0.2, 0.5, 4))]


@pytest.mark.parametrize("make", OPTIMIZERS)
def test_fit_equals_the_hand_written_fold_bit_for_bit(make):
    net, params, X, y = setup(make())
    opt = make()
    result = fnn.fit(net, X, y, optimizer=opt, epochs=4, batch_size=7, seed=3, params=params)
    step = fnn.train_step(net, opt)
    final = fnn.fold(step, fnn.batches(X, fnn.targets(net, y), batch_size=7, epochs=4, seed=3), fnn.init_state(params, opt))
    assert final.step == result.state.step == 4 * 5
    assert_same(final.params, result.state.params)
    assert result.losses.shape == (20,) and result.losses[-1] == final.loss


def test_fit_leaves_the_states_it_returned_intact():
    """fit's two params vectors are its own: a state it returned is never written again."""
    net, params, X, y = setup(fnn.adam(0.01))
    first = fnn.fit(net, X, y, optimizer=fnn.adam(0.01), epochs=3, batch_size=7, params=params)
    kept = first.state.params.flat.copy()
    more = fnn.fit(net, X, y, epochs=3, batch_size=7, state=first.state)
    np.testing.assert_array_equal(first.state.params.flat, kept)
    flat = more.state.params.flat
    assert not flat.flags.writeable and not np.shares_memory(flat, first.state.params.flat)
    assert not any(np.shares_memory(flat, a) for a in (more.state.opt_state.mu, more.state.opt_state.nu))


def test_a_diverging_update_in_fit_raises_with_the_state_the_fold_reached():
    """The update at step 3 makes the params non-finite; the error carries the state after step 2,
    bit for bit, though fit wrote its params into a vector of its own."""
    net = fnn.network([2, 3, 1], hidden="tanh", output="identity")
    X = np.array([[1.0, 2.0], [3.0, -4.0], [0.5, 1.5]])
    y = np.array([1.0, 2.0, 3.0])
    opt = fnn.sgd(lambda k: 0.01 if k < 3 else 1e308)
    params = fnn.init_params(net, seed=0)
    with pytest.raises(fnn.DivergenceError) as info:
        fnn.fit(net, X, y, optimizer=opt, epochs=10, params=params)
    err = info.value
    reached = fnn.fold(fnn.train_step(net, opt), fnn.batches(X, fnn.targets(net, y), epochs=3), fnn.init_state(params, opt))
    assert err.step == 3 == err.state.step and err.state.opt_state.count == 3
    assert_same(err.state.params, reached.params)
    assert err.state.loss == reached.loss and math.isfinite(err.cost)


@pytest.mark.parametrize("make", OPTIMIZERS)
def test_five_plus_five_epochs_equal_ten(make):
    net, params, X, y = setup(make())
    ten = fnn.fit(net, X, y, optimizer=make(), epochs=10, batch_size=8, params=params)
    five = fnn.fit(net, X, y, optimizer=make(), epochs=5, batch_size=8, params=params)
    more = fnn.fit(net, X, y, epochs=5, batch_size=8, state=five.state)  # the state's own optimizer
    assert_same(ten.state.params, more.state.params)
    np.testing.assert_array_equal(ten.losses, np.r_[five.losses, more.losses])


def test_fit_rejects_params_beside_a_state():
    net, params, X, y = setup(fnn.sgd(0.1))
    state = fnn.fit(net, X, y, epochs=1, batch_size=7, params=params).state
    with pytest.raises(ValueError, match="params: expected None when a state is given"):
        fnn.fit(net, X, y, state=state, params=params)


def test_scan_yields_the_start_then_every_step_and_replays_bit_for_bit():
    net, params, X, y = setup(fnn.adam(0.01))
    opt = fnn.adam(0.01)
    step = fnn.train_step(net, opt)
    data = list(fnn.batches(X, fnn.targets(net, y), batch_size=6, epochs=2, seed=0))
    trail = list(fnn.scan(step, data, fnn.init_state(params, opt)))
    assert [s.step for s in trail] == list(range(len(data) + 1))
    assert math.isnan(trail[0].loss)
    replay = list(fnn.scan(step, data[4:], trail[4]))
    for a, b in zip(trail[4:], replay):
        assert_same(a.params, b.params)
        np.testing.assert_array_equal(a.opt_state.mu, b.opt_state.mu)
        assert a.loss == b.loss


def test_the_loss_is_the_cost_of_the_batch_before_the_update():
    net, params, X, y = setup(fnn.sgd(0.1))
    Y = fnn.targets(net, y)
    state = fnn.train_step(net, fnn.sgd(0.1))(fnn.init_state(params, fnn.sgd(0.1)), (X, Y))
    _, cache = fnn.forward(net, params, X)
    assert state.loss == fnn.cost(net, params, cache, Y)


def test_float32_keeps_its_dtype_through_fit():
    net, params, X, y = setup(fnn.adam(0.01), np.float32)
    result = fnn.fit(net, X, y, optimizer=fnn.adam(0.01), epochs=3, batch_size=10, params=params)
    assert result.state.params.flat.dtype == np.float32
    assert result.state.opt_state.mu.dtype == np.float32 and isinstance(result.state.loss, np.float32)


def test_divergence_raises_with_the_last_finite_state():
    net = fnn.network([1, 1], output="identity")
    X = np.array([[1e3], [-2e3]])
    y = np.array([1.0, 2.0])
    with pytest.raises(fnn.DivergenceError) as info:
        fnn.fit(net, X, y, optimizer=fnn.sgd(10.0), epochs=500)
    err = info.value
    assert err.state.step == err.step > 0
    assert np.isfinite(err.state.params.flat).all()
    assert f"step {err.step}" in str(err) and "learning rate" in str(err)


def test_fit_defaults():
    net, _, X, y = setup(None, hidden="relu")
    result = fnn.fit(net, X, y, epochs=3)
    manual = fnn.fit(net, X, y, optimizer=fnn.sgd(0.01), epochs=3, params=fnn.init_params(net, seed=0, scheme="he"))
    assert_same(result.state.params, manual.state.params)
    assert result.state.optimizer.name == "sgd" and len(result.losses) == 3


def test_training_does_not_touch_its_inputs():
    net, params, X, y = setup(fnn.adam(0.01))
    Xc, yc, flat = X.copy(), y.copy(), params.flat.copy()
    fnn.fit(net, X, y, optimizer=fnn.adam(0.01), epochs=2, batch_size=4, params=params)
    np.testing.assert_array_equal(X, Xc)
    np.testing.assert_array_equal(y, yc)
    np.testing.assert_array_equal(params.flat, flat)
    assert X.flags.writeable
