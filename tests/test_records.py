import re

import attrs
import numpy as np
import pytest

import fnn
from fnn.records import freeze


def test_freeze_copies_writable_and_marks_read_only():
    a = np.arange(3.0)
    f = freeze(a)
    assert f is not a and a.flags.writeable and not f.flags.writeable
    with pytest.raises(ValueError):
        f[0] = 1.0


def test_freeze_keeps_float32_and_float64_and_upcasts_other_numbers():
    assert freeze(np.ones(2, np.float32)).dtype == np.float32
    assert freeze(np.ones(2)).dtype == np.float64
    assert freeze(np.ones(2, np.int32)).dtype == np.float64
    assert freeze([1, 2]).dtype == np.float64


def test_freeze_reuses_an_already_read_only_float_array():
    a = np.ones(2)
    a.flags.writeable = False
    assert freeze(a) is a


@pytest.mark.parametrize("bad", [np.array(["a"]), np.array([1 + 2j]), np.array([object()])])
def test_freeze_refuses_non_real_dtypes(bad):
    with pytest.raises(TypeError, match="W: expected a real numeric array"):
        fnn.LayerParams(bad, np.zeros(1))


def test_records_are_frozen():
    net = fnn.network([2, 1])
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        net.l2 = 1.0
    p = fnn.init_params(net)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        p.layers[0].W = np.zeros((2, 1))


def test_hand_built_params_copy_the_callers_arrays():
    W = np.ones((2, 1))
    p = fnn.Params((fnn.LayerParams(W, np.zeros(1)),))
    W[0, 0] = 5.0
    assert p.layers[0].W[0, 0] == 1.0 and not p.layers[0].W.flags.writeable
    assert p.flat.tolist() == [1.0, 1.0, 0.0] and not p.flat.flags.writeable


def test_from_flat_gives_read_only_views_of_one_vector():
    net = fnn.network([3, 2, 1])
    p = fnn.init_params(net, seed=1)
    assert np.shares_memory(p.layers[0].W, p.flat) and np.shares_memory(p.layers[1].b, p.flat)
    assert all(not a.flags.writeable for layer in p.layers for a in (layer.W, layer.b))
    assert p.flat.size == net.n_params == 3 * 2 + 2 + 2 * 1 + 1


def test_network_builder_defaults_the_loss_from_the_output():
    assert fnn.network([2, 1]).loss == "binary_cross_entropy"
    assert fnn.network([2, 3], output="softmax").loss == "categorical_cross_entropy"
    assert fnn.network([2, 1], output="identity").loss == "mean_squared_error"
    net = fnn.network([2, 25, 50, 1], hidden="tanh", l2=0.1)
    assert [d.activation for d in net.layers] == ["tanh", "tanh", "sigmoid"]
    assert net.layers == (fnn.Dense(2, 25, "tanh"), fnn.Dense(25, 50, "tanh"), fnn.Dense(50, 1, "sigmoid"))
    assert net.l2 == 0.1


