"""The engine against the plain stages, and one program for single steps and folds."""
from __future__ import annotations

import math
import os
import pathlib
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import attrs
import numpy as np
import pytest

import fnn
from fnn.engine.plan import plan
from fnn.engine.step import Batch

from conftest import assert_same

OPTIMIZERS = [lambda: fnn.sgd(0.3), lambda: fnn.momentum(0.1), lambda: fnn.rmsprop(0.01), lambda: fnn.adam(0.01),
              lambda: fnn.sgd(fnn.schedules.step_decay(0.5, 0.5, 2))]
NETS = [
    ("relu", "sigmoid", None, 0.0, True),
    ("tanh", "softmax", None, 0.1, True),
    ("leaky_relu", "identity", "mean_squared_error", 0.05, True),
    ("sigmoid", "sigmoid", "sum_of_squares", 0.0, False),
    ("identity", "tanh", "mean_squared_error", 0.0, True),
    ("selu", "softplus", "mean_squared_error", 0.1, True),
    ("gelu", "silu", "sum_of_squares", 0.0, False),
    ("elu", "softmax", None, 0.0, True),
]


def build(hidden, output, loss, l2, bias, n_out):
    acts = [hidden, hidden, output]
    sizes = [2, 6, 5, n_out]
    return fnn.Network(tuple(fnn.Dense(a, b, g, bias) for a, b, g in zip(sizes, sizes[1:], acts)),
                       loss or fnn.network([2, n_out], output=output).loss, l2)


def by_the_stages(net, opt, state, X, Y):
    """One step as the four public stages and the optimizer's public update."""
    dtype = state.params.dtype
    X, Y = X.astype(dtype), Y.astype(dtype)
    _, cache = fnn.forward(net, state.params, X)
    J = fnn.cost(net, state.params, cache, Y)
    grads = fnn.backward(net, state.params, cache, Y)
    params, opt_state = opt.update(state.params, grads, state.opt_state)
    return fnn.TrainState(params, opt_state, state.step + 1, J)


@pytest.mark.parametrize("rows", [12, 40])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("make_opt", OPTIMIZERS)
@pytest.mark.parametrize("hidden, output, loss, l2, bias", NETS)
def test_the_engine_follows_the_plain_stages(moons, hidden, output, loss, l2, bias, make_opt, dtype, rows):
    """Bit for bit in row order (12 rows); in column order (40 rows: at least 4x the widest layer),
    where the products sum in another order, to a few ulps."""
    X, y = moons
    X, y = X[:rows], y[:rows]
    n_out = 3 if output == "softmax" else 1
    net = build(hidden, output, loss, l2, bias, n_out)
    exact = plan(net).order(rows) == "C"
    assert exact == (rows == 12)
    Y = fnn.targets(net, y if output != "softmax" else np.arange(len(y)) % 3).astype(float)
    opt = make_opt()
    a = b = fnn.init_state(fnn.init_params(net, seed=2, dtype=dtype), opt)
    step = fnn.train_step(net, opt)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    for _ in range(4):
        a, b = step(a, (X, Y)), by_the_stages(net, opt, b, X, Y)
        if exact:
            assert_same(a.params, b.params)
        else:  # to rtol of each layer's largest entry: a product's rounding, not its cancellation
            for (Wa, ba), (Wb, bb) in zip(a.params.pairs(), b.params.pairs()):
                for u, v in ((Wa, Wb), (ba, bb)):
                    np.testing.assert_allclose(u, v, rtol=rtol, atol=rtol * np.abs(v).max())
        assert type(a.loss) is type(b.loss) and a.step == b.step
        assert a.loss == b.loss if exact else math.isclose(a.loss, b.loss, rel_tol=rtol)
        assert type(a.opt_state) is type(b.opt_state) and a.opt_state.count == b.opt_state.count


