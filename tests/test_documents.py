"""The documents' own algorithms, transcribed as plain NumPy, against fnn from the same weights.

For experiments 2 (XOR, 004 ch. 1), 3 (shallow moons, 001) and 5 (architecture list, 004 ch. 2)
fnn, configured as the scripts configure it, must follow the document's trajectory: the params
after every step and the cost of every step agree to 1e-10 for a few hundred steps.
"""
import numpy as np
import pytest
from sklearn.datasets import make_moons
from threadpoolctl import threadpool_limits

import architecture_list
import fnn
import shallow_moons
import xor

STEPS = 300
TOL = dict(rtol=1e-10, atol=1e-10)


@pytest.fixture(autouse=True)
def one_blas_thread():
    """These small products run several times faster on one thread of a shared 2-core machine."""
    with threadpool_limits(limits=1):
        yield


def fnn_trail(net, optimizer, params, X, Y, steps):
    """fnn's states after each of ``steps`` full-batch steps (the initial state dropped)."""
    trail = fnn.scan(fnn.train_step(net, optimizer), fnn.batches(X, Y, epochs=steps), fnn.init_state(params, optimizer))
    return list(trail)[1:]


def params_of(pairs):
    return fnn.Params([fnn.LayerParams(W, b) for W, b in pairs])


def assert_same_trajectory(states, doc_params, doc_costs):
    """``states[k]`` (after k+1 steps) against the document's params after k+1 updates and cost k."""
    assert len(states) == len(doc_params) == len(doc_costs) == STEPS
    np.testing.assert_allclose([s.loss for s in states], doc_costs, **TOL)
    for state, pairs in zip(states, doc_params):
        for layer, (W, b) in zip(state.params.layers, pairs):
            np.testing.assert_allclose(layer.W, W, **TOL)
            np.testing.assert_allclose(layer.b, b, **TOL)


# --- 004 ch. 1: XOR, weights += d_weights with the factor 2 of the sum of squares --------------


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def sigmoid_derivative(x):
    return x * (1.0 - x)


def document_xor(X, y, weights1, weights2, steps):
    """NeuralNetwork.feedforward + backprop of 004 ch. 1; the cost is sum((y - output)^2)."""
    params, costs = [], []
    for _ in range(steps):
        layer1 = sigmoid(np.dot(X, weights1))
        output = sigmoid(np.dot(layer1, weights2))
        costs.append(np.sum((y - output) ** 2))
        d_weights2 = np.dot(layer1.T, (2 * (y - output) * sigmoid_derivative(output)))
        d_weights1 = np.dot(X.T, (np.dot(2 * (y - output) * sigmoid_derivative(output), weights2.T) * sigmoid_derivative(layer1)))
        weights1 = weights1 + d_weights1
        weights2 = weights2 + d_weights2
        params.append([(weights1, np.zeros(4)), (weights2, np.zeros(1))])
    return params, costs


def xor_trails(learning_rate):
    """fnn's states with ``sgd(learning_rate)`` and the document's params and costs, from np.random.rand weights."""
    X, y = fnn.data.xor()
    Y = y[:, None].astype(float)
    rng = np.random.RandomState(1)
    weights1, weights2 = rng.rand(3, 4), rng.rand(4, 1)
    start = params_of([(weights1, np.zeros(4)), (weights2, np.zeros(1))])
    states = fnn_trail(xor.network(), fnn.sgd(learning_rate), start, X, Y, STEPS)
    return (states, *document_xor(X, Y, weights1, weights2, STEPS))


def test_xor_follows_the_document_with_learning_rate_1():
    assert_same_trajectory(*xor_trails(1.0))


def test_xor_with_half_the_learning_rate_leaves_the_document():
    """The mapping is exact: lr 0.5 (the gradient of SSE/2) does not follow the document."""
    with pytest.raises(AssertionError):
        assert_same_trajectory(*xor_trails(0.5))


# --- 001: shallow moons, W -= 0.01 * (summed gradient + 0.01 W) ----------------------------------


