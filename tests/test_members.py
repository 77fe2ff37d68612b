"""Stacked members: member k of every stacked record, stage and run equals the single one with seed s_k."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fnn
from fnn.engine import members as engine_members
from fnn.members import StackedGrads, StackedParams, StackedState, stack, unstack

SEEDS = [3, 0, 7]


def rel(a, b) -> float:
    """``max |a - b| / max |b|``: the relative distance the equivalence tests bound."""
    return float(np.abs(np.asarray(a) - np.asarray(b)).max() / max(np.abs(np.asarray(b)).max(), 1e-300))


def data(n_in: int, n_out: int, loss: str, m: int = 24, seed: int = 0):
    """``X (m, n_in)`` and targets fit for ``loss``."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, n_in))
    if loss == "categorical_cross_entropy":
        return X, rng.integers(0, n_out, m)
    if loss == "binary_cross_entropy":
        return X, (rng.random((m, n_out)) > 0.5).astype(float)
    return X, rng.standard_normal((m, n_out))


OUTPUTS = {"binary_cross_entropy": "sigmoid", "categorical_cross_entropy": "softmax",
           "mean_squared_error": "identity", "sum_of_squares": "tanh"}
OPTIMIZERS = {"sgd": lambda lr: fnn.sgd(lr), "momentum": lambda lr: fnn.momentum(lr, 0.8),
              "rmsprop": lambda lr: fnn.rmsprop(lr), "adam": lambda lr: fnn.adam(lr)}
RATES = {"sgd": 0.1, "momentum": 0.1, "rmsprop": 0.01, "adam": 0.01}


def small_net(loss: str, bias: bool, l2: float, sizes=(3, 5, 2)) -> fnn.Network:
    n_out = 2 if loss == "categorical_cross_entropy" else sizes[-1]
    widths = list(sizes[:-1]) + [n_out]
    layers = [fnn.Dense(a, b, "tanh", bias) for a, b in zip(widths[:-2], widths[1:-1])]
    layers.append(fnn.Dense(widths[-2], widths[-1], OUTPUTS[loss], bias))
    return fnn.Network(tuple(layers), loss, l2)


# --- records ---------------------------------------------------------------------------------


def test_init_params_with_seeds_stacks_the_members():
    net = fnn.network([2, 4, 3, 1])
    p = fnn.init_params(net, seed=SEEDS, scheme="glorot")
    assert isinstance(p, StackedParams) and p.members == 3 and p.flat.shape == (3, net.n_params)
    assert p.layers[0].W.shape == (3, 2, 4) and p.layers[1].b.shape == (3, 3)
    assert not p.flat.flags.writeable and not p.layers[0].W.flags.writeable
    for k, s in enumerate(SEEDS):
        np.testing.assert_array_equal(p.flat[k], fnn.init_params(net, seed=s, scheme="glorot").flat)
        np.testing.assert_array_equal(p.layers[1].W[k], fnn.init_params(net, seed=s, scheme="glorot").layers[1].W)


@settings(max_examples=20, deadline=None)
@given(seeds=st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=6))
def test_unstack_inverts_stack_for_any_seeds(seeds):
    net = fnn.network([3, 2, 2], output="softmax")
    singles = [fnn.init_params(net, seed=s) for s in seeds]
    stacked = stack(singles)
    for a, b in zip(unstack(stacked), singles):
        np.testing.assert_array_equal(a.flat, b.flat)
    np.testing.assert_array_equal(stack(unstack(stacked)).flat, stacked.flat)


def test_stack_states_turns_differing_numbers_into_per_member_hyperparameters():
    net = fnn.network([2, 3, 1])
    states = [fnn.init_state(fnn.init_params(net, seed=s), fnn.adam(lr)) for s, lr in zip(SEEDS, (1e-3, 2e-3, 3e-3))]
    state = stack(states)
    assert isinstance(state, StackedState) and state.loss.shape == (3,) and state.alive.all()
    hyper = dict(state.optimizer.hyperparams)
    np.testing.assert_array_equal(hyper["learning_rate"], [1e-3, 2e-3, 3e-3])
    assert hyper["beta1"] == 0.9
    back = unstack(state)
    assert dict(back[1].optimizer.hyperparams)["learning_rate"].lr == 2e-3


