"""Training is a fold: ``fit = fold(train_step(net, opt), batches(X, Y, ...), init_state(params, opt))``.

``train_step`` compiles the stages into one ``fnn.engine.Step``: calling it is the pure
``(TrainState, batch) -> TrainState``; ``fold`` hands it the whole iterable (``Step.fold``), so a
fold runs the same program step after step without rebinding or allocating the params nobody
else sees. ``fit`` checks the data once and is that fold over ``batches``; ``scan`` is the lazy
trail of states (``toolz.accumulate``). Progress bars and loggers wrap the iterables; the stages
stay pure.
"""
from __future__ import annotations

import math
from functools import reduce
from typing import Any, Callable, Iterable, Iterator

import numpy as np
from toolz import accumulate

from fnn import checks
from fnn.engine.pool import empty
from fnn.engine.step import Batch, DivergenceError, Step, checked_batch, immutable
from fnn.history import evaluator, fit_by_epoch
from fnn.init import init_params
from fnn.labels import targets
from fnn import members
from fnn.members import StackedParams, StackedState, is_seeds
from fnn.optimizers import sgd
from fnn.records import FitResult, Network, Optimizer, Params, TrainState, readonly
from fnn.stages import check_net, check_params, check_targets, probability_rows

__all__ = ["DivergenceError", "train_step", "init_state", "fold", "scan", "batches", "fit"]


def init_state(params: Params, optimizer: Optimizer) -> TrainState:
    """``TrainState(params, optimizer.init(params), 0, nan)`` (a ``StackedState`` for stacked params)."""
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer: expected an Optimizer (fnn.sgd, fnn.adam, ...), got {type(optimizer).__name__}")
    if not isinstance(params, Params):
        raise TypeError(f"params: expected a Params, got {type(params).__name__}")
    if isinstance(params, StackedParams):  # K members: loss (K,), which are alive
        return StackedState(params, optimizer.init(params), 0, readonly(np.full(params.members, math.nan)), optimizer=optimizer)
    return TrainState(params, optimizer.init(params), 0, math.nan, optimizer=optimizer)


def train_step(net: Network, optimizer: Optimizer, seed: int = 0) -> Step:
    """The pure step ``(state, (X, Y)) -> state``: forward, cost, backward and the optimizer's update,
    compiled once for ``net`` (``fnn.engine.Step``).

    The same arithmetic as ``forward``, ``cost``, ``backward`` and ``optimizer.update`` called one
    after the other (bit for bit in row order; see ``fnn.engine``); no cache or gradient record is
    built. Raises ``DivergenceError`` when the cost is not finite (or the update would make params
    non-finite); the error carries the state it was given. ``seed`` keys the step's randomness.
    """
    check_net(net)
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer: expected an Optimizer (fnn.sgd, fnn.adam, ...), got {type(optimizer).__name__}")
    return Step(net, optimizer, checks.integer("seed", seed))


def fold(step: Callable[[TrainState, Any], TrainState], batches: Iterable, state: TrainState) -> TrainState:
    """The state after applying ``step`` to every batch in order: a sequential left fold
    (``functools.reduce``; a compiled ``train_step`` runs it as ``step.fold``, the same steps)."""
    if isinstance(step, Step):
        return step.fold(batches, state)[0]
    return reduce(step, batches, state)


def scan(step: Callable[[TrainState, Any], TrainState], batches: Iterable, state: TrainState) -> Iterator[TrainState]:
    """Lazily yield ``state``, then the state after every step."""
    return accumulate(step, batches, state)


def batches(X: Any, Y: Any, batch_size: int | None = None, epochs: int = 1, seed: int = 0, start_epoch: int = 0) -> Iterator[Batch]:
    """Yield read-only ``(X_batch, Y_batch)`` for epochs ``start_epoch .. start_epoch + epochs - 1``.

    ``batch_size=None``: the whole set each epoch, in order. Otherwise epoch ``e`` takes the rows in
    the order ``default_rng([seed, e]).permutation(m)``, cut into batches; the last may be short.

    >>> X = np.arange(5.0).reshape(5, 1)
    >>> [len(x) for x, _ in batches(X, X, batch_size=2, epochs=2)]
    [2, 2, 1, 2, 2, 1]
    """
    X = checks.matrix("X", X)
    Y = checks.matrix("Y", Y)
    checks.same_rows(("X", "Y"), X, Y)
    check_batching(batch_size, epochs, seed, start_epoch)
    Y = freeze_input(Y)
    return _batches(freeze_input(X), Y, probability_rows(Y), batch_size, epochs, seed, start_epoch)


def check_batching(batch_size: Any, epochs: Any, seed: Any, start_epoch: Any) -> None:
    if batch_size is not None:
        checks.integer("batch_size", batch_size, minimum=1)
    checks.integer("epochs", epochs, minimum=0)
    checks.integer("start_epoch", start_epoch, minimum=0)
    checks.integer("seed", seed, minimum=0)


def freeze_input(arr: np.ndarray) -> np.ndarray:
    """``arr`` itself if nothing can write it (``fnn.engine.step.immutable``), else a read-only copy."""
    return arr if immutable(arr) else readonly(arr.copy())


