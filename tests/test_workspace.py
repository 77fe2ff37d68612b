"""The kernels' scratch: reused workspaces give the fresh path's results, bit for bit, and are lent to one step at a time."""
from __future__ import annotations

import threading

import numpy as np
import pytest

import fnn
from fnn.stages import input_product, plan, product, residual, run_backward, run_cost, run_forward, step_passes
from fnn.workspace import Workspace, Workspaces, augmented, decay_rates, order

NETS = [
    fnn.network([3, 5, 4, 1], hidden="relu", output="sigmoid"),
    fnn.network([3, 5, 4, 3], hidden="tanh", output="softmax", l2=0.3),
    fnn.Network((fnn.Dense(3, 4, "sigmoid", False), fnn.Dense(4, 1, "sigmoid", False)), "sum_of_squares"),
    fnn.Network((fnn.Dense(3, 4, "leaky_relu"), fnn.Dense(4, 2, "identity", False)), "mean_squared_error", 0.1),
]


def data(net, m=7, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, 3)).astype(dtype)
    n_out = net.layers[-1].n_out
    Y = np.eye(n_out)[rng.integers(0, n_out, m)] if net.loss == "categorical_cross_entropy" else rng.random((m, n_out))
    return X, Y.astype(dtype)


def test_a_workspace_holds_every_intermediate_of_the_plan():
    pl = plan(NETS[1])
    ws = Workspace(pl, 7, np.dtype(np.float32))
    assert [z.shape for z in ws.Z] == [a.shape for a in ws.A] == [d.shape for d in ws.dA] == [(7, 5), (7, 4), (7, 3)]
    assert all(a.dtype == np.float32 for a in ws.Z + ws.A + ws.dA)
    S, s = ws.aux[-1]  # softmax keeps its shifted inputs and row sums
    assert S.shape == (7, 3) and s.shape == (7,)
    assert ws.decay.shape == ws.rates.shape == ws.grad.shape == (pl.n_params,) and not ws.grad.any()
    assert Workspace(plan(NETS[0]), 2, np.dtype(np.float64)).decay is None  # no L2, no scratch for it


def test_decay_rates_put_l2_over_m_on_the_weights_and_nothing_on_the_biases():
    net = NETS[1]
    pl = plan(net)
    rates = decay_rates(pl, 8, np.dtype(np.float32))
    assert rates.dtype == np.float32 and not rates.flags.writeable
    params = fnn.Params.from_flat(rates.copy(), net.shapes)
    for layer in params.layers:
        np.testing.assert_array_equal(layer.W, np.float32(net.l2 / 8))
        np.testing.assert_array_equal(layer.b, 0)


@pytest.mark.parametrize("net", NETS, ids=lambda n: n.layers[-1].activation + "/" + n.loss)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("m", [7, 40])  # row order; column order with augmented layers
def test_kernels_in_a_reused_workspace_give_the_fresh_results_bit_for_bit(net, dtype, m):
    pl = plan(net)
    ws = Workspace(pl, m, np.dtype(dtype))
    for seed in range(3):  # the same workspace again and again: nothing stale carries over
        X, Y = data(net, m=m, seed=seed, dtype=dtype)
        params = fnn.init_params(net, seed=seed, dtype=dtype)
        flat = params.flat
        pairs = pl.views(flat)
        Zs, As = run_forward(pl, pairs, X)
        fresh_J = run_cost(pl, flat, Zs[-1], As[-1], Y)
        fresh_g = run_backward(pl, flat, pairs, X, Zs, As, Y)
        run_forward(pl, pairs, X, ws)
        J = run_cost(pl, flat, ws.Z[-1], ws.A[-1], Y, ws.aux[-1], ws)
        g = run_backward(pl, flat, pairs, X, ws.Z, ws.A, Y, ws)
        assert g is ws.grad and J == fresh_J and type(J) is type(fresh_J)
        np.testing.assert_array_equal(g, fresh_g)
        for Z, A, fZ, fA in zip(ws.Z, ws.A, Zs, As):
            np.testing.assert_array_equal(Z, fZ)
            np.testing.assert_array_equal(A, fA)


