"""train_step runs the stages' kernels without records: the same states, bit for bit, and pure."""
from __future__ import annotations

import math
import resource

import attrs
import numpy as np
import pytest

import fnn

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
    return fnn.Network(tuple(fnn.Dense(a, b, g, bias) for a, b, g in zip(sizes, sizes[1:], acts)), loss or fnn.network([2, n_out], output=output).loss, l2)


def by_the_stages(net, opt, state, X, Y):
    """One step as the four public stages and the optimizer's public update."""
    dtype = state.params.dtype
    X, Y = X.astype(dtype), Y.astype(dtype)
    _, cache = fnn.forward(net, state.params, X)
    J = fnn.cost(net, state.params, cache, Y)
    grads = fnn.backward(net, state.params, cache, Y)
    params, opt_state = opt.update(state.params, grads, state.opt_state)
    return fnn.TrainState(params, opt_state, state.step + 1, J)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("make_opt", OPTIMIZERS)
@pytest.mark.parametrize("hidden, output, loss, l2, bias", NETS)
def test_train_step_gives_the_stages_state_bit_for_bit(moons, hidden, output, loss, l2, bias, make_opt, dtype):
    X, y = moons
    n_out = 3 if output == "softmax" else 1
    net = build(hidden, output, loss, l2, bias, n_out)
    Y = fnn.targets(net, y if output != "softmax" else np.arange(len(y)) % 3).astype(float)
    opt = make_opt()
    a = b = fnn.init_state(fnn.init_params(net, seed=2, dtype=dtype), opt)
    step = fnn.train_step(net, opt)
    for _ in range(4):
        a, b = step(a, (X, Y)), by_the_stages(net, opt, b, X, Y)
        assert_same(a.params, b.params)
        assert a.loss == b.loss and type(a.loss) is type(b.loss) and a.step == b.step
        assert type(a.opt_state) is type(b.opt_state) and a.opt_state.count == b.opt_state.count


def test_a_custom_optimizer_without_a_kernel_runs_through_its_update(moons):
    X, y = moons
    net = fnn.network([2, 4, 1], "tanh")
    sgd = fnn.sgd(0.2)
    custom = fnn.Optimizer(sgd.init, sgd.update)
    assert custom.kernel is None
    p = fnn.init_params(net, seed=0)
    a = fnn.fit(net, X, y, sgd, epochs=3, params=p)
    b = fnn.fit(net, X, y, custom, epochs=3, params=p)
    assert_same(a.state.params, b.state.params)
    np.testing.assert_array_equal(a.losses, b.losses)


def test_every_state_of_a_trail_stays_intact_while_training_goes_on(moons):
    """The pool reuses only dead arrays: states kept alive are never overwritten."""
    X, y = moons
    X = np.tile(X, (20, 1))  # 800 rows: activations big enough for the pool
    y = np.tile(y, 20)
    net = fnn.network([2, 32, 32, 1], "relu")
    opt = fnn.adam(0.01)
    Y = fnn.targets(net, y)
    trail = list(fnn.scan(fnn.train_step(net, opt), fnn.batches(X, Y, epochs=6), fnn.init_state(fnn.init_params(net), opt)))
    copies = [(s.params.flat.copy(), s.opt_state.mu.copy(), s.opt_state.nu.copy()) for s in trail]
    more = fnn.fit(net, X, y, opt, epochs=20, state=trail[-1])
    assert more.state.step == 26
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
    assert new.params.flat is not state.params.flat and not np.shares_memory(new.params.flat, state.params.flat)


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
    np.testing.assert_array_equal(evolved.pairs()[0][0], other.layers[0].W)


def test_the_checked_step_rejects_bad_input_naming_it(moons):
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
    with pytest.raises(fnn.DivergenceError) as err:
        fnn.train_step(net, opt)(state, (X, np.array([[1.0], [2.0]])))
    assert err.value.state is state and err.value.step == 0 and math.isfinite(err.value.cost)


def test_steady_state_training_does_not_page_fault():
    """Big activations come from the pool: after a warm-up an epoch takes a few page faults at most
    (without the pool: hundreds, depending on the allocator's mood; BLAS calls may take a couple)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((900, 2))
    y = (X[:, 0] > 0).astype(int)
    net = fnn.network([2, 64, 64, 1], "relu")
    params = fnn.init_params(net)
    state = fnn.fit(net, X, y, fnn.sgd(0.01), epochs=3, params=params).state
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    fnn.fit(net, X, y, fnn.sgd(0.01), epochs=100, state=state)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults < 1000


def test_a_kernel_that_keeps_its_gradients_gets_fresh_ones(moons):
    """Only kernels marked ``borrows_grads`` are handed the step's reused gradient buffer."""
    from fnn.optimizers import Kernel

    @attrs.frozen(eq=False)
    class Kept:
        count: int
        g: np.ndarray

    def apply(p, g, state):
        return p - 0.1 * g, Kept(state.count + 1, g)

    opt = fnn.Optimizer(lambda params: Kept(0, np.zeros(params.flat.size)), None, kernel=Kernel(Kept, apply))
    assert not opt.kernel.borrows_grads and fnn.sgd(0.1).kernel.borrows_grads
    X, y = moons
    net = fnn.network([2, 4, 1], "tanh")
    trail = list(fnn.scan(fnn.train_step(net, opt), fnn.batches(X, fnn.targets(net, y), epochs=3),
                          fnn.init_state(fnn.init_params(net), opt)))
    kept = [s.opt_state.g for s in trail[1:]]
    assert all(not np.shares_memory(a, b) for a, b in zip(kept, kept[1:]))
    assert not np.array_equal(kept[0], kept[2])
