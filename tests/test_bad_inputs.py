"""Every public function refuses bad input with a ValueError/TypeError naming argument, expected, received.

One table: ``(id, call, error type, words)``; the message must contain every word: the argument's
name, a piece of what was expected and a piece of what came.
"""
from __future__ import annotations

import math

import attrs
import numpy as np
import pytest

import fnn

NAN, INF = math.nan, math.inf
rng = np.random.default_rng(0)
X = rng.normal(size=(6, 2))
y = np.array([0, 1, 1, 0, 1, 0])
NET = fnn.network([2, 3, 1])  # relu hidden, sigmoid output, binary cross-entropy
P = fnn.init_params(NET)
Y = fnn.targets(NET, y)
SOFT = fnn.network([2, 4, 3], output="softmax")
P_SOFT = fnn.init_params(SOFT)
LIN = fnn.network([2, 3, 2], output="identity")
P_LIN = fnn.init_params(LIN)
CACHE = fnn.forward(NET, P, X)[1]
GRADS = fnn.backward(NET, P, CACHE, Y)
OTHER_P = fnn.init_params(fnn.network([3, 3, 1]))  # a Params that does not match NET
STATE = fnn.init_state(P, fnn.sgd(0.1))


def with_nan(a, index=(2, 1)):
    a = np.array(a, dtype=float)
    a[index] = NAN
    return a


def step(state=None, batch=(X, Y), optimizer=None):
    optimizer = optimizer or fnn.sgd(0.1)
    return fnn.train_step(NET, optimizer)(state or fnn.init_state(P, optimizer), batch)


def save(tmp, net=NET, state=STATE, path="c.npz"):
    return fnn.save(tmp / path if isinstance(path, str) else path, net, state)


