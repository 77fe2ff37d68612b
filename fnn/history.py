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

import contextlib
import math
import os
from typing import Any, Callable, Iterable, Iterator

import attrs
import numpy as np
from toolz import accumulate

from fnn import checks
from fnn.labels import accuracy, predict, targets
from fnn.checkpoint import CheckpointError
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


def epoch_scan(fold_steps: Callable, epoch_batches: Callable[[int], Iterable], epochs: Iterable[int], start: Epoch,
               evaluate: Callable[[TrainState], tuple[float, float]], rate: Callable[[int], float],
               min_delta: float = 0.0, carried: tuple = (), interrupted: Callable | None = None) -> Iterator[Epoch]:
    """Lazily yield an ``Epoch`` per epoch index in ``epochs`` after ``start``, each
    ``fold_steps(epoch_batches(e), state, interrupted) -> (state, step losses)`` (``fnn.engine.Step.fold``);
    ``carried``: the losses of the first epoch's steps taken before (a run resumed mid-epoch)."""

    def run(prev: Epoch, e: int) -> Epoch:
        before = carried if prev is start else ()
        lr = rate(prev.state.step - len(before))
        state, losses = fold_steps(epoch_batches(e), prev.state, interrupted)
        losses = tuple(before) + tuple(losses)
        val_loss, val_acc = evaluate(state)
        row = (e, float(np.mean(losses)) if losses else math.nan, val_loss, val_acc, lr)
        if val_loss < prev.best_loss - min_delta:
            return Epoch(state, losses, row, state, val_loss, e, 0)
        return Epoch(state, losses, row, prev.best, prev.best_loss, prev.best_epoch, prev.wait + 1)

    trail = accumulate(run, epochs, start)
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


@attrs.frozen
class Backup:
    """Where and how often ``fit`` backs its run up (see ``fnn.fit``'s ``backup``): ``path``, the
    run's ``fingerprint`` (``fnn.backup.fingerprint``), a write every ``every`` epochs, the file
    kept at the end when ``keep``; ``net`` and ``optimizer`` rebuild the state it holds."""

    path: str
    net: Network
    optimizer: Optimizer
    fingerprint: Any
    every: int = 1
    keep: bool = False

    def best_path(self, step: int) -> str:
        """Early stopping's best state (of step ``step``), beside the backup."""
        return f"{self.path}.best-{step}"

    def best_paths(self) -> list[str]:
        directory, base = os.path.split(os.path.abspath(self.path))
        return [os.path.join(directory, name) for name in os.listdir(directory) if name.startswith(base + ".best-")]


def _progress(start: int, rows: list, losses: list, last: Epoch) -> dict:
    """What a backup records of a run besides its state (JSON values); early stopping's best state
    is a file of its own (``Backup.best_path(best_step)``), written when it became the best."""
    return {"start": start, "rows": [list(r) for r in rows], "losses": list(losses), "best_epoch": last.best_epoch,
            "best_loss": last.best_loss, "best_step": last.best.step if last.best is not None else None, "wait": last.wait}


def _best_step(last: Epoch | None) -> int | None:
    return last.best.step if last is not None and last.best is not None else None


def forget_other_bests(backup: Backup, best_step: int | None) -> None:
    """Remove the best-state files that no backup names any more (all but the one of ``best_step``, if any)."""
    keep = None if best_step is None else backup.best_path(best_step)
    for path in backup.best_paths():
        if path != keep:
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)