@pytest.mark.parametrize("net", NETS, ids=lambda n: n.layers[-1].activation + "/" + n.loss)
@pytest.mark.parametrize("m", [7, 40])
def test_passes_bound_once_give_every_batch_the_fresh_results_bit_for_bit(net, m):
    """What fit does: bind the passes to a workspace and a params vector once, run them batch after batch."""
    pl = plan(net)
    ws = Workspace(pl, m, np.dtype(np.float64))
    flat = fnn.init_params(net, seed=1).flat
    pairs = pl.views(flat)
    forward, backward = step_passes(pl, flat, ws)
    for seed in range(3):
        X, Y = data(net, m=m, seed=seed)
        Zs, As = run_forward(pl, pairs, X)
        fresh_g = run_backward(pl, flat, pairs, X, Zs, As, Y)
        forward(X)
        residual(ws.A[-1], Y, ws.dA[-1])
        backward(X)
        np.testing.assert_array_equal(ws.A[-1], As[-1])
        np.testing.assert_array_equal(ws.grad, fresh_g)


@pytest.mark.parametrize("layout", ["C", "F"])
def test_a_product_op_fills_an_out_of_either_order(layout):
    rng = np.random.default_rng(0)
    P, Q = rng.standard_normal((5, 3)), rng.standard_normal((3, 4))
    out = np.empty((5, 4), order=layout)
    f, args = product(P, Q, out)
    f(*args)
    np.testing.assert_allclose(out, P @ Q, rtol=1e-14)
    Z = np.empty((5, 4), order=layout)
    input_product(Q, Z)(P)
    np.testing.assert_array_equal(Z, out)


def test_tall_batches_through_narrow_layers_run_in_column_order_with_their_biases_in_the_products():
    pl = plan(NETS[1])  # 3-5-4-3, widest 5
    assert order(pl, 19) == "C" and order(pl, 20) == "F"
    assert augmented(pl, 19) == (False, False, False) and augmented(pl, 20) == (True, True, True)
    assert augmented(plan(NETS[3]), 100) == (True, False)  # its second layer has no bias
    assert augmented(plan(fnn.network([6, 2, 1])), 100) == (False, True)  # copying X would cost more than its bias add
    ws = Workspace(pl, 20, np.dtype(np.float64))
    assert all(a.flags.f_contiguous for a in ws.Z + ws.A + ws.dA + ws.blocks)
    assert [b.shape for b in ws.blocks] == [(20, 4), (20, 6), (20, 5)] and all((b[:, -1] == 1).all() for b in ws.blocks)
    assert all(np.shares_memory(b, a) for a, b in zip(ws.A[:2], ws.blocks[1:])) and not np.shares_memory(ws.A[2], ws.blocks[2])
    X, Y = data(NETS[1], m=20)
    net_A, cache = fnn.forward(NETS[1], fnn.init_params(NETS[1], seed=1), X)
    assert net_A.shape == (20, 3) and cache.layers[1].A.shape == (20, 4)  # the API's shapes whatever the order


def test_workspaces_lend_each_workspace_to_one_taker_at_a_time():
    spaces = Workspaces(plan(NETS[0]))
    f64 = np.dtype(np.float64)
    a, b = spaces.take(5, f64), spaces.take(5, f64)
    assert a is not b
    spaces.give(a)
    assert spaces.take(5, f64) is a  # given back, lent again
    assert spaces.take(5, f64) is not b  # b was never given back
    assert spaces.take(6, f64).m == 6 and spaces.take(5, np.dtype(np.float32)).dtype == np.float32


@pytest.mark.parametrize("make_opt", [lambda: fnn.sgd(0.1), lambda: fnn.adam(0.01)])
def test_steps_in_several_threads_at_once_give_the_sequential_states(make_opt):
    net = NETS[1]
    X, Y = data(net, m=40)
    opt = make_opt()
    step = fnn.train_step(net, opt)  # one step function, so its workspaces are shared by the threads
    starts = [fnn.init_state(fnn.init_params(net, seed=s), opt) for s in range(4)]
    batches = [(X[i:i + 10], Y[i:i + 10]) for i in range(0, 40, 10)] * 100
    expected = [fnn.fold(step, batches, s) for s in starts]
    results = [None] * len(starts)

    def run(i):
        results[i] = fnn.fold(step, batches, starts[i])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(starts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for got, want in zip(results, expected):
        np.testing.assert_array_equal(got.params.flat, want.params.flat)
        assert got.loss == want.loss
