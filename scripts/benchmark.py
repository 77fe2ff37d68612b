"""Time fnn against the tutorial NumPy code it replaces, scikit-learn and PyTorch eager.

    python scripts/benchmark.py [--quick] [--repeats N] [--only W1,W4] [--threads N] [--no-sklearn] [--no-torch]
    python scripts/benchmark.py --profile --only W2      # where fnn's time goes (pyinstrument)
    python scripts/benchmark.py --members                # K stacked members against K single fits

Every contender starts from the same initial weights (``fnn.init_params(net, seed=0)``) on the same
data, with the same math. Before timing, each one's parameters after a short run are compared with
fnn's (trajectories must agree); then each is timed as the median of ``--repeats`` runs after a
warm-up run (the contenders taking turns run by run), and the table gives times per unit and
ratios to the tutorial code of the same run.
For W4 it also prints the GEMM floor: the sum over one epoch of the best measured time of every
forward and backward matrix product at its exact shape, and each contender's share of it.
Page faults (``getrusage``) are counted over the timed runs. ``--quick`` is a smoke run on small
sizes (the default test run uses it; its numbers mean nothing).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

if __name__ == "__main__":  # the repository's fnn, even beside a folder named fnn (see scripts/common.py)
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import fnn  # noqa: E402

# --- the workloads --------------------------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    """One row of the table: data, network and training, and how many units one timed run does."""

    id: str
    sizes: tuple
    hidden: str
    output: str
    loss: str
    l2: float
    bias: bool
    optimizer: str
    lr: float
    batch_size: int | None
    epochs: int
    unit: str
    scale: float  # seconds per epoch -> unit
    dtype: type = np.float64
    rows: int | None = None  # W4's sample count (quick mode shrinks it)

    @property
    def name(self) -> str:
        return self.id + ("" if self.dtype == np.float64 else " f32")


WORKLOADS = (
    Workload("W1", (2, 25, 50, 50, 25, 1), "relu", "sigmoid", "binary_cross_entropy", 0.0, True, "sgd", 0.01, None, 300, "ms/epoch", 1e3),
    Workload("W2", (2, 3, 2), "tanh", "softmax", "categorical_cross_entropy", 0.01, True, "sgd", 3.0, None, 2000, "µs/pass", 1e6),
    Workload("W3", (64, 128, 64, 10), "relu", "softmax", "categorical_cross_entropy", 0.0, True, "adam", 1e-3, 64, 20, "ms/epoch", 1e3),
    Workload("W4", (784, 512, 256, 10), "relu", "softmax", "categorical_cross_entropy", 0.0, True, "sgd", 0.01, 256, 1, "s/epoch", 1.0, rows=60000),
    Workload("W5", (3, 4, 1), "sigmoid", "sigmoid", "sum_of_squares", 0.0, False, "sgd", 1.0, None, 5000, "µs/iteration", 1e6),
)


def all_workloads(quick: bool) -> list[Workload]:
    """The five float64 workloads, then W1 and W4 in float32; ``quick`` shrinks every run."""
    rows = list(WORKLOADS) + [replace(w, dtype=np.float32) for w in WORKLOADS if w.id in ("W1", "W4")]
    if quick:
        rows = [replace(w, epochs=1 if w.batch_size else 5, rows=w.rows and 512) for w in rows]
    return rows


def load(w: Workload) -> tuple[np.ndarray, np.ndarray]:
    """``(X, labels)`` of the workload, ``X`` in its dtype."""
    from sklearn.datasets import load_digits, make_moons

    if w.id == "W1":
        X, y = make_moons(1000, noise=0.2, random_state=100)
        X, y = X[:900], y[:900]
    elif w.id == "W2":
        X, y = make_moons(300, noise=0.2, random_state=0)
    elif w.id == "W3":
        d = load_digits()
        X, y = d.data / 16.0, d.target
        X, y = X[: int(0.8 * len(X))], y[: int(0.8 * len(y))]
    elif w.id == "W4":
        rng = np.random.default_rng(0)
        X, y = rng.standard_normal((w.rows, 784)), rng.integers(0, 10, w.rows)
    else:
        X, y = np.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]], float), np.array([0, 1, 1, 0])
    return np.ascontiguousarray(X, dtype=w.dtype), y


def network(w: Workload) -> fnn.Network:
    acts = [w.hidden] * (len(w.sizes) - 2) + [w.output]
    layers = [fnn.Dense(a, b, g, w.bias) for a, b, g in zip(w.sizes, w.sizes[1:], acts)]
    return fnn.Network(tuple(layers), w.loss, w.l2)


def orders(w: Workload, m: int) -> Callable[[int], np.ndarray] | None:
    """Epoch ``e``'s row order, as ``fnn.batches`` draws it (``None``: the whole set, in order)."""
    return None if w.batch_size is None else (lambda e: np.random.default_rng([0, e]).permutation(m))


def batch_indices(w: Workload, m: int, e: int) -> list:
    order = orders(w, m)
    if order is None:
        return [slice(None)]
    idx = order(e)
    return [idx[lo : lo + w.batch_size] for lo in range(0, m, w.batch_size)]


# --- the contenders: each trains from (W, b) pairs in fnn's layout and returns the final pairs ----


def fnn_start(w, pairs) -> tuple[fnn.Network, fnn.Params, fnn.Optimizer]:
    net = network(w)
    params = fnn.Params(tuple(fnn.LayerParams(W, b) for W, b in pairs))
    return net, params, fnn.sgd(w.lr) if w.optimizer == "sgd" else fnn.adam(w.lr)