def _batches(X, Y, probabilities: bool, batch_size, epochs, seed, start_epoch, skip: int = 0) -> Iterator[Batch]:
    """The batches of ``batches`` from checked, immutable ``X`` and ``Y`` (``probabilities``: whether
    ``Y``'s rows are), leaving out the first ``skip`` batches of the first epoch."""
    m, whole = X.shape[0], checked_batch(X, Y, probabilities)
    for e in range(start_epoch, start_epoch + epochs):
        if batch_size is None:
            if not skip:
                yield whole
            skip = 0
            continue
        order = np.random.default_rng([seed, e]).permutation(m)
        for lo in range(skip * batch_size, m, batch_size):
            idx = order[lo : lo + batch_size]
            yield checked_batch(readonly(_rows(X, idx)), readonly(_rows(Y, idx)), probabilities)
        skip = 0


def _rows(A: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``A[idx]`` gathered into a fresh array from the pool (``idx``, a slice of a permutation, is
    in range: ``mode="clip"`` spares ``take`` the buffered copy it makes to check indices, ~3x)."""
    return np.take(A, idx, axis=0, out=empty((len(idx),) + A.shape[1:], A.dtype), mode="clip")


def batches_per_epoch(m: int, batch_size: int | None) -> int:
    """``ceil(m / batch_size)``, or 1 for the whole set."""
    return 1 if batch_size is None else -(-m // batch_size)


def fit(
    net: Network,
    X: Any,
    y: Any,
    optimizer: Optimizer | None = None,
    epochs: int = 100,
    batch_size: int | None = None,
    seed: int = 0,
    params: Params | None = None,
    init: str = "he",
    state: TrainState | None = None,
    *,
    validation: tuple[Any, Any] | None = None,
    early_stopping: Any = None,
    progress: bool = False,
    start_epoch: int | None = None,
) -> FitResult:
    """Train ``net`` on ``(X, y)``: exactly ``fold(train_step(net, optimizer, seed), batches(...), state)``.

    ``y`` is labels or a targets matrix (see ``fnn.targets``); ``optimizer=None`` is ``sgd(0.01)``
    (or, with a ``state``, the optimizer that state records);
    ``params=None`` is ``init_params(net, seed=seed, scheme=init)``. The data is checked (and cast to
    the params' dtype) once, here. A given ``state`` is continued exactly: from epoch
    ``state.step // batches_per_epoch``, leaving out the ``state.step % batches_per_epoch`` batches of
    that epoch it already took, so 5 + 5 epochs equal 10 bit for bit, and so does a run interrupted
    mid-epoch; ``epochs`` counts the epochs from that one on (``start_epoch``, when given, names that
    epoch instead and nothing is left out, say for data of another size).
    Returns ``FitResult(state, losses)`` with one loss per step.

    ``seed=[s_0, ..., s_{K-1}]`` (or stacked ``params``, or a ``StackedState``) trains ``K`` members in one
    stacked fold, member ``k`` as ``fit(..., seed=s_k)`` would: ``losses`` ``(steps, K)`` (``fnn.members.fit``).

    ``validation=(X_val, y_val)``, ``early_stopping=fnn.Patience(n)`` or ``progress=True`` run the
    same steps epoch by epoch and add ``FitResult.history``, a ``fnn.History`` row per epoch;
    early stopping returns the state of the best validation loss (see ``fnn.history``).
    """
    check_net(net)
    if is_seeds(seed) or isinstance(state, StackedState) or isinstance(params, StackedParams):  # K members
        return members.fit(net, X, y, optimizer=optimizer, epochs=epochs, batch_size=batch_size, seed=seed, params=params,
                           init=init, state=state, validation=validation, early_stopping=early_stopping,
                           progress=progress, start_epoch=start_epoch)
    if optimizer is None:
        optimizer = state.optimizer if isinstance(state, TrainState) and state.optimizer is not None else sgd(0.01)
    if state is not None:
        if params is not None:
            raise ValueError("params: expected None when a state is given (the state holds the params), got a Params")
        if not isinstance(state, TrainState):
            raise TypeError(f"state: expected a TrainState, got {type(state).__name__}")
    elif params is None:
        params = init_params(net, seed=seed, scheme=init)
    dtype = check_params(net, state.params if state is not None else params, "state.params" if state is not None else "params")
    X = checks.matrix("X", X, net.layers[0].n_in, " (one row per sample, n_in columns for the first layer)", dtype)
    Y = targets(net, y)
    Y = check_targets(net, Y, Y.shape, dtype, "y")
    checks.same_rows(("X", "y"), X, Y)
    state = init_state(params, optimizer) if state is None else state
    check_batching(batch_size, epochs, seed, 0 if start_epoch is None else start_epoch)  # X, Y checked above
    per_epoch = batches_per_epoch(X.shape[0], batch_size)
    first, skip = divmod(state.step, per_epoch) if start_epoch is None else (start_epoch, 0)
    step = train_step(net, optimizer, seed)
    X, Y = freeze_input(X), freeze_input(Y)
    if validation is not None or early_stopping is not None or progress:
        if early_stopping is not None and validation is None:
            raise ValueError("validation: expected (X_val, y_val) when early_stopping is given, got None")
        step.check_state(state)
        return fit_by_epoch(optimizer, step.fold, lambda e: _batches(X, Y, True, batch_size, 1, seed, e, skip if e == first else 0),
                            first, epochs, state, evaluator(net, validation, dtype), early_stopping, checks.flag("progress", progress))
    final, losses = step.fold(_batches(X, Y, True, batch_size, epochs, seed, first, skip), state)
    return FitResult(final, np.asarray(losses, dtype=np.float64))