@pytest.mark.parametrize("make", OPTIMIZERS + [lambda: fnn.Optimizer(fnn.adam(0.01).init, fnn.adam(0.01).update)])
@pytest.mark.parametrize("batch_size", [None, 7])
def test_a_fold_and_single_steps_run_the_same_program_bit_for_bit(make, batch_size):
    """Column order (a tall full batch, the first layer augmented) and row order with a short last batch."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((60, 3))
    y = (X[:, 0] > X[:, 1]).astype(int)
    net = fnn.network([3, 4, 5, 2], hidden="tanh", output="softmax", l2=0.05)
    params, opt = fnn.init_params(net, seed=2), make()
    data = list(fnn.batches(X, fnn.targets(net, y), batch_size=batch_size, epochs=4, seed=5))
    step = fnn.train_step(net, opt)
    trail = list(fnn.scan(step, data, fnn.init_state(params, opt)))
    by_hand = fnn.init_state(params, opt)
    for batch in data:
        by_hand = step(by_hand, (np.array(batch[0]), np.array(batch[1])))  # foreign, writable arrays: checked in full
    folded = fnn.fold(step, data, fnn.init_state(params, opt))
    result = fnn.fit(net, X, y, optimizer=opt, epochs=4, batch_size=batch_size, seed=5, params=params)
    for end in (by_hand, folded, result.state):
        assert_same(trail[-1].params, end.params)
        assert end.loss == trail[-1].loss and end.step == trail[-1].step
    np.testing.assert_array_equal(result.losses, [s.loss for s in trail[1:]])


def test_a_custom_optimizer_runs_through_its_update(moons):
    X, y = moons
    net = fnn.network([2, 4, 1], "tanh")
    sgd = fnn.sgd(0.2)
    custom = fnn.Optimizer(sgd.init, lambda p, g, s: (fnn.update(p, g, 0.2), type(s)(s.count + 1)))
    p = fnn.init_params(net, seed=0)
    a = fnn.fit(net, X, y, sgd, epochs=3, params=p)
    b = fnn.fit(net, X, y, custom, epochs=3, params=p)
    assert_same(a.state.params, b.state.params)
    np.testing.assert_array_equal(a.losses, b.losses)


def test_an_optimizer_that_keeps_its_gradients_gets_records_of_its_own(moons):
    @attrs.frozen(eq=False)
    class Kept:
        count: int
        g: np.ndarray

    def update(params, grads, state):
        return fnn.update(params, grads, 0.1), Kept(state.count + 1, grads.flat)

    opt = fnn.Optimizer(lambda params: Kept(0, np.zeros(params.flat.size)), update)
    X, y = moons
    net = fnn.network([2, 4, 1], "tanh")
    trail = list(fnn.scan(fnn.train_step(net, opt), fnn.batches(X, fnn.targets(net, y), epochs=3),
                          fnn.init_state(fnn.init_params(net), opt)))
    kept = [s.opt_state.g for s in trail[1:]]
    assert all(not np.shares_memory(a, b) for a, b in zip(kept, kept[1:]))
    assert not np.array_equal(kept[0], kept[2])


def test_every_state_of_a_trail_stays_intact_while_training_goes_on(moons):
    """Slots and pooled arrays are reused only when nobody sees them: kept states never change."""
    X, y = moons
    X, y = np.tile(X, (20, 1)), np.tile(y, 20)  # 800 rows: arrays big enough for the pool
    net = fnn.network([2, 32, 32, 1], "relu")
    opt = fnn.adam(0.01)
    Y = fnn.targets(net, y)
    step = fnn.train_step(net, opt)
    trail = list(fnn.scan(step, fnn.batches(X, Y, epochs=6), fnn.init_state(fnn.init_params(net), opt)))
    copies = [(s.params.flat.copy(), s.opt_state.mu.copy(), s.opt_state.nu.copy()) for s in trail]
    more = fnn.fold(step, fnn.batches(X, Y, epochs=20), trail[-1])
    again = fnn.fit(net, X, y, opt, epochs=20, state=trail[-1])
    assert more.step == again.state.step == 26
    assert_same(more.params, again.state.params)
    for s, (p, mu, nu) in zip(trail, copies):
        np.testing.assert_array_equal(s.params.flat, p)
        np.testing.assert_array_equal(s.opt_state.mu, mu)
        np.testing.assert_array_equal(s.opt_state.nu, nu)
        assert not s.params.flat.flags.writeable and not s.opt_state.mu.flags.writeable
        assert all(not a.flags.writeable for pair in s.params.pairs() for a in pair)


def test_the_step_does_not_touch_its_arguments(moons):
    X, y = moons
    net = fnn.network([2, 5, 1], "relu")
    opt = fnn.momentum(0.1)
    state = fnn.init_state(fnn.init_params(net), opt)
    Y = fnn.targets(net, y)
    before = (X.copy(), Y.copy(), state.params.flat.copy(), state.opt_state.velocity.copy())
    new = fnn.train_step(net, opt)(state, (X, Y))
    for old, now in zip(before, (X, Y, state.params.flat, state.opt_state.velocity)):
        np.testing.assert_array_equal(old, now)
    assert X.flags.writeable and Y.flags.writeable
    assert not np.shares_memory(new.params.flat, state.params.flat)


def test_params_from_flat_copies_a_writable_vector_and_never_flags_it():
    flat = np.arange(9.0)
    p = fnn.Params.from_flat(flat, (((2, 3), (3,)),))
    assert flat.flags.writeable and not np.shares_memory(p.flat, flat)
    flat[0] = 99.0
    assert p.layers[0].W[0, 0] == 0.0 and not p.flat.flags.writeable
    with pytest.raises(ValueError, match=r"flat: expected shape \(9,\)"):
        fnn.Params.from_flat(np.arange(8.0), (((2, 3), (3,)),))


def test_params_from_flat_build_their_layers_on_first_use():
    net = fnn.network([3, 4, 2], output="softmax")
    p = fnn.init_params(net, seed=1)
    assert p.is_flat and p.shapes == net.shapes
    W, b = p.pairs()[0]
    np.testing.assert_array_equal(p.layers[0].W, W)
    assert np.shares_memory(p.layers[1].b, p.flat) and not p.layers[1].b.flags.writeable
    assert repr(p).startswith("Params(layers=(LayerParams(W=array(")
    hand = fnn.Params(p.layers)
    assert not hand.is_flat and hand.shapes == p.shapes
    np.testing.assert_array_equal(hand.flat, p.flat)
    with pytest.raises(TypeError, match="layers: expected a tuple of LayerParams"):
        fnn.Params()
    other = fnn.init_params(net, seed=2)
    evolved = attrs.evolve(p, layers=other.layers)
    np.testing.assert_array_equal(evolved.flat, other.flat)


def test_the_step_rejects_bad_input_naming_it(moons):
    X, y = moons
    net = fnn.network([2, 3, 1])
    opt = fnn.sgd(0.1)
    step = fnn.train_step(net, opt)
    state = fnn.init_state(fnn.init_params(net), opt)
    Y = fnn.targets(net, y)
    with pytest.raises(TypeError, match="state: expected a TrainState"):
        step(state.params, (X, Y))
    with pytest.raises(ValueError, match="X: expected shape"):
        step(state, (X[:, :1], Y))
    with pytest.raises(ValueError, match=r"Y: expected shape \(40, 1\)"):
        step(state, (X, y))
    with pytest.raises(TypeError, match="opt_state: expected a SgdState"):
        step(fnn.init_state(state.params, fnn.adam()), (X, Y))
    with pytest.raises(TypeError, match=r"batch: expected \(X, Y\) or \(X, Y, sample_weight\)"):
        step(state, X)
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"X: expected finite values, got nan at index \(3, 1\)"):
        step(state, (bad, Y))
    with pytest.raises(ValueError, match=r"X: expected finite values"):
        fnn.batches(bad, Y)
    Yb = Y.copy()
    Yb[0, 0] = np.inf
    with pytest.raises(ValueError, match=r"Y: expected finite values"):
        step(state, (X, Yb))


def test_batches_from_fnn_batches_are_checked_once_where_they_entered(moons, monkeypatch):
    """A step checks a Batch of the right widths in O(1); a foreign pair is checked in full."""
    X, y = moons
    net = fnn.network([2, 3, 2], output="softmax")
    opt = fnn.sgd(0.1)
    step = fnn.train_step(net, opt)
    state = fnn.init_state(fnn.init_params(net), opt)
    data = list(fnn.batches(X, fnn.targets(net, y), batch_size=8, epochs=2))
    assert all(type(b) is Batch and b.probabilities for b in data)
    scans = []
    monkeypatch.setattr(fnn.checks, "finite", lambda name, arr: scans.append(name) or arr)
    fnn.fold(step, data, state)
    assert scans == []
    step(state, (np.array(data[0][0]), np.array(data[0][1])))
    assert scans == ["X", "Y"]
    wrong = fnn.batches(X, np.full((40, 2), 0.7))  # not probabilities: refused when a step meets them
    with pytest.raises(ValueError, match="Y: expected rows of probabilities"):
        fnn.fold(step, wrong, state)


def test_fit_rejects_target_rows_that_are_not_probabilities(moons):
    X, _ = moons
    net = fnn.network([2, 3, 2], output="softmax")
    with pytest.raises(ValueError, match="y: expected rows of probabilities"):
        fnn.fit(net, X, np.full((40, 2), 0.7), epochs=1)


def test_a_non_finite_update_raises_with_the_state_it_was_given():
    X = np.array([[1.0, 2.0], [3.0, 4.0]])
    net = fnn.network([2, 2, 1], "identity", "identity")
    opt = fnn.sgd(1e308)
    state = fnn.init_state(fnn.init_params(net, seed=0), opt)
    step = fnn.train_step(net, opt)
    with pytest.raises(fnn.DivergenceError) as err:
        step(state, (X, np.array([[1.0], [2.0]])))
    assert err.value.state is state and err.value.step == 0 and math.isfinite(err.value.cost)
    assert sum(len(free) for free in step.spaces.free.values()) == 1  # the workspace came back


def test_a_diverging_fold_raises_with_the_state_it_reached_bit_for_bit():
    net = fnn.network([1, 3, 1], "tanh", "identity")
    X = np.linspace(-1, 1, 10)[:, None]
    y = 3 * X[:, 0]
    opt = fnn.sgd(fnn.schedules.step_decay(0.1, 1e306, 3))  # 0.1, 0.1, 0.1, then 1e305
    params = fnn.init_params(net, seed=1)
    with pytest.raises(fnn.DivergenceError) as err:
        fnn.fit(net, X, y, opt, epochs=10, params=params)
    k = err.value.step
    assert k in (3, 4)  # the update at step 3 (lr 1e305) or the cost after it
    before = fnn.fit(net, X, y, opt, epochs=k, params=params).state
    assert_same(err.value.state.params, before.params)
    assert err.value.state.step == k and not err.value.state.params.flat.flags.writeable


def test_one_step_used_from_several_threads_gives_the_sequential_results(moons):
    X, y = moons
    net = fnn.network([2, 16, 1], "relu")
    opt = fnn.adam(0.01)
    step = fnn.train_step(net, opt)
    starts = [fnn.init_state(fnn.init_params(net, seed=s), opt) for s in range(8)]
    data = list(fnn.batches(X, fnn.targets(net, y), batch_size=10, epochs=5))
    alone = [fnn.fold(step, data, s) for s in starts]
    barrier = threading.Barrier(4)

    def run(s):
        barrier.wait(timeout=10) if s.params is starts[0].params or True else None
        return fnn.fold(step, data, s), [step(s, b) for b in data[:3]]

    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(run, starts[:4])) + list(pool.map(lambda s: (fnn.fold(step, data, s), None), starts[4:]))
    for a, (b, singles) in zip(alone, together):
        assert_same(a.params, b.params)
        assert a.loss == b.loss
    firsts = [step(s, data[0]) for s in starts[:4]]
    for (_, singles), first in zip(together[:4], firsts):
        assert_same(singles[0].params, first.params)


STEADY_STATE = """
import resource, numpy as np, fnn
rng = np.random.default_rng(0)
X = rng.standard_normal((900, 2))
y = (X[:, 0] > 0).astype(int)
net = fnn.network([2, 64, 64, 1], "relu")
opt = fnn.adam(0.01)
state = fnn.fit(net, X, y, opt, epochs=3, batch_size=300).state
step = fnn.train_step(net, opt)
data = fnn.batches(X, fnn.targets(net, y), batch_size=300, epochs=100)
state = fnn.fold(step, fnn.batches(X, fnn.targets(net, y), batch_size=300, epochs=3), state)
faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
fnn.fold(step, data, state)  # 300 steps
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults)
"""


def test_steady_state_training_does_not_page_fault():
    """After a warm-up an epoch of fit, or of a fold of train_step, takes a few page faults at most
    (arrays come from workspaces and the pool, whatever the allocator's mood). Measured in a fresh
    process, as a user's script runs: inside this test process the heap that two thousand earlier
    tests left behind faults a page now and then on its own."""
    root = pathlib.Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", STEADY_STATE], capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONPATH": str(root), "OPENBLAS_NUM_THREADS": "1"})
    assert int(done.stdout.split()[-1]) < 30


def test_a_mid_epoch_state_continues_exactly():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((30, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    net = fnn.network([2, 8, 1], "tanh")
    params = fnn.init_params(net, seed=3)
    whole = fnn.fit(net, X, y, fnn.adam(0.01), epochs=4, batch_size=7, params=params)  # 5 batches an epoch
    for cut in (3, 5, 13):
        head = fnn.fold(fnn.train_step(net, fnn.adam(0.01)),
                        list(fnn.batches(X, fnn.targets(net, y), batch_size=7, epochs=4))[:cut],
                        fnn.init_state(params, fnn.adam(0.01)))
        rest = fnn.fit(net, X, y, epochs=4 - cut // 5, batch_size=7, state=head)
        assert rest.state.step == 20
        assert_same(rest.state.params, whole.state.params)
        np.testing.assert_array_equal(rest.losses, whole.losses[cut:])