def run_fnn(w, X, y, pairs, epochs):
    """``fnn.fit``."""
    net, params, opt = fnn_start(w, pairs)
    result = fnn.fit(net, X, y, opt, epochs=epochs, batch_size=w.batch_size, seed=0, params=params)
    return [(layer.W, layer.b) for layer in result.state.params.layers]


def run_fold(w, X, y, pairs, epochs):
    """The path the README teaches: ``fnn.fold(fnn.train_step(net, opt), fnn.batches(...), state)``."""
    net, params, opt = fnn_start(w, pairs)
    batches = fnn.batches(X, fnn.targets(net, y), batch_size=w.batch_size, epochs=epochs, seed=0)
    final = fnn.fold(fnn.train_step(net, opt), batches, fnn.init_state(params, opt))
    return [(layer.W, layer.b) for layer in final.params.layers]


def _sigmoid(Z):
    return 1 / (1 + np.exp(-Z))


def _sigmoid_backward(dA, Z):
    sig = _sigmoid(Z)
    return dA * sig * (1 - sig)


def _relu_backward(dA, Z):
    dZ = np.array(dA, copy=True)
    dZ[Z <= 0] = 0
    return dZ


def _softmax(Z):
    E = np.exp(Z - np.max(Z, axis=0, keepdims=True))
    return E / np.sum(E, axis=0, keepdims=True)


def _tanh_backward(dA, Z):
    return dA * (1 - np.power(np.tanh(Z), 2))


HIDDEN_FORWARD = {"relu": lambda Z: np.maximum(0, Z), "tanh": np.tanh, "sigmoid": _sigmoid}
HIDDEN_BACKWARD = {"relu": _relu_backward, "tanh": _tanh_backward, "sigmoid": _sigmoid_backward}


def run_tutorial(w, X, y, pairs, epochs):
    """The tutorial style of the seed documents (000/002's L-layer code, 004 ch. 2): dicts of W/b,
    samples in columns, in-place updates, the cost every iteration, ``dA = -(Y/A - (1-Y)/(1-A))``
    then the sigmoid recomputed, ``dZ[Z <= 0] = 0``, ``db = sum(dZ, axis=1)``; Adam as in the Ng
    course. Every workload runs through this one generic code, as a tutorial user would write it."""
    L = len(pairs)
    params = {}
    for l, (W, b) in enumerate(pairs, 1):
        params["W" + str(l)] = W.T.copy()
        if w.bias:
            params["b" + str(l)] = b.reshape(-1, 1).copy()
    Y_all = fnn.targets(network(w), y).T.astype(X.dtype)
    X_all = X.T
    v, s, t = {}, {}, 0
    for key in params:
        v["d" + key], s["d" + key] = np.zeros_like(params[key]), np.zeros_like(params[key])
    m_all = X.shape[0]
    for e in range(epochs):
        for idx in batch_indices(w, m_all, e):
            Xb, Yb = X_all[:, idx], Y_all[:, idx]
            memory, A = {}, Xb
            for l in range(1, L + 1):
                A_prev = A
                Z = np.dot(params["W" + str(l)], A_prev)
                if w.bias:
                    Z = Z + params["b" + str(l)]
                if l < L:
                    A = HIDDEN_FORWARD[w.hidden](Z)
                else:
                    A = _sigmoid(Z) if w.output == "sigmoid" else _softmax(Z)
                memory["A" + str(l - 1)], memory["Z" + str(l)] = A_prev, Z
            m = Yb.shape[1]
            scale = 1.0 if w.loss == "sum_of_squares" else 1 / m  # sum of squares is a total, not a mean
            if w.loss == "binary_cross_entropy":
                cost = -1 / m * (np.dot(Yb, np.log(A).T) + np.dot(1 - Yb, np.log(1 - A).T))
            elif w.loss == "sum_of_squares":
                cost = np.sum(np.power(A - Yb, 2))
            else:
                cost = -1 / m * np.sum(Yb * np.log(A))
            if w.l2:
                cost = cost + w.l2 / (2 * m) * sum(np.sum(np.square(params["W" + str(l)])) for l in range(1, L + 1))
            float(np.squeeze(cost))
            grads = {}
            if w.loss == "binary_cross_entropy":
                dA_prev = -(np.divide(Yb, A) - np.divide(1 - Yb, 1 - A))
            elif w.loss == "sum_of_squares":
                dA_prev = 2 * (A - Yb)
            for l in range(L, 0, -1):
                Z, A_prev = memory["Z" + str(l)], memory["A" + str(l - 1)]
                if l == L:
                    dZ = _sigmoid_backward(dA_prev, Z) if w.output == "sigmoid" else A - Yb
                else:
                    dZ = HIDDEN_BACKWARD[w.hidden](dA_prev, Z)
                grads["dW" + str(l)] = scale * np.dot(dZ, A_prev.T)
                if w.l2:
                    grads["dW" + str(l)] += w.l2 / m * params["W" + str(l)]
                if w.bias:
                    grads["db" + str(l)] = scale * np.sum(dZ, axis=1, keepdims=True)
                dA_prev = np.dot(params["W" + str(l)].T, dZ)
            if w.optimizer == "sgd":
                for key in params:
                    params[key] -= w.lr * grads["d" + key]
            else:
                t += 1
                for key in params:
                    g = grads["d" + key]
                    v["d" + key] = 0.9 * v["d" + key] + 0.1 * g
                    s["d" + key] = 0.999 * s["d" + key] + 0.001 * np.power(g, 2)
                    v_hat = v["d" + key] / (1 - 0.9**t)
                    s_hat = s["d" + key] / (1 - 0.999**t)
                    params[key] -= w.lr * v_hat / (np.sqrt(s_hat) + 1e-8)
    return [(params["W" + str(l)].T, params["b" + str(l)].ravel() if w.bias else np.zeros(params["W" + str(l)].shape[0]))
            for l in range(1, L + 1)]


