"""Figures of the seed documents, drawn on matplotlib Axes (matplotlib is imported lazily).

Each function draws on ``ax`` (a new pyplot Axes when ``None``) and returns it, or, for a
grid, returns the ``Figure``. Nothing is saved or shown here: scripts do that.
"""
from __future__ import annotations

import importlib
import math
from typing import Any, Callable, Mapping

import numpy as np

from fnn import checks
from fnn.history import History

CMAP = "Spectral"


def _require(module: str) -> Any:
    """``importlib.import_module(module)``, with an install hint when matplotlib is missing."""
    try:
        return importlib.import_module(module)
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("fnn.plot needs matplotlib: pip install 'fnn[plot]'") from err


def _axes(ax: Any) -> Any:
    return _require("matplotlib.pyplot").subplots()[1] if ax is None else ax


def _grid(X: np.ndarray, resolution: int, margin: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Coordinate matrices ``(resolution, resolution)`` covering ``X``'s box plus ``margin``."""
    lo, hi = X.min(axis=0) - margin, X.max(axis=0) + margin
    return np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))


def decision_boundary(predict: Callable[[np.ndarray], Any], X: Any, y: Any, ax: Any = None, resolution: int = 200) -> Any:
    """Filled regions of ``predict`` over a ``resolution`` x ``resolution`` grid, and the points ``X``.

    ``predict`` maps a ``(k, 2)`` array to ``k`` labels; ``X`` is ``(m, 2)``, ``y`` ``(m,)`` colours
    the points. The axes are labelled ``x1`` and ``x2`` (the two features) and a legend names the
    classes of ``y``. Returns the Axes.

    >>> import matplotlib; matplotlib.use("Agg")
    >>> X = np.array([[0.0, 0.0], [1.0, 1.0]])
    >>> ax = decision_boundary(lambda G: (G.sum(axis=1) > 1).astype(int), X, [0, 1], resolution=20)
    >>> [float(v) for v in ax.get_xlim()], ax.get_xlabel(), [t.get_text() for t in ax.get_legend().get_texts()]
    ([-0.5, 1.5], 'x1', ['class 0', 'class 1'])
    """
    if not callable(predict):
        raise TypeError(f"predict: expected a function (k, 2) -> labels, got {type(predict).__name__}")
    X = checks.matrix("X", X, 2, " (two features to plot)")
    y = np.asarray(y)
    if y.shape[:1] != X.shape[:1]:
        raise ValueError(f"y: expected {X.shape[0]} labels like X, got shape {y.shape}")
    resolution = checks.integer("resolution", resolution, minimum=2)
    gx, gy = _grid(X, resolution)
    labels = np.asarray(predict(np.column_stack([gx.ravel(), gy.ravel()])))
    if labels.size != gx.size:
        raise ValueError(f"predict: expected {gx.size} labels for a ({gx.size}, 2) grid, got shape {labels.shape}")
    ax = _axes(ax)
    ax.contourf(gx, gy, labels.reshape(gx.shape), cmap=CMAP, alpha=0.6)
    colours = y.reshape(len(y), -1)[:, 0]
    points = ax.scatter(X[:, 0], X[:, 1], c=colours, cmap=CMAP, edgecolors="k", linewidths=0.5, s=18)
    ax.set(xlim=(gx.min(), gx.max()), ylim=(gy.min(), gy.max()), xlabel="x1", ylabel="x2")
    _class_legend(ax, points, colours)
    return ax


def _class_legend(ax: Any, points: Any, colours: np.ndarray) -> None:
    """A legend with one marker per class of the scatter ``points`` (its colours), ``class <label>``."""
    classes = np.unique(colours)
    handles, _ = points.legend_elements()
    if len(handles) == len(classes):  # legend_elements thins out a long, continuous range of colours
        names = [f"class {c:g}" if isinstance(c, (float, np.floating)) else f"class {c}" for c in classes]
        ax.legend(handles, names, loc="best", fontsize="small", framealpha=0.8)


def learning_curve(losses: Any, ax: Any = None) -> Any:
    """The loss per step as a line (step on x); for a ``fnn.History``, train and validation loss per epoch.

    >>> import matplotlib; matplotlib.use("Agg")
    >>> learning_curve([0.7, 0.4, 0.3]).lines[0].get_ydata().tolist()
    [0.7, 0.4, 0.3]
    """
    if isinstance(losses, History):
        return _history_curves(losses, _axes(ax))
    values = np.asarray(losses, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"losses: expected a non-empty 1-D sequence of numbers, got shape {values.shape}")
    ax = _axes(ax)
    ax.plot(np.arange(values.size), values)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    return ax


def _history_curves(history: History, ax: Any) -> Any:
    """Train loss per epoch, and validation loss where there is one, with a legend."""
    if len(history) == 0:
        raise ValueError("losses: expected a History of at least one epoch, got an empty one")
    ax.plot(history.epoch, history.train_loss, label="train")
    if not np.isnan(history.val_loss).all():
        ax.plot(history.epoch, history.val_loss, label="validation")
    if history.best_epoch is not None:
        ax.axvline(history.best_epoch, color="gray", linestyle=":", label=f"best (epoch {history.best_epoch})")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.legend()
    return ax


def boundary_grid(panels: Mapping[str, Callable[[np.ndarray], Any]], X: Any, y: Any, ncols: int = 4, resolution: int = 200) -> Any:
    """A new Figure with one ``decision_boundary`` panel per ``title -> predict`` in ``panels``.

    >>> import matplotlib; matplotlib.use("Agg")
    >>> X = np.array([[0.0, 0.0], [1.0, 1.0]])
    >>> fig = boundary_grid({"a": lambda G: G[:, 0] > 0.5, "b": lambda G: G[:, 1] > 0.5}, X, [0, 1], resolution=10)
    >>> [ax.get_title() for ax in fig.axes if ax.get_visible()]
    ['a', 'b']
    """
    if not panels:
        raise ValueError("panels: expected at least one title -> predict pair, got none")
    ncols = min(checks.integer("ncols", ncols, minimum=1), len(panels))
    nrows = math.ceil(len(panels) / ncols)
    fig = _require("matplotlib.figure").Figure(figsize=(3.2 * ncols, 3.0 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, (title, predict) in zip(axes, panels.items()):
        decision_boundary(predict, X, y, ax=ax, resolution=resolution)
        ax.set_title(title)
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    return fig