CASES = [
    # --- building networks
    ("network: one width", lambda: fnn.network([2]), ValueError, ["sizes", "at least two", "[2]"]),
    ("network: zero width", lambda: fnn.network([2, 0, 1]), ValueError, ["sizes[1]", ">= 1", "0"]),
    ("network: float width", lambda: fnn.network([2, 2.5, 1]), TypeError, ["sizes[1]", "int", "2.5"]),
    ("network: sizes not a sequence", lambda: fnn.network(5), TypeError, ["sizes", "list", "5"]),
    ("network: unknown hidden", lambda: fnn.network([2, 3, 1], hidden="relux"), ValueError, ["hidden", "'relu'", "'relux'"]),
    ("network: unknown output", lambda: fnn.network([2, 3, 1], output="sigmod"), ValueError, ["output", "'sigmoid'", "'sigmod'"]),
    ("network: unknown loss", lambda: fnn.network([2, 1], loss="hinge"), ValueError, ["loss", "binary_cross_entropy", "'hinge'"]),
    ("network: loss not allowed", lambda: fnn.network([2, 3], output="softmax", loss="binary_cross_entropy"), ValueError, ["loss", "categorical_cross_entropy", "'binary_cross_entropy'"]),
    ("network: softmax with one unit", lambda: fnn.network([2, 1], output="softmax"), ValueError, ["n_out", ">= 2", "1"]),
    ("network: negative l2", lambda: fnn.network([2, 1], l2=-0.1), ValueError, ["l2", ">= 0", "-0.1"]),
    ("network: nan l2", lambda: fnn.network([2, 1], l2=NAN), ValueError, ["l2", "finite", "nan"]),
    ("Dense: zero n_in", lambda: fnn.Dense(0, 3), ValueError, ["n_in", ">= 1", "0"]),
    ("Dense: bool n_out", lambda: fnn.Dense(2, True), TypeError, ["n_out", "int", "True"]),
    ("Dense: use_bias a string", lambda: fnn.Dense(2, 3, use_bias="yes"), TypeError, ["use_bias", "bool", "'yes'"]),
    ("Network: widths disagree", lambda: fnn.Network((fnn.Dense(2, 3), fnn.Dense(4, 1, "sigmoid")), "binary_cross_entropy"), ValueError, ["layers[1].n_in", "3", "4"]),
    ("Network: softmax hidden", lambda: fnn.Network((fnn.Dense(2, 3, "softmax"), fnn.Dense(3, 1, "identity"))), ValueError, ["layers[0].activation", "output layer only", "hidden layer 0"]),
    ("Network: layers not Dense", lambda: fnn.Network(((2, 3),)), TypeError, ["layers", "Dense", "(2, 3)"]),
    # --- initialisation
    ("init_params: unknown scheme", lambda: fnn.init_params(NET, scheme="xavier"), ValueError, ["scheme", "'glorot'", "'xavier'"]),
    ("init_params: int dtype", lambda: fnn.init_params(NET, dtype=np.int32), TypeError, ["dtype", "float32 or float64", "int32"]),
    ("init_params: negative seed", lambda: fnn.init_params(NET, seed=-1), ValueError, ["seed", "non-negative", "-1"]),
    ("init_params: float seed", lambda: fnn.init_params(NET, seed=1.5), TypeError, ["seed", "int", "1.5"]),
    ("init_params: scale for uniform", lambda: fnn.init_params(NET, scheme="uniform", scale=0.1), ValueError, ["scale", "None", "0.1"]),
    ("init_params: not a network", lambda: fnn.init_params([2, 3, 1]), TypeError, ["net", "Network", "list"]),
    # --- forward: X
    ("forward: X transposed", lambda: fnn.forward(NET, P, X.T), ValueError, ["X", "(m, 2)", "(2, 6)", "transposed"]),
    ("forward: X too wide", lambda: fnn.forward(NET, P, np.ones((6, 3))), ValueError, ["X", "(m, 2)", "(6, 3)"]),
    ("forward: X 1-D", lambda: fnn.forward(NET, P, np.ones(2)), ValueError, ["X", "2-D", "(2,)"]),
    ("forward: X 3-D", lambda: fnn.forward(NET, P, np.ones((2, 2, 2))), ValueError, ["X", "2-D", "(2, 2, 2)"]),
    ("forward: X with nan", lambda: fnn.forward(NET, P, with_nan(X)), ValueError, ["X", "finite", "nan", "(2, 1)"]),
    ("forward: X with inf", lambda: fnn.forward(NET, P, np.where(X > 1, INF, X)), ValueError, ["X", "finite", "inf"]),
    ("forward: X empty", lambda: fnn.forward(NET, P, np.ones((0, 2))), ValueError, ["X", "non-empty", "(0, 2)"]),
    ("forward: X 0-width", lambda: fnn.forward(NET, P, np.ones((6, 0))), ValueError, ["X", "non-empty", "(6, 0)"]),
    ("forward: X of str", lambda: fnn.forward(NET, P, X.astype(str)), TypeError, ["X", "real numeric", "<U"]),
    ("forward: X of objects", lambda: fnn.forward(NET, P, X.astype(object)), TypeError, ["X", "real numeric", "object"]),
    ("forward: X complex", lambda: fnn.forward(NET, P, X + 1j), TypeError, ["X", "real numeric", "complex128"]),
    ("forward: X bool", lambda: fnn.forward(NET, P, X > 0), TypeError, ["X", "real numeric", "bool", "astype(float)"]),
    ("forward: X ragged", lambda: fnn.forward(NET, P, [[1.0, 2.0], [3.0]]), ValueError, ["X", "rectangular", "ragged"]),
    ("forward: params of another network", lambda: fnn.forward(NET, OTHER_P, X), ValueError, ["params.layers[0].W", "(2, 3)", "(3, 3)"]),
    ("forward: params of fewer layers", lambda: fnn.forward(NET, fnn.Params(P.layers[:1]), X), ValueError, ["params", "2 layers", "1"]),
    ("forward: params mixed dtypes", lambda: fnn.forward(NET, fnn.Params((P.layers[0], fnn.LayerParams(P.layers[1].W.astype(np.float32), P.layers[1].b))), X), TypeError, ["params.layers[1].W", "float64", "float32"]),
    ("forward: params a dict", lambda: fnn.forward(NET, {"W": 1}, X), TypeError, ["params", "Params", "dict"]),
    ("forward: net a list", lambda: fnn.forward([2, 3, 1], P, X), TypeError, ["net", "Network", "list"]),
    # --- cost and backward: Y
    ("cost: Y (m,)", lambda: fnn.cost(NET, P, CACHE, y), ValueError, ["Y", "(6, 1)", "(6,)", "fnn.targets"]),
    ("cost: Y (1, m)", lambda: fnn.cost(NET, P, CACHE, Y.T), ValueError, ["Y", "(6, 1)", "(1, 6)"]),
    ("cost: Y mismatched rows", lambda: fnn.cost(NET, P, CACHE, Y[:5]), ValueError, ["Y", "(6, 1)", "(5, 1)"]),
    ("cost: Y with nan", lambda: fnn.cost(NET, P, CACHE, with_nan(Y, (3, 0))), ValueError, ["Y", "finite", "nan"]),
    ("cost: Y bool", lambda: fnn.cost(NET, P, CACHE, Y > 0), TypeError, ["Y", "real numeric", "bool"]),
    ("cost: Y not probabilities", lambda: fnn.cost(SOFT, P_SOFT, fnn.forward(SOFT, P_SOFT, X)[1], np.ones((6, 3))), ValueError, ["Y", "summing to 1", "row 0"]),
    ("cost: cache not a Cache", lambda: fnn.cost(NET, P, (X,), Y), TypeError, ["cache", "Cache", "tuple"]),
    ("backward: Y (m,)", lambda: fnn.backward(NET, P, CACHE, y), ValueError, ["Y", "(6, 1)", "(6,)"]),
    ("backward: Y empty", lambda: fnn.backward(NET, P, CACHE, np.ones((0, 1))), ValueError, ["Y", "(6, 1)", "(0, 1)"]),
    ("backward: params of another network", lambda: fnn.backward(NET, OTHER_P, CACHE, Y), ValueError, ["params.layers[0].W", "(2, 3)", "(3, 3)"]),
    # --- update and optimizers
    ("update: nan learning rate", lambda: fnn.update(P, GRADS, NAN), ValueError, ["learning_rate", "finite", "nan"]),
    ("update: inf learning rate", lambda: fnn.update(P, GRADS, INF), ValueError, ["learning_rate", "finite", "inf"]),
    ("update: negative learning rate", lambda: fnn.update(P, GRADS, -0.1), ValueError, ["learning_rate", ">= 0", "-0.1"]),
    ("update: grads of another network", lambda: fnn.update(OTHER_P, GRADS, 0.1), ValueError, ["grads", "shapes", "((2, 3), (3,))"]),
    ("update: grads a Params", lambda: fnn.update(P, P, 0.1), TypeError, ["grads", "Grads", "Params"]),
    ("sgd: nan learning rate", lambda: fnn.sgd(NAN), ValueError, ["learning_rate", "finite", "nan"]),
    ("sgd: negative learning rate", lambda: fnn.sgd(-0.5), ValueError, ["learning_rate", ">= 0", "-0.5"]),
    ("sgd: learning rate a string", lambda: fnn.sgd("0.1"), TypeError, ["learning_rate", "real number", "'0.1'"]),
    ("momentum: nan beta", lambda: fnn.momentum(0.1, beta=NAN), ValueError, ["beta", "finite", "nan"]),
    ("rmsprop: negative beta", lambda: fnn.rmsprop(0.1, beta=-0.9), ValueError, ["beta", ">= 0", "-0.9"]),
    ("adam: zero eps", lambda: fnn.adam(eps=0.0), ValueError, ["eps", "> 0", "0.0"]),
    ("adam: inf learning rate", lambda: fnn.adam(INF), ValueError, ["learning_rate", "finite", "inf"]),
    ("adam update: state of another optimizer", lambda: fnn.adam().update(P, GRADS, fnn.sgd(0.1).init(P)), TypeError, ["opt_state", "AdamState", "SgdState"]),
    # --- schedules
    ("schedule returning nan", lambda: step(optimizer=fnn.sgd(lambda k: NAN)), ValueError, ["learning_rate", "finite", "nan", "update 0"]),
    ("schedule returning a string", lambda: step(optimizer=fnn.adam(lambda k: "fast")), TypeError, ["learning_rate", "real number", "'fast'"]),
    ("step_decay: zero every", lambda: fnn.schedules.step_decay(0.1, 0.5, 0), ValueError, ["every", ">= 1", "0"]),
    ("step_decay: negative lr0", lambda: fnn.schedules.step_decay(-0.1, 0.5, 10), ValueError, ["lr0", ">= 0", "-0.1"]),
    ("exponential_decay: nan rate", lambda: fnn.schedules.exponential_decay(0.1, NAN, 10), ValueError, ["rate", "finite", "nan"]),
    ("inverse_time_decay: float every", lambda: fnn.schedules.inverse_time_decay(0.1, 0.5, 2.5), TypeError, ["every", "int", "2.5"]),
    ("constant: inf", lambda: fnn.schedules.constant(INF), ValueError, ["lr", "finite", "inf"]),
    # --- the fold
    ("train_step: optimizer a string", lambda: fnn.train_step(NET, "adam"), TypeError, ["optimizer", "Optimizer", "str"]),
    ("train_step: net a dict", lambda: fnn.train_step({}, fnn.sgd(0.1)), TypeError, ["net", "Network", "dict"]),
    ("train_step: state a Params", lambda: step(state=P), TypeError, ["state", "TrainState", "Params"]),
    ("train_step: X transposed", lambda: step(batch=(X.T, Y)), ValueError, ["X", "(m, 2)", "(2, 6)"]),
    ("train_step: Y (1, m)", lambda: step(batch=(X, Y.T)), ValueError, ["Y", "(6, 1)", "(1, 6)"]),
    ("init_state: optimizer a function", lambda: fnn.init_state(P, fnn.sgd), TypeError, ["optimizer", "Optimizer", "function"]),
    ("init_state: params a list", lambda: fnn.init_state([X], fnn.sgd(0.1)), TypeError, ["params", "Params", "list"]),
    ("fold: state a dict", lambda: fnn.fold(fnn.train_step(NET, fnn.sgd(0.1)), [(X, Y)], {}), TypeError, ["state", "TrainState", "dict"]),
    ("scan: state None", lambda: list(fnn.scan(fnn.train_step(NET, fnn.sgd(0.1)), [(X, Y)], None)), TypeError, ["state", "TrainState", "NoneType"]),
    ("batches: zero batch size", lambda: fnn.batches(X, Y, batch_size=0), ValueError, ["batch_size", ">= 1", "0"]),
    ("batches: negative batch size", lambda: fnn.batches(X, Y, batch_size=-3), ValueError, ["batch_size", ">= 1", "-3"]),
    ("batches: float batch size", lambda: fnn.batches(X, Y, batch_size=2.0), TypeError, ["batch_size", "int", "2.0"]),
    ("batches: negative epochs", lambda: fnn.batches(X, Y, epochs=-1), ValueError, ["epochs", ">= 0", "-1"]),
    ("batches: mismatched rows", lambda: fnn.batches(X, Y[:4]), ValueError, ["Y", "6 rows", "4"]),
    ("batches: negative start_epoch", lambda: fnn.batches(X, Y, start_epoch=-2), ValueError, ["start_epoch", ">= 0", "-2"]),
    ("batches: Y (m,)", lambda: fnn.batches(X, y), ValueError, ["Y", "2-D", "(6,)"]),
    ("fit: negative epochs", lambda: fnn.fit(NET, X, y, epochs=-1), ValueError, ["epochs", ">= 0", "-1"]),
    ("fit: zero batch size", lambda: fnn.fit(NET, X, y, batch_size=0), ValueError, ["batch_size", ">= 1", "0"]),
    ("fit: negative batch size", lambda: fnn.fit(NET, X, y, batch_size=-1), ValueError, ["batch_size", ">= 1", "-1"]),
    ("fit: X transposed", lambda: fnn.fit(NET, X.T, y), ValueError, ["X", "(m, 2)", "(2, 6)"]),
    ("fit: mismatched rows", lambda: fnn.fit(NET, X[:5], y), ValueError, ["y", "5 rows", "6"]),
    ("fit: labels out of range", lambda: fnn.fit(NET, X, y + 1), ValueError, ["y", "[0, 2)", "2"]),
    ("fit: non-integer labels", lambda: fnn.fit(NET, X, y * 0.5), ValueError, ["y", "integer labels", "0.5"]),
    ("fit: y (1, m)", lambda: fnn.fit(NET, X, y[None, :]), ValueError, ["y", "(m, 1)", "(1, 6)"]),
    ("fit: unknown init", lambda: fnn.fit(NET, X, y, init="kaiming"), ValueError, ["scheme", "'he'", "'kaiming'"]),
    ("fit: optimizer a string", lambda: fnn.fit(NET, X, y, optimizer="adam"), TypeError, ["optimizer", "Optimizer", "str"]),
    ("fit: params and state", lambda: fnn.fit(NET, X, y, params=P, state=STATE), ValueError, ["params", "None", "Params"]),
    ("fit: params of another network", lambda: fnn.fit(NET, X, y, params=OTHER_P), ValueError, ["params.layers[0].W", "(2, 3)", "(3, 3)"]),
    # --- labels
    ("targets: softmax label out of range", lambda: fnn.targets(SOFT, [0, 1, 3]), ValueError, ["y", "[0, 3)", "3"]),
    ("targets: negative label", lambda: fnn.targets(SOFT, [0, -1]), ValueError, ["y", "[0, 3)", "-1"]),
    ("targets: labels of str", lambda: fnn.targets(NET, ["a", "b"]), TypeError, ["y", "real numeric", "<U1"]),
    ("targets: labels complex", lambda: fnn.targets(NET, y + 0j), TypeError, ["y", "real numeric", "complex128"]),
    ("targets: labels with nan", lambda: fnn.targets(NET, [0.0, NAN]), ValueError, ["y", "finite", "nan"]),
    ("targets: empty labels", lambda: fnn.targets(SOFT, []), ValueError, ["y", "non-empty", "(0,)"]),
    ("targets: wrong width", lambda: fnn.targets(SOFT, np.zeros((4, 2))), ValueError, ["y", "(m, 3)", "(4, 2)"]),
    ("targets: labels for two linear outputs", lambda: fnn.targets(LIN, [0.5, 1.0]), ValueError, ["y", "(m, 2)", "(2,)"]),
    ("targets: 3-D", lambda: fnn.targets(NET, np.zeros((2, 1, 1))), ValueError, ["y", "(m,)", "(2, 1, 1)"]),
    ("predict: X wrong width", lambda: fnn.predict(NET, P, np.ones((4, 3))), ValueError, ["X", "(m, 2)", "(4, 3)"]),
    ("accuracy: mismatched shapes", lambda: fnn.accuracy([0, 1, 1], [0, 1]), ValueError, ["y_pred", "(3,)", "(2,)"]),
    ("accuracy: empty", lambda: fnn.accuracy([], []), ValueError, ["y_true", "non-empty", "(0,)"]),
    ("gradient_check: zero epsilon", lambda: fnn.gradient_check(NET, P, X, Y, epsilon=0.0), ValueError, ["epsilon", "> 0", "0.0"]),
    ("gradient_check: nan epsilon", lambda: fnn.gradient_check(NET, P, X, Y, epsilon=NAN), ValueError, ["epsilon", "finite", "nan"]),
    ("gradient_check: Y (m,)", lambda: fnn.gradient_check(NET, P, X, y), ValueError, ["Y", "(6, 1)", "(6,)"]),
]