def run_document(w, X, y, pairs, epochs):
    """The seed document's own, workload-specific code, where it has one (W2: 001, W5: 004 ch. 1)."""
    return {"W2": run_tutorial_wildml, "W5": run_tutorial_xor}[w.id](w, X, y, pairs, epochs)


def run_tutorial_wildml(w, X, y, pairs, epochs):
    """The 2-3-2 tutorial (seed 001) as written: summed gradient, ``epsilon = 0.01``, ``reg_lambda = 0.01``,
    and its ``calculate_loss`` after every pass (the document calls it every 1000th pass, as it is
    "expensive because it uses the whole dataset"; every contender here computes the cost every step)."""
    epsilon, reg_lambda = w.lr / X.shape[0], w.l2
    (W1, b1), (W2, b2) = [(W.copy(), b.reshape(1, -1).copy()) for W, b in pairs]
    num_examples = len(X)

    def calculate_loss(model, X, y):
        W1, b1, W2, b2 = model["W1"], model["b1"], model["W2"], model["b2"]
        z1 = X.dot(W1) + b1
        a1 = np.tanh(z1)
        z2 = a1.dot(W2) + b2
        exp_scores = np.exp(z2)
        probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True)
        corect_logprobs = -np.log(probs[range(num_examples), y])
        data_loss = np.sum(corect_logprobs)
        data_loss += reg_lambda / 2 * (np.sum(np.square(W1)) + np.sum(np.square(W2)))
        return 1.0 / num_examples * data_loss

    for i in range(epochs):
        z1 = X.dot(W1) + b1
        a1 = np.tanh(z1)
        z2 = a1.dot(W2) + b2
        exp_scores = np.exp(z2)
        probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True)
        delta3 = probs
        delta3[range(num_examples), y] -= 1
        dW2 = (a1.T).dot(delta3)
        db2 = np.sum(delta3, axis=0, keepdims=True)
        delta2 = delta3.dot(W2.T) * (1 - np.power(a1, 2))
        dW1 = np.dot(X.T, delta2)
        db1 = np.sum(delta2, axis=0)
        dW2 += reg_lambda * W2
        dW1 += reg_lambda * W1
        W1 += -epsilon * dW1
        b1 += -epsilon * db1
        W2 += -epsilon * dW2
        b2 += -epsilon * db2
        model = {"W1": W1, "b1": b1, "W2": W2, "b2": b2}
        float(calculate_loss(model, X, y))
    return [(W1, b1.ravel()), (W2, b2.ravel())]


def run_tutorial_xor(w, X, y, pairs, epochs):
    """The XOR tutorial (seed 004, ch. 1): ``weights += d_weights``, the loss every iteration."""
    weights1, weights2 = pairs[0][0].copy(), pairs[1][0].copy()
    yy = y.reshape(-1, 1).astype(X.dtype)

    def sigmoid_derivative(x):
        return x * (1.0 - x)

    for i in range(epochs):
        layer1 = _sigmoid(np.dot(X, weights1))
        output = _sigmoid(np.dot(layer1, weights2))
        float(np.sum((yy - output) ** 2))
        d_weights2 = np.dot(layer1.T, (2 * (yy - output) * sigmoid_derivative(output)))
        d_weights1 = np.dot(X.T, (np.dot(2 * (yy - output) * sigmoid_derivative(output), weights2.T) * sigmoid_derivative(layer1)))
        weights1 += w.lr * d_weights1
        weights2 += w.lr * d_weights2
    return [(weights1, np.zeros(weights1.shape[1])), (weights2, np.zeros(1))]


def run_hand(w, X, y, pairs, epochs):
    """W5's training step written out by hand for its one network: fnn's own operations on
    preallocated scratch, both finiteness checks (the cost's and the new params'), the losses
    kept as ``fit`` keeps them, and, as in ``fit``, the state carried as plain values from step to
    step with the ``TrainState`` built at the end. It ends where fnn does, bit for bit; what fnn
    takes beyond it is the cost of its generic kernels and stages on this network."""
    from fnn.activations import _clip, consts
    from fnn.optimizers import SgdState
    from fnn.records import owning

    net, dtype, m = network(w), np.dtype(w.dtype), X.shape[0]
    opt, c, lr, half = fnn.sgd(w.lr), consts(dtype), np.array(w.lr, dtype), np.array(0.5, dtype)
    Y = fnn.targets(net, y).astype(dtype)
    Z1, A1, U1, dZ1 = (np.empty((m, 4), dtype) for _ in range(4))
    Z2, A2, U2, D = (np.empty((m, 1), dtype) for _ in range(4))
    grad, unit = np.zeros(net.n_params, dtype), np.ones(net.n_params, dtype)
    dW1, dW2 = grad[:12].reshape(3, 4), grad[16:20].reshape(4, 1)

    def sigmoid(Z, A, U):
        _clip(Z, c.lo, c.hi, out=A)
        np.exp(A, out=A)
        np.add(A, c.one, out=U)
        np.divide(A, U, out=A)

    def state_of(p, count, loss):
        return fnn.TrainState(owning(fnn.Params, p, net.shapes), SgdState(count), count, loss, optimizer=opt)

    def step(p, count, loss):
        W1, W2 = p[:12].reshape(3, 4), p[16:20].reshape(4, 1)
        sigmoid(np.dot(X, W1, out=Z1), A1, U1)
        sigmoid(np.dot(A1, W2, out=Z2), A2, U2)
        J = np.vdot(np.subtract(A2, Y, out=D), D)  # the residual, which the output delta then starts from
        if not math.isfinite(J):
            raise fnn.DivergenceError(count, state_of(p, count, loss), float(J))
        np.divide(D, half, out=D)
        np.multiply(D, np.divide(A2, U2, out=U2), out=D)
        np.dot(A1.T, D, out=dW2)
        np.dot(D, W2.T, out=dZ1)
        np.multiply(dZ1, np.divide(A1, U1, out=U1), out=dZ1)
        np.dot(X.T, dZ1, out=dW1)
        new = np.multiply(grad, lr, out=np.empty_like(p))
        np.subtract(p, new, out=new)
        if not math.isfinite(np.vdot(new, unit)):
            raise fnn.DivergenceError(count, state_of(p, count, loss), float(J))
        return new, J

    p, loss, losses = fnn.Params(tuple(fnn.LayerParams(W, b) for W, b in pairs)).flat, math.nan, []
    with np.errstate(over="ignore", invalid="ignore"):
        for count in range(epochs):
            p, loss = step(p, count, loss)
            losses.append(float(loss))
    state = state_of(p, epochs, loss)
    return [(layer.W, layer.b) for layer in state.params.layers]