def test_stack_refuses_what_is_not_one_network():
    with pytest.raises(ValueError, match="items\\[1\\]: expected shapes"):
        stack([fnn.init_params(fnn.network([2, 3, 1])), fnn.init_params(fnn.network([2, 4, 1]))])
    with pytest.raises(ValueError, match="items: expected at least one"):
        stack([])
    with pytest.raises(TypeError, match="items: expected a sequence"):
        stack(fnn.init_params(fnn.network([2, 3, 1])))
    with pytest.raises(TypeError, match="x: expected a stacked"):
        unstack(fnn.init_params(fnn.network([2, 3, 1])))


# --- the plain stages on stacked params -------------------------------------------------------


@pytest.mark.parametrize("shared", [True, False])
def test_stacked_stages_are_the_plain_stages_per_member(shared):
    net = small_net("categorical_cross_entropy", True, 0.05)
    sp = fnn.init_params(net, seed=SEEDS)
    rng = np.random.default_rng(1)
    Xs = [rng.standard_normal((6, 3)) for _ in SEEDS]
    Ys = [fnn.targets(net, rng.integers(0, 2, 6)) for _ in SEEDS]
    X, Y = (Xs[0], Ys[0]) if shared else (np.stack(Xs), np.stack(Ys))
    AL, cache = fnn.forward(net, sp, X)
    J, g = fnn.cost(net, sp, cache, Y), fnn.backward(net, sp, cache, Y)
    assert AL.shape == (3, 6, 2) and J.shape == (3,) and isinstance(g, StackedGrads)
    lr = np.array([0.1, 0.2, 0.3])
    new = fnn.update(sp, g, lr)
    for k, p in enumerate(unstack(sp)):
        x, y = (Xs[0], Ys[0]) if shared else (Xs[k], Ys[k])
        A1, c1 = fnn.forward(net, p, x)
        np.testing.assert_array_equal(AL[k], A1)
        assert J[k] == fnn.cost(net, p, c1, y)
        np.testing.assert_array_equal(g.flat[k], fnn.backward(net, p, c1, y).flat)
        np.testing.assert_array_equal(new.flat[k], fnn.update(p, fnn.backward(net, p, c1, y), lr[k]).flat)
        np.testing.assert_array_equal(fnn.predict(net, sp, X)[k], fnn.predict(net, p, x))
    checks = fnn.gradient_check(net, sp, X, Y)
    assert checks.shape == (3,) and (checks < 1e-6).all()


def test_stacked_stages_name_bad_member_axes():
    net = fnn.network([2, 3, 1])
    sp = fnn.init_params(net, seed=[0, 1])
    with pytest.raises(ValueError, match="X: expected a shared array"):
        fnn.forward(net, sp, np.zeros((3, 4, 2)))
    with pytest.raises(ValueError, match="learning_rate: expected"):
        fnn.update(sp, fnn.backward(net, sp, fnn.forward(net, sp, np.zeros((4, 2)))[1], np.zeros((4, 1))), [0.1, 0.2, 0.3])


# --- training: member k equals the single run with seed s_k ----------------------------------


CASES = [(opt, loss, bias, l2) for opt, loss, (bias, l2) in
         itertools.product(OPTIMIZERS, OUTPUTS, [(True, 0.0), (False, 0.1), (True, 0.1)])]