def document_moons(X, y, W1, b1, W2, b2, steps, epsilon=0.01, reg_lambda=0.01):
    """build_model of 001 (its calculate_loss for the cost), copied to leave the inputs alone."""
    W1, b1, W2, b2 = W1.copy(), b1.copy(), W2.copy(), b2.copy()
    num_examples = len(X)
    params, costs = [], []
    for _ in range(steps):
        z1 = X.dot(W1) + b1
        a1 = np.tanh(z1)
        z2 = a1.dot(W2) + b2
        exp_scores = np.exp(z2)
        probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True)
        data_loss = np.sum(-np.log(probs[range(num_examples), y]))
        data_loss += reg_lambda / 2 * (np.sum(np.square(W1)) + np.sum(np.square(W2)))
        costs.append(1.0 / num_examples * data_loss)
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
        params.append([(W1.copy(), b1.ravel().copy()), (W2.copy(), b2.ravel().copy())])
    return params, costs


def test_shallow_moons_follow_the_document():
    X, y = make_moons(300, noise=0.20, random_state=0)
    rng = np.random.RandomState(0)
    nn_hdim = 3
    W1 = rng.randn(2, nn_hdim) / np.sqrt(2)
    W2 = rng.randn(nn_hdim, 2) / np.sqrt(nn_hdim)
    b1, b2 = np.zeros((1, nn_hdim)), np.zeros((1, 2))
    doc_params, doc_costs = document_moons(X, y, W1, b1, W2, b2, STEPS)
    net, optimizer = shallow_moons.model(nn_hdim, len(X))
    start = params_of([(W1, b1.ravel()), (W2, b2.ravel())])
    assert_same_trajectory(fnn_trail(net, optimizer, start, X, fnn.targets(net, y), STEPS), doc_params, doc_costs)


def test_moons_data_equal_the_documents_global_seed():
    """The document seeds numpy's global generator with 0 and calls make_moons without a seed."""
    state = np.random.get_state()
    try:
        np.random.seed(0)
        X_doc, y_doc = make_moons(300, noise=0.20)
    finally:
        np.random.set_state(state)
    X, y = make_moons(300, noise=0.20, random_state=0)
    np.testing.assert_array_equal(X, X_doc)
    np.testing.assert_array_equal(y, y_doc)


# --- 004 ch. 2: the architecture list, samples in columns (W_ng: (n_out, n_in)) ------------------

NN_ARCHITECTURE = [
    {"input_dim": 2, "output_dim": 25, "activation": "relu"},
    {"input_dim": 25, "output_dim": 50, "activation": "relu"},
    {"input_dim": 50, "output_dim": 50, "activation": "relu"},
    {"input_dim": 50, "output_dim": 25, "activation": "relu"},
    {"input_dim": 25, "output_dim": 1, "activation": "sigmoid"},
]


def init_layers(nn_architecture, seed=99):
    rng = np.random.RandomState(seed)
    params_values = {}
    for idx, layer in enumerate(nn_architecture):
        layer_idx = idx + 1
        params_values["W" + str(layer_idx)] = rng.randn(layer["output_dim"], layer["input_dim"]) * 0.1
        params_values["b" + str(layer_idx)] = rng.randn(layer["output_dim"], 1) * 0.1
    return params_values


def relu(Z):
    return np.maximum(0, Z)


def sigmoid_backward(dA, Z):
    sig = sigmoid(Z)
    return dA * sig * (1 - sig)


def relu_backward(dA, Z):
    dZ = np.array(dA, copy=True)
    dZ[Z <= 0] = 0
    return dZ


def full_forward_propagation(X, params_values, nn_architecture):
    memory = {}
    A_curr = X
    for idx, layer in enumerate(nn_architecture):
        layer_idx = idx + 1
        A_prev = A_curr
        Z_curr = np.dot(params_values["W" + str(layer_idx)], A_prev) + params_values["b" + str(layer_idx)]
        A_curr = (relu if layer["activation"] == "relu" else sigmoid)(Z_curr)
        memory["A" + str(idx)] = A_prev
        memory["Z" + str(layer_idx)] = Z_curr
    return A_curr, memory