def sklearn_model(w, X, y, pairs, epochs, shuffle):
    """An ``MLPClassifier`` primed with one untimed iteration, then given the initial weights."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    act = {"relu": "relu", "tanh": "tanh", "sigmoid": "logistic"}[w.hidden]
    clf = MLPClassifier(
        hidden_layer_sizes=w.sizes[1:-1], activation=act, solver=w.optimizer, alpha=w.l2,
        batch_size=w.batch_size or X.shape[0], learning_rate_init=w.lr, max_iter=1, shuffle=shuffle,
        random_state=0, tol=0.0, n_iter_no_change=10**9, momentum=0.0, nesterovs_momentum=False,
        epsilon=1e-8, warm_start=True,
    )
    target = fnn.targets(network(w), y).astype(int) if w.id == "W2" else y
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, target)
    clf.coefs_ = [W.astype(X.dtype, copy=True) for W, _ in pairs]
    clf.intercepts_ = [b.astype(X.dtype, copy=True) for _, b in pairs]
    if w.id == "W2":
        clf.out_activation_ = "softmax"  # two one-hot columns would otherwise be two logistic units
    clf.max_iter = epochs
    return clf, target


def run_sklearn(w, X, y, pairs, epochs, shuffle=True):
    """scikit-learn's MLPClassifier (W5: the closest it has, logistic units with biases and log-loss)."""
    from sklearn.exceptions import ConvergenceWarning

    if w.id == "W5":
        pairs = [(W, np.zeros(W.shape[1], X.dtype)) for W, _ in pairs]
    clf, target = sklearn_model(w, X, y, pairs, epochs, shuffle)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, target)
    return list(zip(clf.coefs_, clf.intercepts_))


def run_torch(w, X, y, pairs, epochs):
    """PyTorch eager: nn.Linear layers, autograd, torch.optim, ``loss.item()`` every step."""
    import torch

    dtype = torch.float64 if w.dtype == np.float64 else torch.float32
    acts = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid}
    layers = []
    for i, (W, b) in enumerate(pairs):
        lin = torch.nn.Linear(W.shape[0], W.shape[1], bias=w.bias, dtype=dtype)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(np.ascontiguousarray(W.T)))
            if w.bias:
                lin.bias.copy_(torch.from_numpy(b))
        layers.append(lin)
        if i < len(pairs) - 1:
            layers.append(acts[w.hidden]())
    if w.id == "W5":
        layers.append(torch.nn.Sigmoid())
    model = torch.nn.Sequential(*layers)
    Xt = torch.from_numpy(X)
    if w.loss == "binary_cross_entropy":
        Yt, loss_fn = torch.from_numpy(y.reshape(-1, 1).astype(w.dtype)), torch.nn.BCEWithLogitsLoss()
    elif w.loss == "categorical_cross_entropy":
        Yt, loss_fn = torch.from_numpy(y.astype(np.int64)), torch.nn.CrossEntropyLoss()
    else:
        Yt, loss_fn = torch.from_numpy(y.reshape(-1, 1).astype(w.dtype)), lambda out, t: ((out - t) ** 2).sum()
    opt = torch.optim.SGD(model.parameters(), lr=w.lr) if w.optimizer == "sgd" else torch.optim.Adam(model.parameters(), lr=w.lr, eps=1e-8)
    weights = [layer.weight for layer in layers if isinstance(layer, torch.nn.Linear)]
    for e in range(epochs):
        for idx in batch_indices(w, X.shape[0], e):
            xb, yb = (Xt, Yt) if isinstance(idx, slice) else (Xt[idx], Yt[idx])
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            if w.l2:
                loss = loss + w.l2 / (2 * xb.shape[0]) * sum((W * W).sum() for W in weights)
            loss.backward()
            opt.step()
            loss.item()
    lins = [layer for layer in layers if isinstance(layer, torch.nn.Linear)]
    return [(lin.weight.detach().numpy().T, lin.bias.detach().numpy() if w.bias else np.zeros(lin.out_features)) for lin in lins]


# --- checks, timing, the GEMM floor ------------------------------------------------------------