@pytest.mark.parametrize("opt,loss,bias,l2", CASES)
@pytest.mark.parametrize("batch_size", [None, 8])
def test_member_k_equals_the_single_fit_with_seed_k(opt, loss, bias, l2, batch_size):
    net = small_net(loss, bias, l2)
    X, y = data(3, net.layers[-1].n_out, loss)
    epochs = 20 if batch_size is None else 7  # 20 (21) steps
    lr = RATES[opt] / (len(X) if loss == "sum_of_squares" and opt in ("sgd", "momentum") else 1)  # stable, not chaotic
    stacked = fnn.fit(net, X, y, OPTIMIZERS[opt](lr), epochs=epochs, batch_size=batch_size, seed=SEEDS)
    assert stacked.losses.shape == (epochs * (1 if batch_size is None else 3), 3)
    assert stacked.state.alive.all()
    for k, s in enumerate(SEEDS):
        single = fnn.fit(net, X, y, OPTIMIZERS[opt](lr), epochs=epochs, batch_size=batch_size, seed=s)
        assert rel(stacked.state.params.flat[k], single.state.params.flat) <= 1e-10
        np.testing.assert_allclose(stacked.losses[:, k], single.losses, rtol=1e-10)


@pytest.mark.parametrize("batch_size", [None, 16])
def test_large_layers_run_one_blas_call_per_member_and_agree(batch_size):
    net = fnn.network([8, 64, 64, 3], output="softmax", l2=0.01)
    ws = engine_members.MembersSpace(engine_members.plan(net), 2, 16, np.dtype(np.float64), False)
    assert ws.kernels == ["stacked", "blas", "stacked"]
    X, y = data(8, 3, "categorical_cross_entropy", m=48)
    stacked = fnn.fit(net, X, y, fnn.adam(1e-2), epochs=7, batch_size=batch_size, seed=SEEDS[:2])
    for k, s in enumerate(SEEDS[:2]):
        single = fnn.fit(net, X, y, fnn.adam(1e-2), epochs=7, batch_size=batch_size, seed=s)
        assert rel(stacked.state.params.flat[k], single.state.params.flat) <= 1e-10


@pytest.mark.parametrize("make,key,values", [
    (lambda v: fnn.adam(v), "learning_rate", [1e-3, 3e-3, 1e-2]),
    (lambda v: fnn.momentum(0.1, beta=v), "beta", [0.0, 0.5, 0.9]),
    (lambda v: fnn.rmsprop(0.01, eps=v), "eps", [1e-8, 1e-3, 0.1]),
    (lambda v: fnn.adam(1e-2, beta2=v), "beta2", [0.9, 0.99, 0.999]),
])
def test_per_member_hyperparameters_equal_single_runs(make, key, values):
    net = small_net("binary_cross_entropy", True, 0.0)
    X, y = data(3, 2, "binary_cross_entropy")
    stacked = fnn.fit(net, X, y, make(np.array(values)), epochs=20, seed=SEEDS)
    np.testing.assert_array_equal(dict(stacked.state.optimizer.hyperparams)[key], values)
    for k, (s, v) in enumerate(zip(SEEDS, values)):
        single = fnn.fit(net, X, y, make(v), epochs=20, seed=s)
        assert rel(stacked.state.params.flat[k], single.state.params.flat) <= 1e-10


def test_per_member_hyperparameters_are_checked():
    with pytest.raises(ValueError, match="learning_rate: expected a number or a 1-D array"):
        fnn.sgd(np.array([0.1, -1.0]))
    with pytest.raises(ValueError, match="beta: expected"):
        fnn.momentum(0.1, beta=np.array([[0.9]]))
    net = fnn.network([2, 3, 1])
    X, y = data(2, 1, "binary_cross_entropy")
    with pytest.raises(ValueError, match="optimizer: expected per-member hyperparameters for the state's 2 members, got 3"):
        fnn.fit(net, X, y, fnn.sgd(np.array([0.1, 0.2, 0.3])), seed=[0, 1])
    with pytest.raises(TypeError, match="per member, 3 of them"):
        fnn.fit(net, X, y, fnn.sgd(np.array([0.1, 0.2, 0.3])), seed=0)


