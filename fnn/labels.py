"""Labels and outputs: ``targets`` (labels -> targets matrix), ``predict`` and ``accuracy``."""
from __future__ import annotations

from typing import Any

import numpy as np

from fnn import checks
from fnn import members
from fnn.records import Network, Params
from fnn.stages import forward


def _labels(name: str, y: np.ndarray, n_classes: int) -> np.ndarray:
    """Integer labels in ``[0, n_classes)`` from an int array or a float array of whole numbers."""
    if y.size == 0:
        raise ValueError(f"{name}: expected a non-empty array of labels, got shape {y.shape}")
    checks.finite(name, y)
    if y.dtype.kind == "f" and not (y == np.round(y)).all():
        bad = y[y != np.round(y)][0].item()
        raise ValueError(f"{name}: expected integer labels in [0, {n_classes}), got the non-integer {bad!r}")
    if y.min() < 0 or y.max() >= n_classes:
        bad = y[(y < 0) | (y >= n_classes)][0].item()
        raise ValueError(f"{name}: expected integer labels in [0, {n_classes}), got {bad!r}")
    return y.astype(np.intp)


def targets(net: Network, y: Any) -> np.ndarray:
    """The targets matrix ``(m, n_out)`` for labels ``y`` (float64, or ``y``'s float dtype).

    softmax: labels ``(m,)`` in ``[0, n_out)`` become one-hot rows; one sigmoid unit: labels
    ``(m,)`` in {0, 1} become a column; one unit of any other activation: ``(m,)`` becomes ``(m, 1)``;
    a 2-D ``(m, n_out)`` matrix passes through, checked. Boolean labels count as 0/1, as in
    scikit-learn. Anything else raises ``ValueError``.

    >>> from fnn.records import network
    >>> targets(network([2, 3], output="softmax"), [0, 2]).tolist()
    [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    """
    if not isinstance(net, Network):
        raise TypeError(f"net: expected a Network, got {type(net).__name__}")
    y = checks.numeric("y", y, bools=True)
    out = net.layers[-1]
    n_out, act = out.n_out, out.activation
    if y.ndim == 2:
        if y.shape[1] != n_out:
            raise ValueError(f"y: expected labels (m,) or a targets matrix (m, {n_out}) like the network output, got shape {y.shape}")
        return checks.matrix("y", y, n_out, " like the network output")
    if y.ndim != 1:
        raise ValueError(f"y: expected labels (m,) or a targets matrix (m, {n_out}), got shape {y.shape}")
    if act == "softmax":
        return np.eye(n_out)[_labels("y", y, n_out)]
    if n_out != 1:
        raise ValueError(f"y: expected a targets matrix (m, {n_out}) for {n_out} {act} outputs, got labels of shape {y.shape}")
    if act == "sigmoid":
        return _labels("y", y, 2).astype(np.float64)[:, None]
    if y.size == 0:
        raise ValueError(f"y: expected a non-empty array, got shape {y.shape}")
    return checks.finite("y", y).astype(y.dtype if y.dtype.kind == "f" else np.float64)[:, None]


def predict(net: Network, params: Params, X: Any) -> np.ndarray:
    """Predictions for ``X`` (m, n_in).

    One sigmoid unit: ``(A > 0.5)`` as int labels ``(m,)``; several: a 0/1 int matrix; softmax: the
    argmax ``(m,)``; otherwise the output ``(m, n_out)`` itself. Stacked params: the same per member, ``(K, ...)``.
    """
    if isinstance(params, members.StackedParams):
        return members.predict(net, params, X)
    A, _ = forward(net, params, X)
    act = net.layers[-1].activation
    if act == "softmax":
        return A.argmax(axis=1)
    if act == "sigmoid":
        labels = (A > 0.5).astype(np.intp)
        return labels[:, 0] if labels.shape[1] == 1 else labels
    return A


def accuracy(y_true: Any, y_pred: Any) -> float:
    """The share of rows where ``y_true`` equals ``y_pred``; a trailing axis of 1 is ignored.

    >>> accuracy([0, 1, 1, 0], [[0], [1], [0], [0]])
    0.75
    """
    a, b = np.asarray(y_true), np.asarray(y_pred)
    a = a[..., 0] if a.ndim == 2 and a.shape[1] == 1 else a
    b = b[..., 0] if b.ndim == 2 and b.shape[1] == 1 else b
    if a.shape != b.shape:
        raise ValueError(f"y_pred: expected shape {a.shape} like y_true, got {np.asarray(y_pred).shape}")
    if a.size == 0:
        raise ValueError(f"y_true: expected a non-empty array, got shape {a.shape}")
    equal = a == b
    return float(equal.reshape(a.shape[0], -1).all(axis=1).mean())
