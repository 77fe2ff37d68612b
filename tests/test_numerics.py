"""Numerics: saturated activations and losses are exact, finite and silent; random finite input never gives NaN.

The fixed cases run under ``np.errstate(all="raise")`` with every warning an error, so an
overflow, underflow, invalid operation or division by zero anywhere fails the test.
"""
from __future__ import annotations

import warnings
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fnn


@contextmanager
def strict():
    with np.errstate(all="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def one_unit(output: str, w: float, dtype=np.float64, hidden: str | None = None):
    """A ``1 -> 1`` network (or ``1 -> 1 -> 1`` with ``hidden``) whose layers all have weight ``w``."""
    sizes = [1, 1] if hidden is None else [1, 1, 1]
    net = fnn.network(sizes, hidden=hidden or "relu", output=output)
    layers = tuple(fnn.LayerParams(np.full((1, 1), w, dtype), np.zeros(1, dtype)) for _ in net.layers)
    return net, fnn.Params(layers)


@pytest.mark.parametrize("dtype, z", [(np.float64, 1000.0), (np.float32, 100.0)])
def test_sigmoid_of_large_inputs_is_silent_and_saturates(dtype, z):
    net, params = one_unit("sigmoid", 1.0, dtype)
    with strict():
        A, cache = fnn.forward(net, params, np.array([[z], [-z], [0.0]], dtype))
    assert A.dtype == dtype and A[0, 0] == 1.0 and 0.0 < A[1, 0] < np.finfo(dtype).eps and A[2, 0] == 0.5


@pytest.mark.parametrize("row", [[1000.0, 1000.0], [-1e4, -1e4]])
def test_softmax_of_equal_huge_inputs_is_a_half_each(row):
    with strict():
        A = fnn.ACTIVATIONS["softmax"].fn(np.array([row]))
    assert A.tolist() == [[0.5, 0.5]]


def test_softmax_of_opposite_huge_inputs_is_one_hot_and_silent():
    with strict():
        A = fnn.ACTIVATIONS["softmax"].fn(np.array([[1000.0, -1000.0], [-1e4, 1e4]]))
    assert A[0, 0] == 1.0 and A[1, 1] == 1.0 and (A >= 0).all() and np.allclose(A.sum(axis=1), 1.0)


@pytest.mark.parametrize(
    "dtype, z, label, expected",
    [
        (np.float64, 1000.0, 0, 1000.0),  # A rounds to exactly 1, yet -log(1 - A) is exact
        (np.float64, -1000.0, 1, 1000.0),  # A rounds to ~0, -log(A) is exact
        (np.float64, 1000.0, 1, 0.0),
        (np.float32, 100.0, 0, 100.0),
        (np.float32, -100.0, 1, 100.0),
    ],
)
def test_binary_cross_entropy_of_saturated_outputs_is_exact(dtype, z, label, expected):
    net, params = one_unit("sigmoid", z, dtype)
    Y = np.array([[label]], dtype)
    with strict():
        _, cache = fnn.forward(net, params, np.ones((1, 1), dtype))
        J = fnn.cost(net, params, cache, Y)
        grads = fnn.backward(net, params, cache, Y)
    assert J == expected and J.dtype == dtype
    assert grads.layers[0].dW[0, 0] == cache.layers[0].A[0, 0] - label  # (A - Y) / m * x with x = 1, m = 1


def test_categorical_cross_entropy_of_saturated_outputs_is_exact():
    net = fnn.network([2, 2], output="softmax")
    params = fnn.Params((fnn.LayerParams(np.array([[1000.0, -1000.0], [0.0, 0.0]]), np.zeros(2)),))
    X = np.array([[1.0, 0.0], [1.0, 0.0]])
    Y = np.array([[0.0, 1.0], [1.0, 0.0]])  # row 0 is wrong by Z = 2000, row 1 right
    with strict():
        _, cache = fnn.forward(net, params, X)
        J = fnn.cost(net, params, cache, Y)
        grads = fnn.backward(net, params, cache, Y)
    assert J == 1000.0  # (2000 + 0) / 2
    assert np.isfinite(grads.flat).all()


@pytest.mark.parametrize("hidden, slope", [("relu", 0.0), ("leaky_relu", 0.01)])
def test_relu_and_leaky_relu_at_exactly_zero(hidden, slope):
    """Z = 0 in the hidden unit: relu passes 0 and derivative 0; leaky relu 0 and slope 0.01."""
    net, params = one_unit("identity", 2.0, hidden=hidden)
    X, Y = np.zeros((1, 1)), np.ones((1, 1))
    with strict():
        A, cache = fnn.forward(net, params, X)
        grads = fnn.backward(net, params, cache, Y)
        vjp = fnn.ACTIVATIONS[hidden].vjp(np.ones(3), np.zeros(3), np.zeros(3))
    assert cache.layers[0].Z[0, 0] == 0.0 and cache.layers[0].A[0, 0] == 0.0 and A[0, 0] == 0.0
    # J = (A - Y)^2 / 2: dJ/dA2 = -1, dA1 = -1 * W2 = -2, db1 = -2 * g'(0)
    assert grads.layers[0].db[0] == -2.0 * slope and grads.layers[1].db[0] == -1.0
    assert vjp.tolist() == [slope] * 3


MODERN = ["elu", "selu", "gelu", "silu", "softplus"]


def extremes(dtype, top):
    """Both signs of 0, the smallest normal number, 1, 1e4, ``top`` and 400 magnitudes from 4 x the
    smallest normal number up to ``top``; (m, 4). (Between the smallest normal number and twice it,
    ``z / 2`` can be an inexact subnormal: a genuine underflow, as in ``leaky_relu``'s ``0.01 z``.)"""
    fi = np.finfo(dtype)
    mags = np.concatenate([[0.0, fi.tiny, 1.0, 1e4, top], np.geomspace(4 * float(fi.tiny), float(top) / 2, 399)])
    return np.concatenate([mags, -mags]).astype(dtype).reshape(-1, 4)


@pytest.mark.parametrize("name", MODERN)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("layout", ["C", "F"])
def test_modern_activations_are_silent_and_finite_for_every_finite_magnitude(name, dtype, layout):
    """Up to the largest float (selu: up to where its value ``1.0507 z`` is still one), with and without
    the scratch the forward pass leaves for the vjp; the derivatives stay in their ranges."""
    from fnn.activations import SELU_ALPHA, SELU_SCALE

    fi = np.finfo(dtype)
    top = dtype(fi.max / SELU_SCALE) if name == "selu" else fi.max
    Z = np.asarray(extremes(dtype, top), order=layout)
    act = fnn.ACTIVATIONS[name]
    with strict():
        aux = act.scratch(Z.shape, Z.dtype, order=layout)
        A = act.fn(Z, aux=aux)
        D = act.vjp(np.ones_like(Z), Z, A, aux=aux)
        D_fresh = act.vjp(np.ones_like(Z), Z, act.fn(Z))
    assert A.dtype == D.dtype == dtype and np.isfinite(A).all() and np.isfinite(D).all()
    np.testing.assert_array_equal(D, D_fresh)
    low, high = {"selu": (0, SELU_SCALE * SELU_ALPHA), "gelu": (-0.17, 1.13), "silu": (-0.1, 1.1)}.get(name, (0, 1))
    assert (D >= low).all() and (D <= high).all()
    assert (A >= -SELU_SCALE * SELU_ALPHA).all() and (A[Z > 0] > 0).all()


@pytest.mark.parametrize("name", MODERN)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_modern_activations_through_the_stages_are_silent(name, dtype):
    """A ``1 -> 1 -> 1`` network of the activation throughout, with squared error, at large and tiny
    inputs. The backward pass may underflow, legitimately: a slope such as ``exp(-1e4)``, kept at
    the smallest normal number times ``e``, times a gradient below ``1/e`` is subnormal."""
    net, params = one_unit(name, 1.0, dtype, hidden=name)
    X, Y = np.array([[1e4], [-1e4], [0.0], [1e-30], [-1e-30]], dtype), np.zeros((5, 1), dtype)
    with strict():
        A, cache = fnn.forward(net, params, X)
        J = fnn.cost(net, params, cache, Y)
    with np.errstate(all="raise", under="ignore"):
        grads = fnn.backward(net, params, cache, Y)
    assert np.isfinite(A).all() and np.isfinite(J) and np.isfinite(grads.flat).all()


# --- random finite inputs and weights ----------------------------------------------------------

PAIRS = [("sigmoid", "binary_cross_entropy"), ("softmax", "categorical_cross_entropy"), ("identity", "mean_squared_error"),
         ("tanh", "sum_of_squares"), ("relu", "mean_squared_error"), ("leaky_relu", "sum_of_squares"), ("sigmoid", "mean_squared_error"),
         ("elu", "sum_of_squares"), ("selu", "mean_squared_error"), ("gelu", "sum_of_squares"), ("silu", "mean_squared_error"),
         ("softplus", "sum_of_squares")]
HIDDEN = ["relu", "leaky_relu", "tanh", "sigmoid", "identity"] + MODERN


def finite(dtype, shape, bound):
    return hnp.arrays(dtype, shape, elements=st.floats(-bound, bound, width=np.dtype(dtype).itemsize * 8))


@st.composite
def problems(draw):
    """A network of up to 3 layers and width 4, params in [-10, 10], X in [-100, 100], matching Y."""
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    output, loss = draw(st.sampled_from(PAIRS))
    n_out = draw(st.integers(2 if output == "softmax" else 1, 4))
    sizes = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)) + [n_out]
    net = fnn.network(sizes, hidden=draw(st.sampled_from(HIDDEN)), output=output, loss=loss, l2=draw(st.sampled_from([0.0, 0.1])))
    params = fnn.Params(tuple(
        fnn.LayerParams(draw(finite(dtype, (d.n_in, d.n_out), 10.0)), draw(finite(dtype, (d.n_out,), 10.0))) for d in net.layers
    ))
    m = draw(st.integers(1, 5))
    X = draw(finite(dtype, (m, sizes[0]), 100.0))
    if output == "softmax":
        Y = np.eye(n_out, dtype=dtype)[draw(hnp.arrays(np.intp, m, elements=st.integers(0, n_out - 1)))]
    elif loss == "binary_cross_entropy":
        Y = draw(hnp.arrays(dtype, (m, n_out), elements=st.sampled_from([0.0, 1.0])))
    else:
        Y = draw(finite(dtype, (m, n_out), 100.0))
    return net, params, X, Y


@settings(max_examples=250, deadline=None)
@given(problems())
def test_random_finite_inputs_and_weights_never_give_nan(problem):
    net, params, X, Y = problem
    with np.errstate(all="raise", under="ignore"), warnings.catch_warnings():
        warnings.simplefilter("error")
        A, cache = fnn.forward(net, params, X)
        J = fnn.cost(net, params, cache, Y)
        grads = fnn.backward(net, params, cache, Y)
    assert np.isfinite(A).all() and np.isfinite(J) and np.isfinite(grads.flat).all()
    assert all(np.isfinite(c.Z).all() and np.isfinite(c.A).all() for c in cache.layers)
    assert A.dtype == J.dtype == grads.flat.dtype == params.dtype