def test_a_diverging_member_is_frozen_and_marked_while_the_others_go_on():
    net = fnn.network([2, 3, 1], hidden="identity", output="identity")
    X = np.random.default_rng(0).random((20, 2)) * 10
    y = (X[:, 0] > X[:, 1]).astype(float)
    rates = [0.001, 1.0, 0.01]
    r = fnn.fit(net, X, y, fnn.sgd(np.array(rates)), epochs=30, seed=[0, 1, 2])
    with pytest.raises(fnn.DivergenceError) as err:
        fnn.fit(net, X, y, fnn.sgd(1.0), epochs=30, seed=1)
    assert r.state.diverged.tolist() == [-1, err.value.step, -1]
    assert r.state.alive.tolist() == [True, False, True]
    assert np.isnan(r.losses[err.value.step:, 1]).all() and np.isfinite(r.losses[:err.value.step, 1]).all()
    assert rel(r.state.params.flat[1], err.value.state.params.flat) <= 1e-10
    for k in (0, 2):
        single = fnn.fit(net, X, y, fnn.sgd(rates[k]), epochs=30, seed=k)
        assert rel(r.state.params.flat[k], single.state.params.flat) <= 1e-10


def test_train_step_on_a_stacked_state_equals_the_fold_and_leaves_its_input_alone():
    net = small_net("mean_squared_error", True, 0.0)
    X, y = data(3, 2, "mean_squared_error")
    Y = fnn.targets(net, y)
    opt = fnn.momentum(0.05)
    state = fnn.init_state(fnn.init_params(net, seed=SEEDS), opt)
    before = state.params.flat.copy()
    step = fnn.train_step(net, opt)
    s = state
    for _ in range(3):
        s = step(s, (X, Y))
    folded = fnn.fold(step, fnn.batches(X, Y, epochs=3), state)
    np.testing.assert_array_equal(s.params.flat, folded.params.flat)
    np.testing.assert_array_equal(s.loss, folded.loss)
    assert s.loss.shape == (3,) and s.step == 3 and not s.params.flat.flags.writeable
    np.testing.assert_array_equal(state.params.flat, before)


def test_stacked_steps_take_per_member_batches():
    net = small_net("binary_cross_entropy", True, 0.0)
    rng = np.random.default_rng(5)
    Xs, Ys = rng.standard_normal((3, 10, 3)), (rng.random((3, 10, 2)) > 0.5).astype(float)
    state = fnn.init_state(fnn.init_params(net, seed=SEEDS), fnn.sgd(0.3))
    out = fnn.train_step(net, fnn.sgd(0.3))(state, (Xs, Ys))
    for k, member in enumerate(unstack(state)):
        single = fnn.train_step(net, fnn.sgd(0.3))(member, (Xs[k], Ys[k]))
        assert rel(out.params.flat[k], single.params.flat) <= 1e-12
    with pytest.raises(ValueError, match="X: expected shape \\(m, 3\\) shared by the members or \\(K=3, m, 3\\)"):
        fnn.train_step(net, fnn.sgd(0.3))(state, (Xs[:2], Ys[:2]))


def test_fit_with_seeds_resumes_and_checkpoints_exactly(tmp_path):
    net = small_net("categorical_cross_entropy", True, 0.01)
    X, y = data(3, 2, "categorical_cross_entropy", m=30)
    opt = fnn.adam(np.array([1e-2, 3e-2, 1e-1]))
    whole = fnn.fit(net, X, y, opt, epochs=6, batch_size=7, seed=SEEDS)
    half = fnn.fit(net, X, y, opt, epochs=3, batch_size=7, seed=SEEDS)
    path = tmp_path / "members.npz"
    fnn.save(path, net, half.state)
    net2, loaded = fnn.load(path)
    assert net2 == net and isinstance(loaded, StackedState)
    np.testing.assert_array_equal(dict(loaded.optimizer.hyperparams)["learning_rate"], [1e-2, 3e-2, 1e-1])
    rest = fnn.fit(net, X, y, epochs=3, batch_size=7, seed=SEEDS, state=loaded)
    np.testing.assert_array_equal(rest.state.params.flat, whole.state.params.flat)
    np.testing.assert_array_equal(np.r_[half.losses, rest.losses], whole.losses)
    with pytest.raises(ValueError, match="seed: expected 3 seeds"):
        fnn.fit(net, X, y, epochs=1, seed=[0, 1], state=loaded)


