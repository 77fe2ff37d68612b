"""Training by epochs: a ``History`` row per epoch, validation, early stopping and a progress bar.

``fit(..., validation=..., early_stopping=..., progress=...)`` runs the same steps as the plain
fold, grouped by epoch: a lazy scan over epochs whose items are ``Epoch`` records. Early stopping
cuts that iterable; a progress bar wraps it. The stages stay pure. Row ``e`` holds::

    train_loss[e]    = mean of epoch e's step losses (each the cost of its batch before its update)
    val_loss[e]      = cost(net, params after epoch e, X_val, Y_val)   (nan without validation)
    val_accuracy[e]  = accuracy(y_val, predict(...))                   (nan but for sigmoid/softmax)
    learning_rate[e] = the optimizer's learning rate at the epoch's first update (nan if unknown)
"""
from __future__ import annotations

import math
from typing import Any, Callable, Iterable, Iterator

import attrs
import numpy as np
from toolz import accumulate

from fnn import checks
from fnn.labels import accuracy, predict, targets
from fnn.records import FitResult, frozen_array, Network, Optimizer, readonly, Refrozen, TrainState
from fnn.stages import cost, forward

CLASSIFIER_OUTPUTS = ("sigmoid", "softmax")


@attrs.frozen
class Patience:
    """Stop when the validation loss has not improved by more than ``min_delta`` for ``n`` epochs.

    >>> Patience(5)
    Patience(n=5, min_delta=0.0)
    """

    n: int = attrs.field(validator=lambda inst, attr, value: checks.integer("early_stopping.n", value, minimum=1))
    min_delta: float = attrs.field(default=0.0, validator=lambda inst, attr, value: checks.real("early_stopping.min_delta", value, minimum=0.0))


def _int_array(value: Any) -> np.ndarray:
    return readonly(np.array(value, dtype=np.int64).reshape(-1))


@attrs.frozen(eq=False)
class History(Refrozen):
    """One row per epoch run: ``epoch`` (int), ``train_loss``, ``val_loss``, ``val_accuracy``, ``learning_rate``.

    ``best_epoch`` is the epoch of the lowest validation loss (``None`` without validation);
    ``stopped_early`` tells whether early stopping cut the run.

    >>> h = History([0, 1], [0.7, 0.5], [0.8, 0.6], [0.5, 0.75], [0.1, 0.1], best_epoch=1)
    >>> len(h), h.val_loss.tolist(), h.best_epoch
    (2, [0.8, 0.6], 1)
    """

    epoch: np.ndarray = attrs.field(converter=_int_array)
    train_loss: np.ndarray = frozen_array("train_loss")
    val_loss: np.ndarray = frozen_array("val_loss")
    val_accuracy: np.ndarray = frozen_array("val_accuracy")
    learning_rate: np.ndarray = frozen_array("learning_rate")
    best_epoch: int | None = attrs.field(default=None, kw_only=True)
    stopped_early: bool = attrs.field(default=False, kw_only=True)

    def __len__(self) -> int:
        return len(self.epoch)


@attrs.frozen(eq=False)
class Epoch:
    """One epoch of the scan: the ``state`` after it, its step ``losses`` and ``row``, and the ``best`` so far."""

    state: TrainState
    losses: tuple = ()
    row: tuple = ()
    best: TrainState | None = None
    best_loss: float = math.inf
    best_epoch: int | None = None
    wait: int = 0


def epoch_means(losses: np.ndarray, per_epoch: int) -> np.ndarray:
    """Mean step loss of each epoch: ``losses`` (epochs * per_epoch,) -> (epochs,).

    >>> epoch_means(np.array([1.0, 3.0, 2.0, 2.0]), 2).tolist()
    [2.0, 2.0]
    """
    return np.asarray(losses, dtype=np.float64).reshape(-1, per_epoch).mean(axis=1)


def learning_rate_of(optimizer: Optimizer) -> Callable[[int], float]:
    """``k -> learning rate`` of the optimizer's ``k``-th update (``nan`` when it records none).

    >>> from fnn.optimizers import sgd
    >>> learning_rate_of(sgd(0.1))(5)
    0.1
    """
    lr = dict(optimizer.hyperparams).get("learning_rate")
    return lambda k: math.nan if lr is None else float(lr(k) if callable(lr) else lr)