SAVE_CASES = [
    ("save: path an int", lambda tmp: save(tmp, path=3), TypeError, ["path", "os.PathLike", "int 3"]),
    ("save: net a list", lambda tmp: save(tmp, net=[2, 3, 1]), TypeError, ["net", "Network", "list"]),
    ("save: state a Params", lambda tmp: save(tmp, state=P), TypeError, ["state", "TrainState", "Params"]),
    ("save: state of another network", lambda tmp: save(tmp, state=fnn.init_state(OTHER_P, fnn.sgd(0.1))), ValueError, ["state.params.layers[0].W", "(2, 3)", "(3, 3)"]),
    ("save: lambda schedule", lambda tmp: save(tmp, state=fnn.init_state(P, fnn.adam(lambda k: 0.1))), ValueError, ["state.optimizer.hyperparams['learning_rate']", "fnn.schedules", "function"]),
    ("save: custom optimizer", lambda tmp: save(tmp, state=attrs.evolve(STATE, optimizer=fnn.Optimizer(STATE.optimizer.init, STATE.optimizer.update))), ValueError, ["state.optimizer", "sgd", "'custom'"]),
    ("save: nan in params", lambda tmp: save(tmp, state=fnn.init_state(fnn.Params((fnn.LayerParams(with_nan(P.layers[0].W, (1, 2)), P.layers[0].b), P.layers[1])), fnn.sgd(0.1))), ValueError, ["state.params.layers[0].W", "finite", "nan"]),
    ("load: path None", lambda tmp: fnn.load(None), TypeError, ["path", "os.PathLike", "NoneType"]),
]


