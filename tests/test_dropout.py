"""Dropout with explicit keys: masks are pure functions of (seed, step, layer, shape)."""
from __future__ import annotations

import json

import numpy as np
import pytest

import fnn
from conftest import assert_same


def moons(m=30, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, 2))
    return X, (X[:, 0] * X[:, 1] > 0).astype(int)


def test_rates_are_checked_and_only_hidden_layers_drop():
    with pytest.raises(ValueError, match="dropout: expected a probability 0 <= dropout < 1, got 1.0"):
        fnn.Dense(2, 3, dropout=1.0)
    with pytest.raises(ValueError, match="dropout: expected a number >= 0.0, got -0.1"):
        fnn.Dense(2, 3, dropout=-0.1)
    with pytest.raises(ValueError, match=r"layers\[-1\].dropout: expected 0 on the output layer"):
        fnn.Network((fnn.Dense(2, 3), fnn.Dense(3, 1, "sigmoid", dropout=0.5)), "binary_cross_entropy")
    net = fnn.network([2, 5, 4, 1], dropout=0.25)
    assert [d.dropout for d in net.layers] == [0.25, 0.25, 0.0]


def test_the_mask_is_the_documented_draw_and_a_pure_function_of_the_key():
    net = fnn.network([2, 6, 5, 1], "tanh", dropout=0.4)
    net = fnn.Network((net.layers[0], fnn.Dense(6, 5, "tanh", dropout=0.0), net.layers[2]), net.loss)
    params = fnn.init_params(net, seed=1)
    X, _ = moons(12)
    A, cache = fnn.forward(net, params, X, key=(7, 3))
    keep = np.random.default_rng([7, 3, 0]).random((12, 6)) >= 0.4
    layer = cache.layers[0]
    np.testing.assert_array_equal(layer.mask, keep / 0.6)
    np.testing.assert_allclose(layer.A, np.tanh(layer.Z) * keep / 0.6, rtol=1e-15)
    assert cache.layers[1].mask is None and cache.layers[2].mask is None  # p = 0 draws nothing
    again, _ = fnn.forward(net, params, X, key=(7, 3))
    other, _ = fnn.forward(net, params, X, key=(7, 4))
    plain, plain_cache = fnn.forward(net, params, X)
    np.testing.assert_array_equal(A, again)
    assert not np.array_equal(A, other) and not np.array_equal(A, plain)
    assert all(c.mask is None for c in plain_cache.layers)
    with pytest.raises(TypeError, match="key: expected None or a pair"):
        fnn.forward(net, params, X, key=7)


@pytest.mark.parametrize("hidden", ["relu", "tanh", "sigmoid", "leaky_relu", "identity"])
@pytest.mark.parametrize("output, loss", [("sigmoid", "binary_cross_entropy"), ("softmax", "categorical_cross_entropy"),
                                          ("identity", "mean_squared_error"), ("tanh", "sum_of_squares")])
@pytest.mark.parametrize("l2", [0.0, 0.3])
def test_gradient_check_holds_the_masks_fixed(hidden, output, loss, l2):
    n_out = 3 if output == "softmax" else 1
    net = fnn.network([2, 7, 6, n_out], hidden, output, loss, l2, dropout=0.35)
    X, y = moons(9, seed=2)
    Y = fnn.targets(net, y if output != "softmax" else np.arange(9) % 3).astype(float)
    params = fnn.init_params(net, seed=3, scheme="glorot")
    assert fnn.gradient_check(net, params, X, Y, key=(5, 2)) < 1e-7


@pytest.mark.parametrize("rows", [9, 60])
def test_a_training_step_drops_with_key_seed_and_the_states_step(rows):
    """train_step(net, opt, seed) from state s is the stages with forward(..., key=(seed, s.step))."""
    net = fnn.network([2, 8, 8, 1], "relu", dropout=0.5, l2=0.01)
    X, y = moons(rows, seed=4)
    Y = fnn.targets(net, y)
    opt = fnn.momentum(0.1)
    step = fnn.train_step(net, opt, seed=11)
    state = by_hand = fnn.init_state(fnn.init_params(net, seed=0), opt)
    for _ in range(3):
        state = step(state, (X, Y))
        _, cache = fnn.forward(net, by_hand.params, X, key=(11, by_hand.step))
        J = fnn.cost(net, by_hand.params, cache, Y)
        params, opt_state = opt.update(by_hand.params, fnn.backward(net, by_hand.params, cache, Y), by_hand.opt_state)
        by_hand = fnn.TrainState(params, opt_state, by_hand.step + 1, J)
        exact = rows == 9  # row order; 60 rows go in column order, where products sum in another order
        assert_same(state.params, by_hand.params, exact=exact, rtol=1e-10)