def initial_pairs(w: Workload) -> list[tuple[np.ndarray, np.ndarray]]:
    params = fnn.init_params(network(w), seed=0, dtype=w.dtype)
    return [(np.array(layer.W), np.array(layer.b)) for layer in params.layers]


def max_rel_diff(a, b) -> float:
    """Largest ``|a - b| / (|b| + 1e-3)`` over every parameter: how far two trajectories end apart."""
    return max(float(np.max(np.abs(x - y) / (np.abs(y) + 1e-3))) for pa, pb in zip(a, b) for x, y in zip(pa, pb))


def full_cost(w: Workload, X, y, pairs) -> float:
    """fnn's cost of ``pairs`` on the whole training set."""
    net = network(w)
    params = fnn.Params(tuple(fnn.LayerParams(W.astype(w.dtype), b.astype(w.dtype)) for W, b in pairs))
    _, cache = fnn.forward(net, params, X)
    return float(fnn.cost(net, params, cache, fnn.targets(net, y).astype(w.dtype)))


def check(w, name, run, X, y, fnn_end, steps, tol) -> float:
    """Run ``steps`` epochs from the shared start and compare the end with fnn's; raise when apart.

    The distance is ``max_rel_diff`` of the parameters, or for scikit-learn's Adam (whose eps sits
    inside the bias correction, so single weights with tiny gradients move differently) the
    relative difference of the training cost at the end.
    """
    end = run(w, X, y, initial_pairs(w), steps)
    if name == "sklearn" and w.optimizer == "adam":
        ref = full_cost(w, X, y, fnn_end)
        diff = abs(full_cost(w, X, y, end) - ref) / ref
    else:
        diff = max_rel_diff(end, fnn_end)
    if not diff <= tol:
        raise AssertionError(f"{w.name} {name}: the end after {steps} epochs differs from fnn's by {diff:.2e} (> {tol:.0e})")
    return diff