def test_unstack_a_fit_result_gives_each_members_run():
    net = fnn.network([2, 3, 1])
    X, y = data(2, 1, "binary_cross_entropy")
    results = unstack(fnn.fit(net, X, y, fnn.sgd(0.5), epochs=4, seed=[1, 2]))
    assert [r.losses.shape for r in results] == [(4,), (4,)]
    single = fnn.fit(net, X, y, fnn.sgd(0.5), epochs=4, seed=2)
    np.testing.assert_allclose(results[1].losses, single.losses, rtol=1e-12)


def test_what_stacked_members_do_not_support_is_refused():
    net = fnn.network([2, 3, 1])
    X, y = data(2, 1, "binary_cross_entropy")
    with pytest.raises(ValueError, match="validation: expected None for stacked members"):
        fnn.fit(net, X, y, seed=[0, 1], validation=(X, y))
    with pytest.raises(ValueError, match="progress: expected False for stacked members"):
        fnn.fit(net, X, y, seed=[0, 1], progress=True)
    with pytest.raises(ValueError, match="seed: expected one int"):
        fnn.fit(net, X, y, seed=[])


def test_one_seed_for_stacked_params_gives_every_member_the_same_batches():
    net = small_net("binary_cross_entropy", True, 0.0)
    X, y = data(3, 2, "binary_cross_entropy")
    params = fnn.init_params(net, seed=SEEDS)
    stacked = fnn.fit(net, X, y, fnn.momentum(0.1), epochs=4, batch_size=8, seed=5, params=params)
    for k, p in enumerate(unstack(params)):
        single = fnn.fit(net, X, y, fnn.momentum(0.1), epochs=4, batch_size=8, seed=5, params=p)
        assert rel(stacked.state.params.flat[k], single.state.params.flat) <= 1e-10


def test_the_benchmark_times_members_against_single_fits(capsys):
    from tests.test_benchmark import load_benchmark

    bench = load_benchmark()
    rows = bench.main(["--members", "--quick"])
    assert [r["workload"] for r in rows] == ["W5", "W2", "W3"]
    assert all(r["member_step_us"] > 0 and r["single_step_us"] > 0 and r["diff"] <= 1e-8 for r in rows)
    assert "| W3 | 4 |" in capsys.readouterr().out


def test_stacked_records_pickle_and_copy_back_frozen():
    import copy
    import pickle

    net = fnn.network([2, 3, 1])
    X, y = data(2, 1, "binary_cross_entropy")
    state = fnn.fit(net, X, y, fnn.adam(np.array([0.01, 0.02])), epochs=3, seed=[0, 1]).state
    for back in (pickle.loads(pickle.dumps(state)), copy.deepcopy(state)):
        assert isinstance(back, StackedState) and isinstance(back.params, StackedParams)
        np.testing.assert_array_equal(back.params.flat, state.params.flat)
        np.testing.assert_array_equal(back.diverged, state.diverged)
        assert not back.params.flat.flags.writeable and not back.opt_state.mu.flags.writeable


def test_a_stacked_checkpoint_with_an_empty_per_member_list_is_refused(tmp_path):
    import json

    net = fnn.network([2, 3, 1])
    X, y = np.zeros((4, 2)), np.array([0, 1, 1, 0])
    result = fnn.fit(net, X, y, fnn.adam(np.array([1e-3, 1e-2])), epochs=1, seed=[0, 1])
    path = tmp_path / "s.npz"
    fnn.save(path, net, result.state)
    with np.load(path) as npz:
        arrays = dict(npz.items())
    header = json.loads(arrays["header"].tobytes())
    header["optimizer"]["hyperparams"]["learning_rate"] = []
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), np.uint8)
    np.savez(path, **arrays)
    with pytest.raises(fnn.CheckpointError, match="learning_rate: expected a non-empty list of numbers, one per member"):
        fnn.load(path)