def check_message(err: BaseException, words) -> None:
    """The argument (``words[0]``) is named as ``arg:``; every other word appears too."""
    assert f"{words[0]}:" in str(err), f"{words[0]!r}: not in the message {str(err)!r}"
    for word in words[1:]:
        assert word in str(err), f"{word!r} not in the message {str(err)!r}"


@pytest.mark.parametrize("call, error, words", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_refused_with_a_message_naming_argument_expected_received(call, error, words):
    with np.errstate(all="raise"), pytest.raises(error) as info:
        call()
    assert type(info.value) in (ValueError, TypeError)
    check_message(info.value, words)


@pytest.mark.parametrize("call, error, words", [c[1:] for c in SAVE_CASES], ids=[c[0] for c in SAVE_CASES])
def test_bad_checkpoint_input_is_refused_and_nothing_is_written(tmp_path, call, error, words):
    with pytest.raises(error) as info:
        call(tmp_path)
    assert type(info.value) in (ValueError, TypeError)
    check_message(info.value, words)
    assert list(tmp_path.iterdir()) == []


def test_the_table_is_large_and_covers_every_public_function():
    ids = [c[0] for c in CASES + SAVE_CASES]
    assert len(ids) >= 40 and len(set(ids)) == len(ids)
    functions = {name.split(":")[0].split(" ")[0] for name in ids}
    public = {"network", "Dense", "Network", "init_params", "forward", "cost", "backward", "update", "sgd", "momentum",
              "rmsprop", "adam", "train_step", "init_state", "fold", "scan", "batches", "fit", "targets", "predict",
              "accuracy", "gradient_check", "save", "load", "step_decay", "exponential_decay", "inverse_time_decay", "constant"}
    assert public <= functions, sorted(public - functions)


def test_inputs_are_not_touched_by_a_refused_call():
    X_before, y_before = X.copy(), y.copy()
    with pytest.raises(ValueError):
        fnn.fit(NET, X, y + 1)
    assert np.array_equal(X, X_before) and np.array_equal(y, y_before) and X.flags.writeable