def test_fit_is_the_fold_of_the_seeded_step_and_its_seed_picks_the_masks():
    net = fnn.network([2, 16, 1], "relu", dropout=0.3)
    X, y = moons(40)
    params = fnn.init_params(net, seed=2)
    opt = fnn.adam(0.01)
    result = fnn.fit(net, X, y, opt, epochs=5, batch_size=8, seed=3, params=params)
    folded = fnn.fold(fnn.train_step(net, opt, seed=3), fnn.batches(X, fnn.targets(net, y), batch_size=8, epochs=5, seed=3),
                      fnn.init_state(params, opt))
    assert_same(result.state.params, folded.params)
    five = fnn.fit(net, X, y, opt, epochs=2, batch_size=8, seed=3, params=params)
    more = fnn.fit(net, X, y, epochs=3, batch_size=8, seed=3, state=five.state)
    assert_same(result.state.params, more.state.params)
    other = fnn.fit(net, X, y, opt, epochs=5, batch_size=8, seed=4, params=params)
    assert not np.array_equal(other.state.params.flat, result.state.params.flat)


def test_predict_and_validation_never_drop():
    net = fnn.network([2, 16, 1], "relu", dropout=0.6)
    X, y = moons(40)
    params = fnn.init_params(net, seed=2)
    A, _ = fnn.forward(net, params, X)
    np.testing.assert_array_equal(fnn.predict(net, params, X), (A[:, 0] > 0.5).astype(int))
    result = fnn.fit(net, X, y, fnn.sgd(0.1), epochs=2, params=params, validation=(X, y))
    _, cache = fnn.forward(net, result.state.params, X)
    assert result.history.val_loss[-1] == fnn.cost(net, result.state.params, cache, fnn.targets(net, y))


def test_a_checkpoint_keeps_each_layers_rate(tmp_path):
    net = fnn.network([2, 5, 4, 1], "tanh", dropout=0.2)
    net = fnn.Network((net.layers[0], fnn.Dense(5, 4, "tanh", dropout=0.45), net.layers[2]), net.loss)
    X, y = moons(20)
    state = fnn.fit(net, X, y, fnn.sgd(0.1), epochs=2).state
    fnn.save(tmp_path / "d.npz", net, state)
    loaded, _ = fnn.load(tmp_path / "d.npz")
    assert [d.dropout for d in loaded.layers] == [0.2, 0.45, 0.0] and loaded == net


def test_a_checkpoint_written_before_dropout_existed_still_loads(tmp_path):
    net = fnn.network([2, 3, 1])
    fnn.save(tmp_path / "new.npz", net, fnn.init_state(fnn.init_params(net), fnn.sgd(0.1)))
    with np.load(tmp_path / "new.npz", allow_pickle=False) as npz:
        arrays = dict(npz.items())
    header = json.loads(arrays["header"].tobytes().decode("utf-8"))
    for layer in header["network"]["layers"]:
        del layer["dropout"]
    arrays["header"] = np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)
    np.savez(tmp_path / "old.npz", **arrays)
    loaded, _ = fnn.load(tmp_path / "old.npz")
    assert loaded == net


def test_forward_cost_and_gradients_equal_torch_autograd_with_the_same_masks():
    torch = pytest.importorskip("torch")
    net = fnn.network([3, 6, 5, 2], "tanh", "softmax", l2=0.2, dropout=0.3)
    rng = np.random.default_rng(5)
    X = rng.standard_normal((11, 3))
    Y = fnn.targets(net, rng.integers(0, 2, 11))
    params = fnn.init_params(net, seed=1, scheme="glorot")
    A, cache = fnn.forward(net, params, X, key=(2, 9))
    J = fnn.cost(net, params, cache, Y)
    grads = fnn.backward(net, params, cache, Y)
    Ws = [torch.tensor(np.array(W), requires_grad=True) for W, _ in params.pairs()]
    bs = [torch.tensor(np.array(b), requires_grad=True) for _, b in params.pairs()]
    a = torch.tensor(X)
    for l, (W, b) in enumerate(zip(Ws, bs)):
        z = a @ W + b
        if l < 2:
            a = torch.tanh(z) * torch.tensor(np.array(cache.layers[l].mask))
        else:
            logp = torch.log_softmax(z, dim=1)
            a = logp.exp()
    loss = -(torch.tensor(Y) * logp).sum() / 11 + 0.2 / (2 * 11) * sum((W**2).sum() for W in Ws)
    loss.backward()
    np.testing.assert_allclose(A, a.detach().numpy(), rtol=1e-12)
    assert abs(float(J) - loss.item()) < 1e-12
    for (dW, db), W, b in zip(grads.pairs(), Ws, bs):
        np.testing.assert_allclose(dW, W.grad.numpy(), rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(db, b.grad.numpy(), rtol=1e-10, atol=1e-14)