def get_cost_value(Y_hat, Y):
    m = Y_hat.shape[1]
    cost = -1 / m * (np.dot(Y, np.log(Y_hat).T) + np.dot(1 - Y, np.log(1 - Y_hat).T))
    return np.squeeze(cost)


def full_backward_propagation(Y_hat, Y, memory, params_values, nn_architecture):
    grads_values = {}
    m = Y.shape[1]
    Y = Y.reshape(Y_hat.shape)
    dA_prev = -(np.divide(Y, Y_hat) - np.divide(1 - Y, 1 - Y_hat))
    for layer_idx_prev, layer in reversed(list(enumerate(nn_architecture))):
        layer_idx_curr = layer_idx_prev + 1
        A_prev = memory["A" + str(layer_idx_prev)]
        Z_curr = memory["Z" + str(layer_idx_curr)]
        W_curr = params_values["W" + str(layer_idx_curr)]
        backward = relu_backward if layer["activation"] == "relu" else sigmoid_backward
        dZ_curr = backward(dA_prev, Z_curr)
        grads_values["dW" + str(layer_idx_curr)] = np.dot(dZ_curr, A_prev.T) / m
        grads_values["db" + str(layer_idx_curr)] = np.sum(dZ_curr, axis=1, keepdims=True) / m
        dA_prev = np.dot(W_curr.T, dZ_curr)
    return grads_values


def update(params_values, grads_values, nn_architecture, learning_rate):
    for layer_idx, layer in enumerate(nn_architecture, 1):
        params_values["W" + str(layer_idx)] -= learning_rate * grads_values["dW" + str(layer_idx)]
        params_values["b" + str(layer_idx)] -= learning_rate * grads_values["db" + str(layer_idx)]
    return params_values


def as_fnn_pairs(params_values):
    """``W_fnn = W_ng.T``, ``b_fnn = b_ng.ravel()``, copied."""
    n = len(params_values) // 2
    return [(params_values[f"W{l}"].T.copy(), params_values[f"b{l}"].ravel().copy()) for l in range(1, n + 1)]


def document_train(X, Y, params_values, nn_architecture, epochs, learning_rate):
    params, costs = [], []
    for _ in range(epochs):
        Y_hat, cache = full_forward_propagation(X, params_values, nn_architecture)
        costs.append(get_cost_value(Y_hat, Y))
        grads_values = full_backward_propagation(Y_hat, Y, cache, params_values, nn_architecture)
        params_values = update(params_values, grads_values, nn_architecture, learning_rate)
        params.append(as_fnn_pairs(params_values))
    return params, costs


def test_architecture_list_follows_the_document():
    from sklearn.model_selection import train_test_split

    X, y = make_moons(1000, noise=0.2, random_state=100)
    X_tr, _, y_tr, _ = train_test_split(X, y, test_size=0.1, random_state=42)
    start = init_layers(NN_ARCHITECTURE, 2)
    net, optimizer = architecture_list.model(0.01)
    fnn_start = params_of(as_fnn_pairs(start))
    doc_params, doc_costs = document_train(X_tr.T, y_tr.reshape(1, -1), start, NN_ARCHITECTURE, STEPS, 0.01)
    assert_same_trajectory(fnn_trail(net, optimizer, fnn_start, X_tr, fnn.targets(net, y_tr), STEPS), doc_params, doc_costs)


@pytest.mark.slow
def test_the_documents_moons_loss_spikes_too():
    """The report's note: the document's own step (lr 3 on the mean cost) makes the loss spike."""
    X, y = make_moons(300, noise=0.20, random_state=0)
    rng = np.random.RandomState(0)
    W1, W2 = rng.randn(2, 3) / np.sqrt(2), rng.randn(3, 2) / np.sqrt(3)
    _, costs = document_moons(X, y, W1, np.zeros((1, 3)), W2, np.zeros((1, 2)), 20000)
    assert min(costs[2000:]) < 0.07 and max(costs[2000:]) > 0.5