def fit_by_epoch(optimizer: Optimizer, fold_steps: Callable, epoch_batches: Callable[[int], Iterable], start_epoch: int,
                 epochs: int, state: TrainState, evaluate: Callable, early_stopping: Patience | None,
                 progress: bool, per_epoch: int = 1, skip: int = 0, backup: Backup | None = None,
                 keep_history: bool = True) -> FitResult:
    """Run ``epochs`` epochs from ``start_epoch`` (leaving out its first ``skip`` batches); ``FitResult``
    with a ``History`` (unless not ``keep_history``), the best state on early stop; with ``backup``,
    resumed from its file when there is one, and backed up (see ``Backup``)."""
    from fnn.backup import guard, resume, write_backup

    checks.integer("epochs", epochs)
    if early_stopping is not None and not isinstance(early_stopping, Patience):
        raise TypeError(f"early_stopping: expected a fnn.Patience(n) or None, got {type(early_stopping).__name__}")
    min_delta = early_stopping.min_delta if early_stopping is not None else 0.0
    start, rows, losses, carried = Epoch(state, best=state), [], [], ()
    run_start, end_epoch = state.step, start_epoch + epochs
    if backup is not None and os.path.exists(backup.path):
        state, record = resume(backup.path, backup.net, backup.optimizer, backup.fingerprint)
        rows, losses = [tuple(r) for r in record["rows"]], record["losses"]
        if record["start"] != run_start or state.step != run_start + len(losses):
            raise CheckpointError(backup.path, f"a backup of another run: it started at step {record['start']} "
                                  f"and reached {state.step}, this run starts at step {run_start}")
        best = state
        if early_stopping is not None and record["best_epoch"] is not None and record["best_step"] != state.step:
            best = resume(backup.best_path(record["best_step"]), backup.net, backup.optimizer, backup.fingerprint)[0]
        start = Epoch(state, best=best, best_loss=record["best_loss"], best_epoch=record["best_epoch"], wait=record["wait"])
        position = skip + len(losses)
        start_epoch, skip = start_epoch + position // per_epoch, position % per_epoch
        carried = tuple(losses[len(losses) - (len(losses) if not rows else skip):])
    rate = learning_rate_of(optimizer)
    done, remaining = list(losses), max(0, end_epoch - start_epoch)
    with guard(backup.path, backup.net, backup.fingerprint) if backup is not None else contextlib.nullcontext() as g:

        def interrupted(step_state: TrainState, step_losses: list) -> None:
            # an epoch whose every step is done but that has no row yet stays the previous record's
            if g is not None and len(step_losses) < epoch_steps[0]:
                g.completed(step_state, _progress(run_start, rows, done + list(step_losses), last))

        def batches_of(e: int) -> Iterable:
            left_out = skip if e == start_epoch else 0
            epoch_steps[0] = per_epoch - left_out  # the batches this fold of epoch e runs
            return epoch_batches(e, left_out)

        epoch_steps = [per_epoch]  # steps of the epoch being run
        trail = until_patience(
            epoch_scan(fold_steps, batches_of, range(start_epoch, end_epoch), start, evaluate, rate, min_delta, carried,
                       interrupted), early_stopping)
        last = start
        if g is not None:
            g.completed(state, _progress(run_start, rows, done, last))
        for n, last in enumerate(with_progress(trail, remaining) if progress else trail, 1):
            rows.append(last.row)
            done.extend(last.losses[len(carried) if n == 1 else 0:])
            if g is not None:
                if early_stopping is not None and last.best is last.state:  # before any backup names it
                    write_backup(backup.best_path(last.state.step), backup.net, last.state, backup.fingerprint)
                g.completed(last.state, _progress(run_start, rows, done, last))
                if n % backup.every == 0:
                    g.save()
                    forget_other_bests(backup, _best_step(last))
    if backup is not None:
        if not backup.keep:  # the backup first: cut short in between, no backup names a missing best file
            with contextlib.suppress(FileNotFoundError):
                os.remove(backup.path)
        forget_other_bests(backup, _best_step(last) if backup.keep else None)
    columns = list(zip(*rows)) or [()] * 5
    stopped = early_stopping is not None and last.wait >= early_stopping.n
    history = History(*columns, best_epoch=last.best_epoch, stopped_early=stopped) if keep_history else None
    return FitResult(last.best if early_stopping is not None else last.state, np.asarray(done, dtype=np.float64),
                     history=history)
