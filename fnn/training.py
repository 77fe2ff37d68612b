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
from fnn.engine.step import Batch, DivergenceError, Step, checked_batch
from fnn.backup import fingerprint
from fnn.checkpoint import file_path
from fnn.history import Backup, evaluator, fit_by_epoch
from fnn.init import init_params
from fnn.labels import targets
from fnn import members
from fnn.members import StackedParams, StackedState, is_seeds
from fnn.optimizers import sgd
from fnn.records import FitResult, Network, Optimizer, Params, TrainState, readonly
from fnn.stages import check_net, check_params, check_targets, probability_rows, unstackable

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
    non-finite); the error carries the state it was given. ``seed`` keys the step's dropout: a
    step from state ``s`` runs ``forward(..., key=(seed, s.step))``.
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


def batches(X: Any, Y: Any, batch_size: int | None = None, epochs: int = 1, seed: int = 0, start_epoch: int = 0,
            sample_weight: Any = None, shuffle: bool = True) -> Iterator[Batch]:
    """Yield read-only ``(X_batch, Y_batch)`` for epochs ``start_epoch .. start_epoch + epochs - 1``;
    ``(X_batch, Y_batch, w_batch)`` when ``sample_weight`` (m,) is given.

    ``batch_size=None``: the whole set each epoch, in order. Otherwise epoch ``e`` takes the rows in
    the order ``default_rng([seed, e]).permutation(m)`` (in their own order when ``shuffle=False``),
    cut into batches; the last may be short.
    The data is checked here, once: a step meets these batches with O(1) checks. It is read as the
    batches are made, never copied whole (a memmap or an h5py dataset too): do not write to ``X``,
    ``Y`` while iterating.

    >>> X = np.arange(5.0).reshape(5, 1)
    >>> [len(x) for x, _ in batches(X, X, batch_size=2, epochs=2)]
    [2, 2, 1, 2, 2, 1]
    """
    X = checks.matrix("X", X, lazy=True)
    Y = checks.matrix("Y", Y, lazy=True)
    checks.same_rows(("X", "Y"), X, Y)
    check_batching(batch_size, epochs, seed, start_epoch)
    w = None if sample_weight is None else read_only(checks.weights("sample_weight", sample_weight, X.shape[0], positive_sum=True))
    Y = read_only(Y)
    checks.flag("shuffle", shuffle)
    return _batches(read_only(X), Y, w, probability_rows(Y), batch_size, epochs, seed, start_epoch, shuffle=shuffle)


def check_batching(batch_size: Any, epochs: Any, seed: Any, start_epoch: Any) -> None:
    if batch_size is not None:
        checks.integer("batch_size", batch_size, minimum=1)
    checks.integer("epochs", epochs, minimum=0)
    checks.integer("start_epoch", start_epoch, minimum=0)
    checks.integer("seed", seed, minimum=0)


def read_only(arr: Any) -> Any:
    """A read-only view of an ndarray (a memmap included; the caller's array and flags untouched), or
    another array-like (an h5py dataset) as it is: what ``fit`` and ``batches`` read the data through,
    a batch at a time, never copying it whole (so writing to the data while they run shows in the
    batches made after)."""
    if not isinstance(arr, np.ndarray):
        return arr
    view = arr.view()
    view.flags.writeable = False
    return view


def _batches(X, Y, w, probabilities: bool, batch_size, epochs, seed, start_epoch, skip: int = 0, dtype=None,
             shuffle: bool = True) -> Iterator[Batch]:
    """The batches of ``batches`` from checked, frozen ``X``, ``Y`` and weights ``w`` (or None;
    ``probabilities``: whether ``Y``'s rows are), in ``dtype`` when given (cast as they are read),
    leaving out the first ``skip`` batches of the first epoch."""
    m, whole = X.shape[0], None
    for e in range(start_epoch, start_epoch + epochs):
        if batch_size is None:  # the same batch every epoch: read (and checked by a step) once
            if not skip:
                whole = whole or checked_batch(_whole(X, dtype), _whole(Y, dtype), w, probabilities)
                yield whole
            skip = 0
            continue
        order = np.random.default_rng([seed, e]).permutation(m) if shuffle else np.arange(m)
        for lo in range(skip * batch_size, m, batch_size):
            idx = order[lo : lo + batch_size]
            yield checked_batch(readonly(_rows(X, idx, dtype)), readonly(_rows(Y, idx, dtype)),
                                None if w is None else readonly(_rows(w, idx)), probabilities)
        skip = 0


def _whole(A: Any, dtype: np.dtype | None) -> np.ndarray:
    """All of ``A`` as an array of ``dtype`` (``A`` itself when it is one)."""
    dtype = A.dtype if dtype is None else dtype
    if isinstance(A, np.ndarray) and A.dtype == dtype:
        return A
    return readonly(np.asarray(A[:], dtype=dtype))