def evaluator(net: Network, validation: Any, dtype: np.dtype) -> Callable[[TrainState], tuple[float, float]]:
    """``state -> (val_loss, val_accuracy)`` for ``validation = (X_val, y_val)``; ``(nan, nan)`` when None."""
    if validation is None:
        return lambda state: (math.nan, math.nan)
    if not isinstance(validation, (tuple, list)) or len(validation) != 2:
        raise TypeError(f"validation: expected a pair (X_val, y_val), got {type(validation).__name__}")
    X_val = checks.matrix("validation[0]", validation[0], net.layers[0].n_in, " like X", dtype)
    Y_val = targets(net, validation[1]).astype(dtype, copy=False)
    checks.same_rows(("validation[0]", "validation[1]"), X_val, Y_val)
    out = net.layers[-1].activation
    labels = Y_val.argmax(axis=1) if out == "softmax" else (Y_val > 0.5).astype(np.intp)

    def evaluate(state: TrainState) -> tuple[float, float]:
        _, cache = forward(net, state.params, X_val)
        acc = accuracy(labels, predict(net, state.params, X_val)) if out in CLASSIFIER_OUTPUTS else math.nan
        return float(cost(net, state.params, cache, Y_val)), acc

    return evaluate


def epoch_scan(fold_steps: Callable, epoch_batches: Callable[[int], Iterable], epochs: Iterable[int], state: TrainState,
               evaluate: Callable[[TrainState], tuple[float, float]], rate: Callable[[int], float],
               min_delta: float = 0.0) -> Iterator[Epoch]:
    """Lazily yield an ``Epoch`` per epoch index in ``epochs``, each ``fold_steps(epoch_batches(e), state)
    -> (state, step losses)`` (``fnn.engine.Step.fold``)."""

    def run(prev: Epoch, e: int) -> Epoch:
        lr = rate(prev.state.step)
        state, losses = fold_steps(epoch_batches(e), prev.state)
        val_loss, val_acc = evaluate(state)
        row = (e, float(np.mean(losses)) if losses else math.nan, val_loss, val_acc, lr)
        if val_loss < prev.best_loss - min_delta:
            return Epoch(state, tuple(losses), row, state, val_loss, e, 0)
        return Epoch(state, tuple(losses), row, prev.best, prev.best_loss, prev.best_epoch, prev.wait + 1)

    trail = accumulate(run, epochs, Epoch(state, best=state))
    next(trail)
    return trail


def until_patience(epochs: Iterable[Epoch], patience: Patience | None) -> Iterator[Epoch]:
    """``epochs`` up to and including the one where ``patience.n`` epochs passed without improvement."""
    for item in epochs:
        yield item
        if patience is not None and item.wait >= patience.n:
            return


def with_progress(epochs: Iterable[Epoch], total: int) -> Iterator[Epoch]:
    """``epochs`` wrapped in a tqdm bar that shows each epoch's train (and validation) loss."""
    from tqdm.auto import tqdm

    with tqdm(total=total, unit="epoch") as bar:
        for item in epochs:
            _, loss, val_loss = item.row[:3]
            shown = {"loss": f"{loss:.4g}"} | ({} if math.isnan(val_loss) else {"val_loss": f"{val_loss:.4g}"})
            bar.set_postfix(shown, refresh=False)
            bar.update()
            yield item


def fit_by_epoch(optimizer: Optimizer, fold_steps: Callable, epoch_batches: Callable[[int], Iterable], start_epoch: int,
                 epochs: int, state: TrainState, evaluate: Callable, early_stopping: Patience | None,
                 progress: bool) -> FitResult:
    """Run ``epochs`` epochs from ``start_epoch``; ``FitResult`` with a ``History``, best state on early stop."""
    checks.integer("epochs", epochs)
    if early_stopping is not None and not isinstance(early_stopping, Patience):
        raise TypeError(f"early_stopping: expected a fnn.Patience(n) or None, got {type(early_stopping).__name__}")
    min_delta = early_stopping.min_delta if early_stopping is not None else 0.0
    epoch_range = range(start_epoch, start_epoch + epochs)
    trail = until_patience(
        epoch_scan(fold_steps, epoch_batches, epoch_range, state, evaluate, learning_rate_of(optimizer), min_delta), early_stopping
    )
    last, rows, losses = Epoch(state, best=state), [], []
    for last in with_progress(trail, epochs) if progress else trail:  # holds the latest and the best state only
        rows.append(last.row)
        losses.extend(last.losses)
    columns = list(zip(*rows)) or [()] * 5
    stopped = early_stopping is not None and last.wait >= early_stopping.n
    history = History(*columns, best_epoch=last.best_epoch, stopped_early=stopped)
    return FitResult(last.best if early_stopping is not None else last.state, np.asarray(losses, dtype=np.float64),
                     history=history)