@pytest.mark.parametrize(
    "build, error, message",
    [
        (lambda: fnn.network([2]), ValueError, "sizes: expected a list of at least two widths"),
        (lambda: fnn.network([2, 0, 1]), ValueError, r"sizes\[1\]: expected an int >= 1, got 0"),
        (lambda: fnn.network([2, 1.5]), TypeError, r"sizes\[1\]: expected an int >= 1"),
        (lambda: fnn.network([2, 1], hidden="relu", output="swish"), ValueError, "output: expected one of"),
        (lambda: fnn.network([2, 3, 1], hidden="swish"), ValueError, "hidden: expected one of"),
        (lambda: fnn.network([2, 1], output="softmax"), ValueError, "n_out: expected >= 2 units for softmax, got 1"),
        (lambda: fnn.network([2, 3, 2], hidden="softmax", output="softmax"), ValueError, "softmax on the output layer only"),
        (lambda: fnn.network([2, 1], loss="categorical_cross_entropy"), ValueError, "loss: expected a loss allowed for a sigmoid output"),
        (lambda: fnn.network([2, 2], output="softmax", loss="mean_squared_error"), ValueError, "allowed for a softmax output"),
        (lambda: fnn.network([2, 1], loss="hinge"), ValueError, "loss: expected one of"),
        (lambda: fnn.network([2, 1], l2=-0.1), ValueError, "l2: expected a number >= 0.0, got -0.1"),
        (lambda: fnn.network([2, 1], l2=float("nan")), ValueError, "l2: expected a finite real number"),
        (lambda: fnn.Network((fnn.Dense(2, 3), fnn.Dense(4, 1, "sigmoid")), "binary_cross_entropy"), ValueError, r"layers\[1\].n_in: expected 3"),
        (lambda: fnn.Network((), "mean_squared_error"), TypeError, "layers: expected a non-empty tuple of Dense"),
        (lambda: fnn.Dense(2, 3, use_bias=1), TypeError, "use_bias: expected a bool"),
        (lambda: fnn.Dense(True, 3), TypeError, "n_in: expected an int"),
    ],
)
def test_bad_networks_name_the_argument(build, error, message):
    with pytest.raises(error, match=message):
        build()


@pytest.mark.parametrize("g", ["elu", "selu", "gelu", "silu", "softplus"])
def test_the_modern_activations_go_wherever_relu_goes(g):
    """Hidden or output, with the squared errors (the default for them); not with the cross-entropies."""
    net = fnn.network([2, 3, 1], hidden=g, output=g)
    assert [d.activation for d in net.layers] == [g, g] and net.loss == "mean_squared_error"
    assert fnn.network([2, 3, 1], hidden=g, output=g, loss="sum_of_squares").loss == "sum_of_squares"
    allowed = f"loss: expected a loss allowed for a {g} output (['mean_squared_error', 'sum_of_squares']), got 'binary_cross_entropy'"
    with pytest.raises(ValueError, match=re.escape(allowed)):
        fnn.network([2, 1], output=g, loss="binary_cross_entropy")
    with pytest.raises(ValueError, match="categorical_cross_entropy"):
        fnn.network([2, 2], output=g, loss="categorical_cross_entropy")


def test_sigmoid_allows_every_loss_but_categorical():
    for loss in ["binary_cross_entropy", "mean_squared_error", "sum_of_squares"]:
        assert fnn.network([2, 1], loss=loss).loss == loss


def test_fit_result_losses_are_read_only():
    state = fnn.init_state(fnn.init_params(fnn.network([2, 1])), fnn.sgd(0.1))
    result = fnn.FitResult(state, [1.0, 0.5])
    assert not result.losses.flags.writeable and result.losses.dtype == np.float64


def test_pickle_and_deepcopy_keep_every_array_frozen():
    import copy
    import pickle

    net = fnn.network([3, 4, 2], output="softmax")
    X = np.random.default_rng(0).standard_normal((6, 3))
    result = fnn.fit(net, X, np.arange(6) % 2, optimizer=fnn.adam(0.01), epochs=2, batch_size=4)
    hand = fnn.Params((fnn.LayerParams(np.ones((3, 4)), np.zeros(4)), fnn.LayerParams(np.ones((4, 2)), np.zeros(2))))
    for original in (result, hand):
        for back in (pickle.loads(pickle.dumps(original)), copy.deepcopy(original)):
            state = back.state if isinstance(back, fnn.FitResult) else fnn.TrainState(back, fnn.sgd(0.1).init(back))
            arrays = [state.params.flat, *(a for p in state.params.layers for a in (p.W, p.b))]
            arrays += [state.opt_state.mu, state.opt_state.nu] if hasattr(state.opt_state, "mu") else []
            assert arrays and all(not a.flags.writeable for a in arrays)
            np.testing.assert_array_equal(state.params.flat, (original.state.params if isinstance(original, fnn.FitResult) else original).flat)
    again = pickle.loads(pickle.dumps(result))
    assert again.state.optimizer.name == "adam" and not again.losses.flags.writeable
    assert np.shares_memory(again.state.params.layers[0].W, again.state.params.flat)