def _rows(A: Any, idx: np.ndarray, dtype: np.dtype | None = None) -> np.ndarray:
    """``A[idx]`` (``idx`` (b,), or (K, b) for stacked members) gathered into a fresh array of ``dtype`` (``A``'s by default) from the pool
    (``idx``, a slice of a permutation, is in range: ``mode="clip"`` spares ``take`` the buffered
    copy it makes to check indices, ~3x). A memmap reads just those rows; an array-like that is
    not an ndarray is read in increasing row order (as h5py requires), then put in ``idx``'s."""
    dtype = A.dtype if dtype is None else np.dtype(dtype)
    shape = idx.shape + tuple(A.shape[1:])
    if isinstance(A, np.ndarray):
        if A.dtype == dtype:
            return np.take(A, idx, axis=0, out=empty(shape, dtype), mode="clip")
        out = empty(shape, dtype)
        out[...] = np.take(A, idx, axis=0, mode="clip")
        return out
    rank = np.argsort(idx)
    out = empty(shape, dtype)
    out[rank] = np.asarray(A[idx[rank]])
    return out


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
    sample_weight: Any = None,
    backup: Any = None,
    backup_every: int = 1,
    keep_backup: bool = False,
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
    Returns ``FitResult(state, losses)`` with one loss per step. ``sample_weight`` (m,) weighs each
    sample's term of the cost (see ``fnn.cost``).

    ``seed=[s_0, ..., s_{K-1}]`` (or stacked ``params``, or a ``StackedState``) trains ``K`` members in one
    stacked fold, member ``k`` as ``fit(..., seed=s_k)`` would: ``losses`` ``(steps, K)`` (``fnn.members.fit``).

    ``validation=(X_val, y_val)``, ``early_stopping=fnn.Patience(n)`` or ``progress=True`` run the
    same steps epoch by epoch and add ``FitResult.history``, a ``fnn.History`` row per epoch;
    early stopping returns the state of the best validation loss (see ``fnn.history``).

    ``backup=path`` makes the run survive interruption: every ``backup_every`` epochs, and on
    ``KeyboardInterrupt`` or SIGTERM (the last completed step), the state and what the run has
    recorded are written atomically to ``path`` (``fnn.backup``); when ``path`` exists at the start,
    the run resumes from it, after checking that it belongs to this run (network, dtype, batch size,
    seed, data shapes, optimizer: ``CheckpointError`` naming the difference), and ends exactly where
    the uninterrupted run would, its ``losses`` and ``history`` included. The optimizer comes from
    the arguments, so any one can be backed up. The file is removed at the end unless ``keep_backup``.
    """
    check_net(net)
    if is_seeds(seed) or isinstance(state, StackedState) or isinstance(params, StackedParams):  # K members
        unstackable(sample_weight=sample_weight, backup=backup)
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
    X = checks.matrix("X", X, net.layers[0].n_in, " (one row per sample, n_in columns for the first layer)", dtype, lazy=True)
    Y = targets(net, y)
    Y = check_targets(net, Y, Y.shape, dtype, "y")
    checks.same_rows(("X", "y"), X, Y)
    w = None if sample_weight is None else read_only(checks.weights("sample_weight", sample_weight, X.shape[0], dtype, True))
    state = init_state(params, optimizer) if state is None else state
    check_batching(batch_size, epochs, seed, 0 if start_epoch is None else start_epoch)  # X, Y checked above
    per_epoch = batches_per_epoch(X.shape[0], batch_size)
    first, skip = divmod(state.step, per_epoch) if start_epoch is None else (start_epoch, 0)
    step = train_step(net, optimizer, seed)
    X, Y = read_only(X), read_only(Y)  # read while fit runs: no copy
    if early_stopping is not None and validation is None:
        raise ValueError("validation: expected (X_val, y_val) when early_stopping is given, got None")
    by_epoch = validation is not None or early_stopping is not None or checks.flag("progress", progress)
    if by_epoch or backup is not None:
        step.check_state(state)
        saved = None if backup is None else Backup(file_path(backup), net, optimizer, fingerprint(net, X, y, optimizer, batch_size, seed, dtype),
                                                   checks.integer("backup_every", backup_every, minimum=1), checks.flag("keep_backup", keep_backup))
        return fit_by_epoch(optimizer, step.fold, lambda e, skip: _batches(X, Y, w, True, batch_size, 1, seed, e, skip, dtype),
                            first, epochs, state, evaluator(net, validation, dtype), early_stopping, progress,
                            per_epoch, skip, saved, keep_history=by_epoch)
    final, losses = step.fold(_batches(X, Y, w, True, batch_size, epochs, seed, first, skip, dtype), state)
    return FitResult(final, np.asarray(losses, dtype=np.float64))