def steps_per_run(w: Workload, m: int) -> int:
    """Training steps in one timed run of ``w`` on ``m`` rows."""
    return w.epochs * (1 if w.batch_size is None else -(-m // w.batch_size))


def clocked(run, w, X, y, pairs) -> tuple[float, int]:
    """Seconds and page faults of one run."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    t0 = time.perf_counter()
    run(w, X, y, pairs, w.epochs)
    return time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


def timed(runs: dict[str, Callable], w, X, y, repeats) -> dict[str, dict]:
    """Per contender: ``first``, the seconds of its first run in this process (no warm-up); ``warm``,
    the median seconds of ``repeats`` runs after it; ``faults``, page faults per step over those.
    The contenders take turns run by run, so a drift in the machine's speed touches them all alike."""
    pairs = initial_pairs(w)
    first = {name: clocked(run, w, X, y, pairs)[0] for name, run in runs.items()}
    times, faults = {name: [] for name in runs}, dict.fromkeys(runs, 0)
    for _ in range(repeats):
        for name, run in runs.items():
            seconds, n = clocked(run, w, X, y, pairs)
            times[name].append(seconds)
            faults[name] += n
    steps = repeats * steps_per_run(w, X.shape[0])
    return {name: {"first": first[name], "warm": statistics.median(times[name]), "faults": faults[name] / steps} for name in runs}


def timed_fresh(w: Workload, names: list[str], repeats: int, threads: int | None) -> dict[str, dict]:
    """``timed`` of each contender alone in a fresh Python process (as a user runs a script), one after another."""
    out = {}
    for name in names:
        cmd = [sys.executable, __file__, "--measure", w.name, name, "--repeats", str(repeats)]
        cmd += ["--threads", str(threads)] if threads else []
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode:
            raise RuntimeError(f"{w.name} {name} in a fresh process failed:\n{done.stderr}")
        out[name] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def measure(workload: str, name: str, repeats: int) -> None:
    """The ``--measure`` worker: ``timed`` of one contender on one workload, as a JSON line."""
    w = next(w for w in all_workloads(False) if w.name == workload)
    X, y = load(w)
    print(json.dumps(timed({name: CONTENDERS[name]}, w, X, y, repeats)[name]))


def best_product_time(P: np.ndarray, Q: np.ndarray, reps: int) -> float:
    """The best of ``reps`` timings of ``P @ Q`` into one preallocated array, in seconds."""
    out, best = np.empty((P.shape[0], Q.shape[1]), np.result_type(P, Q)), np.inf
    for _ in range(reps):
        t0 = time.perf_counter()
        np.matmul(P, Q, out=out)
        best = min(best, time.perf_counter() - t0)
    return best


def gemm_floor(w: Workload, m: int, reps: int = 5) -> float:
    """Seconds per epoch: the best measured time of every matrix product of a step, at its exact
    shape and layout (``Z = A_prev @ W``, ``dW = A_prev.T @ dZ``, ``dA_prev = dZ @ W.T``), summed."""
    rng = np.random.default_rng(0)
    rows = [w.batch_size] * (m // w.batch_size) + ([m % w.batch_size] if m % w.batch_size else [])
    total = 0.0
    for r in sorted(set(rows)):
        step = 0.0
        for i, (a, b) in enumerate(zip(w.sizes, w.sizes[1:])):
            A_prev, W, dZ = (rng.standard_normal(s).astype(w.dtype) for s in ((r, a), (a, b), (r, b)))
            products = [(A_prev, W), (A_prev.T, dZ)] + ([(dZ, W.T)] if i else [])
            step += sum(best_product_time(P, Q, reps) for P, Q in products)
        total += step * rows.count(r)
    return total


def epoch_flops(w: Workload, m: int) -> float:
    """Floating-point operations of the products ``gemm_floor`` times, over one epoch of ``m`` rows."""
    return sum(2.0 * m * a * b * (3 if i else 2) for i, (a, b) in enumerate(zip(w.sizes, w.sizes[1:])))


def gemm_rate(dtype: type, n: int = 1024, reps: int = 5) -> float:
    """This machine's GEMM figure: GFLOP/s of the best of ``reps`` ``(n, n) @ (n, n)`` products in ``dtype``."""
    rng = np.random.default_rng(0)
    P, Q = (rng.standard_normal((n, n)).astype(dtype) for _ in range(2))
    return 2.0 * n**3 / best_product_time(P, Q, reps) / 1e9


CONTENDERS = {"tutorial": run_tutorial, "document": run_document, "hand": run_hand, "fit": run_fnn, "fold": run_fold,
              "sklearn": run_sklearn, "torch": run_torch}
FNN = ("fit", "fold")  # fnn's two paths
ONLY_FOR = {"document": ("W2", "W5"), "hand": ("W5",)}  # contenders written for some workloads only


def tolerance(w: Workload, name: str) -> float:
    """How far a contender may end from fnn: float rounding, or sklearn's Adam (eps inside the bias correction)."""
    if name == "sklearn" and w.optimizer == "adam":
        return 1e-3
    return 1e-6 if w.dtype == np.float64 else 2e-2


def bench(w: Workload, names: list[str], repeats: int, quick: bool, fresh: bool, threads: int | None) -> dict:
    X, y = load(w)
    steps = (1 if quick else 2) if w.batch_size else 20
    Xc, yc = X[:2048], y[:2048]  # the check: W4 on its first 2048 rows (float32 noise fitting drifts over a whole epoch)
    fnn_end = run_fnn(w, Xc, yc, initial_pairs(w), steps)
    row = {"workload": w, "check": {}}
    runs = {}
    for name in names:
        run = CONTENDERS[name]
        if w.id not in ONLY_FOR.get(name, (w.id,)):
            continue
        if name == "sklearn":
            if w.id == "W5":
                row["check"][name] = "closest config"
            else:
                # sklearn cannot take fnn's batch order: compare unshuffled runs for minibatch workloads
                ref = fnn_end if not w.batch_size else fnn_unshuffled(w, Xc, yc, steps)
                unshuffled = lambda *a: run_sklearn(*a, shuffle=False)  # noqa: E731
                row["check"][name] = check(w, name, unshuffled, Xc, yc, ref, steps, tolerance(w, name))
        elif name != "fit":
            row["check"][name] = check(w, name, run, Xc, yc, fnn_end, steps, tolerance(w, name))
        runs[name] = run
    row["timing"] = timed_fresh(w, list(runs), repeats, threads) if fresh else timed(runs, w, X, y, repeats)
    row["times"] = {name: t["warm"] for name, t in row["timing"].items()}
    if w.id == "W4":
        row["floor"] = gemm_floor(w, X.shape[0], reps=3 if quick else 10)
        n = 256 if quick else 1024
        row["gflops"] = (epoch_flops(w, X.shape[0]) / row["floor"] / 1e9, gemm_rate(w.dtype, n), n)
    return row


def fnn_unshuffled(w, X, y, steps):
    """fnn over batches in row order (what sklearn's ``shuffle=False`` sees)."""
    net = network(w)
    params = fnn.Params(tuple(fnn.LayerParams(W, b) for W, b in initial_pairs(w)))
    opt = fnn.sgd(w.lr) if w.optimizer == "sgd" else fnn.adam(w.lr)
    Y = fnn.targets(net, y).astype(w.dtype)
    m = X.shape[0]
    batches = [(X[lo : lo + w.batch_size], Y[lo : lo + w.batch_size]) for _ in range(steps) for lo in range(0, m, w.batch_size)]
    final = fnn.fold(fnn.train_step(net, opt), batches, fnn.init_state(params, opt))
    return [(layer.W, layer.b) for layer in final.params.layers]


def table(rows: list[dict], names: list[str]) -> str:
    """The markdown table: time per unit (ratio to the tutorial) per contender, faults, W4's floor."""
    head = "| workload | unit | " + " | ".join(names) + " | fit faults/step |"
    lines = [head, "|" + " --- |" * (len(names) + 3)]
    for row in rows:
        w, times = row["workload"], row["times"]
        per_unit = {n: times[n] / w.epochs * w.scale for n in times}
        cells = []
        for n in names:
            if n not in times:
                cells.append("n/a")
                continue
            mark = "*" if row["check"].get(n) == "closest config" else ""
            cells.append(f"{per_unit[n]:.4g}{mark} ({times[n] / times['tutorial']:.2f})" if "tutorial" in times else f"{per_unit[n]:.4g}{mark}")
        lines.append(f"| {w.name} | {w.unit} | " + " | ".join(cells) + f" | {row['timing']['fit']['faults']:.3g} |")
    for row in rows:
        if "floor" in row:
            w, floor = row["workload"], row["floor"]
            shares = ", ".join(f"{n} {floor / row['times'][n] * w.epochs:.0%}" for n in names if n in row["times"])
            floor_rate, machine, n = row["gflops"]
            lines.append(f"\n{w.name} GEMM floor: {floor:.3f} s/epoch ({floor_rate:.0f} GFLOP/s at the step's shapes; "
                         f"this machine's GEMM: {machine:.0f} GFLOP/s on {n} x {n} products); share of the floor: {shares}")
    return "\n".join(lines)


def paths_table(rows: list[dict]) -> str:
    """fnn's two paths: the first run of a process (fresh) and the median after it (warm), per unit,
    ``fold(train_step)`` over ``fit``, the fresh runs against the tutorial code's fresh run, and the
    page faults per step of the timed runs."""
    lines = ["| workload | unit | fit fresh | fit warm | fold fresh | fold warm | fold / fit (warm) | fresh / warm (fit, fold) "
             "| tutorial fresh | fresh / tutorial fresh (fit, fold) | faults/step (fit, fold) |", "|" + " --- |" * 11]
    for row in rows:
        w, t = row["workload"], row["timing"]
        fit, fold, tut = t["fit"], t["fold"], t.get("tutorial")
        unit = lambda s: f"{s / w.epochs * w.scale:.4g}"  # noqa: E731
        versus = "n/a | n/a" if tut is None else (f"{unit(tut['first'])} | {fit['first'] / tut['first']:.2f}, "
                                                  f"{fold['first'] / tut['first']:.2f}")
        lines.append(f"| {w.name} | {w.unit} | {unit(fit['first'])} | {unit(fit['warm'])} | {unit(fold['first'])} | "
                     f"{unit(fold['warm'])} | {fold['warm'] / fit['warm']:.3f} | {fit['first'] / fit['warm']:.2f}, "
                     f"{fold['first'] / fold['warm']:.2f} | {versus} | {fit['faults']:.3g}, {fold['faults']:.3g} |")
    return "\n".join(lines)


def available(names: list[str]) -> list[str]:
    out = []
    for n in names:
        try:
            __import__({"sklearn": "sklearn", "torch": "torch"}.get(n, "numpy"))
            out.append(n)
        except ImportError:
            print(f"skipping {n}: not installed", file=sys.stderr)
    return out


def profile(w: Workload) -> str:
    """pyinstrument's call tree (text) of one ``fold(train_step)`` run of ``w``, after a warm-up run."""
    from pyinstrument import Profiler

    X, y = load(w)
    pairs = initial_pairs(w)
    run_fold(w, X, y, pairs, w.epochs)
    profiler = Profiler(interval=0.0001)
    with profiler:
        run_fold(w, X, y, pairs, w.epochs)
    return profiler.output_text(unicode=True, color=False)


QUICK_BANNER = (
    "=" * 78 + "\n"
    "SMOKE RUN (--quick): tiny sizes, one timed run each. These timings mean nothing; they only show\n"
    "that every contender runs and agrees with fnn. Compare speeds only from a full run (no --quick).\n"
    + "=" * 78
)


# --- data larger than memory (--memmap) ---------------------------------------------------------


def memmap_run(path: str, threads: int | None, rows: int = 2**21, cols: int = 256) -> dict:
    """``scripts/memmap_demo.py`` in a fresh process: one epoch of ``fnn.fit`` on a ``(rows, cols)``
    float32 memmap at ``path`` (written if missing); its JSON measures."""
    env = {**os.environ, **({"OPENBLAS_NUM_THREADS": str(threads)} if threads else {})}
    cmd = [sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "memmap_demo.py"), "--path", path,
           "--rows", str(rows), "--cols", str(cols)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    if done.returncode:
        raise RuntimeError(f"memmap case failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def memmap_table(m: dict) -> str:
    return "\n".join([
        "| data | batch | seconds | peak anonymous memory growth | of which the labels' targets | model |",
        "| --- | --- | --- | --- | --- | --- |",
        f"| {m['rows']} x {m['cols']} float32 memmap ({m['data_mib']} MiB) | {m['batch_size']} | {m['seconds']} | "
        f"{m['peak_anon_mib']} MiB | {m['labels_mib']} MiB | {m['model_kib']} KiB |",
    ])


# --- stacked members (--members) -----------------------------------------------------------

MEMBER_TARGETS = {"W5": (256, "µs/member-step", 0.5), "W2": (64, "µs/member-step", 8.0), "W3": (16, "x K single fits", 0.6)}
"""Per workload: members ``K`` and the target (issue 17): W5, W2 in µs per member-step, W3 as the
ratio of the stacked fit's time to ``K`` single fits'."""


def members_rows(quick: bool = False, repeats: int = 3, singles: int = 4) -> list[dict]:
    """Time ``fnn.fit(..., seed=list(range(K)))`` (K members in one stacked fold) against single fits,
    in this process, each the median of ``repeats`` runs after a warm-up; ``singles`` single fits are
    timed and scaled to ``K`` (all ``K`` for W3). Member 0 is checked against the single fit with seed 0
    over bench's check length (20 full-batch steps, 2 epochs of batches: W2 at lr 3 is chaotic over thousands).
    Returns one row per workload: ``K``, steps, seconds of the stacked fit and of one single fit,
    µs per member-step, ratio and the target."""
    rows = []
    for wid, (K, unit, target) in MEMBER_TARGETS.items():
        w = next(x for x in WORKLOADS if x.id == wid)
        if quick:
            w, K = replace(w, epochs=1 if w.batch_size else 5), min(K, 4)
        X, y = load(w)
        net = network(w)
        make = (lambda: fnn.sgd(w.lr)) if w.optimizer == "sgd" else (lambda: fnn.adam(w.lr))
        seeds = list(range(K))
        stacked = lambda: fnn.fit(net, X, y, make(), epochs=w.epochs, batch_size=w.batch_size, seed=seeds)  # noqa: E731
        n_single = K if wid == "W3" or quick else min(singles, K)
        single = lambda: [fnn.fit(net, X, y, make(), epochs=w.epochs, batch_size=w.batch_size, seed=s) for s in range(n_single)]  # noqa: E731
        stacked(), single()  # warm-up
        short = 2 if w.batch_size else 20  # the check, over as many steps as bench's (long runs of W2 are chaotic)
        ours = fnn.fit(net, X, y, make(), epochs=short, batch_size=w.batch_size, seed=seeds)
        theirs = fnn.fit(net, X, y, make(), epochs=short, batch_size=w.batch_size, seed=0)
        diff = max_rel_diff([[ours.state.params.flat[0]]], [[theirs.state.params.flat]])
        if not diff <= 1e-8:
            raise AssertionError(f"{wid} members: member 0 differs from the single fit with seed 0 by {diff:.2e}")
        t_stacked, t_single = [], []
        for _ in range(repeats):  # taking turns, so a drift in the machine's speed touches both
            t0 = time.perf_counter()
            stacked()
            t_stacked.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            single()
            t_single.append((time.perf_counter() - t0) / n_single)
        steps = steps_per_run(w, X.shape[0])
        a, b = statistics.median(t_stacked), statistics.median(t_single)
        rows.append({"workload": wid, "K": K, "steps": steps, "stacked_s": a, "single_s": b, "diff": diff,
                     "member_step_us": a / (steps * K) * 1e6, "single_step_us": b / steps * 1e6,
                     "ratio": a / (K * b), "unit": unit, "target": target})
    return rows


def members_table(rows: list[dict]) -> str:
    """The ``members_rows`` as a markdown table."""
    out = ["| workload | K | steps | stacked µs/member-step | single µs/step | stacked / K singles | target | met |",
           "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        value = r["ratio"] if r["unit"].startswith("x") else r["member_step_us"]
        out.append(f"| {r['workload']} | {r['K']} | {r['steps']} | {r['member_step_us']:.3g} | {r['single_step_us']:.3g} | "
                   f"{r['ratio']:.3f} | <= {r['target']} {r['unit']} | {'yes' if value <= r['target'] else 'no'} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run on small sizes, all in this process")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per contender (default 3; quick 1)")
    parser.add_argument("--only", default="", help="comma-separated workload names, e.g. W1,W4,'W4 f32'")
    parser.add_argument("--no-sklearn", action="store_true")
    parser.add_argument("--no-torch", action="store_true")
    parser.add_argument("--threads", type=int, default=None, help="BLAS/torch threads for every contender (default: theirs)")
    parser.add_argument("--in-process", action="store_true",
                        help="time every contender in this one process, taking turns (default: each in a fresh process)")
    parser.add_argument("--profile", action="store_true", help="print where fnn's time goes in each workload instead (pyinstrument)")
    parser.add_argument("--memmap", metavar="PATH", default=None,
                        help="instead: one epoch on a 2 GiB float32 memmap written at PATH (scripts/memmap_demo.py), "
                             "in a fresh process; prints its time and peak memory growth")
    parser.add_argument("--members", action="store_true",
                        help="time K stacked members (fnn.fit with seed=[...]) against K single fits instead (one BLAS thread)")
    parser.add_argument("--measure", nargs=2, metavar=("WORKLOAD", "CONTENDER"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.threads:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
        if "torch" in available(["torch"] if not args.no_torch else []):
            import torch

            torch.set_num_threads(args.threads)
    repeats = args.repeats or (1 if args.quick else 3)
    if args.memmap:
        print(memmap_table(memmap_run(args.memmap, args.threads)))
        return []
    if args.members:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(args.threads or 1):
            rows = members_rows(args.quick, repeats)
        print(f"Stacked members, in this one process, {args.threads or 1} BLAS thread(s); the median of {repeats} runs"
              " after a warm-up, stacked and single fits taking turns.\n")
        print(members_table(rows))
        return rows
    if args.measure:
        measure(*args.measure, repeats)
        return []
    if args.quick:
        print(QUICK_BANNER, flush=True)
    names = ["tutorial", "document", "hand", *FNN] + [n for n, off in (("sklearn", args.no_sklearn), ("torch", args.no_torch)) if not off]
    names = available(names)
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    fresh = not (args.quick or args.in_process)
    rows = []
    for w in all_workloads(args.quick):
        if only and w.name not in only and w.id not in only:
            continue
        if args.profile:
            print(f"## {w.name}\n{profile(w)}")
            continue
        rows.append(bench(w, names, repeats, args.quick, fresh, args.threads))
        print(f"{w.name} done: " + ", ".join(f"{n} {t:.3f}s" for n, t in rows[-1]["times"].items()), file=sys.stderr, flush=True)
    if args.profile:
        return rows
    print((QUICK_BANNER + "\n" if args.quick else "") + f"Each contender {'in a fresh process' if fresh else 'in this one process'};"
          f" warm: the median of {repeats} runs after its first; ratios to the tutorial code's warm time.\n")
    print(table(rows, names))
    print("\n* W5 scikit-learn: closest configuration it has (biases, log-loss), not the same math; not checked.")
    print("tutorial: the seed documents' generic L-layer style (dicts, columns, cost every step); document: the"
          " document's own code for that one network, where it has one (W2: 001, W5: 004 ch. 1); hand: W5's step"
          " written out by hand with fnn's operations, checks and records (fnn's result bit for bit), so hand / fit is what"
          " fnn's generic stages cost there; fit: fnn.fit; fold: fnn.fold(fnn.train_step(net, opt), fnn.batches(...), state).\n")
    print(paths_table(rows))
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
