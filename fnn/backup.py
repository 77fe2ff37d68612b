"""Backups of a training run: the state to resume from after an interruption, and a check that it
belongs to the run that resumes.

A backup is one ``.npz`` like a checkpoint (``fnn.checkpoint``: arrays plus a JSON header, read
with ``allow_pickle=False``, written atomically) that holds the training state (params, optimizer
state, step, loss) and the run's ``Fingerprint``, but not the optimizer: that comes from the
arguments of the run that resumes, so any optimizer can be backed up, custom learning-rate
functions included. ::

    fp = fingerprint(net, X, y, optimizer, batch_size, seed)
    state = read_backup(path, net, optimizer, fp) if os.path.exists(path) else init_state(params, optimizer)
    with guard(path, net, fp) as g:        # on Ctrl-C or SIGTERM: the last completed state is written
        for ...:
            state = ...                    # one more step or epoch
            g.completed(state)
            if due: g.save()               # write_backup(path, net, state, fp)
"""
from __future__ import annotations

import json
import numbers
import signal
import threading
from typing import Any

import attrs
import numpy as np

from fnn.checkpoint import Invalid, decode_state, encode_state, file_path, network_json, read_archive, read_header, write_atomic
from fnn.records import Network, Optimizer, TrainState
from fnn.schedules import SCHEDULES

FORMAT = "fnn-backup"
FORMAT_VERSION = 1
HEADER_KEYS = ("format", "format_version", "fingerprint", "progress", "dtype", "step", "network", "opt_state")
CUSTOM = "custom (taken as given)"
"""How a fingerprint records what it cannot compare: a custom learning-rate function, say."""


@attrs.frozen
class Fingerprint:
    """What a run's backup must match to be resumed by it, as JSON values: ``network`` (layers,
    loss, l2), ``dtype`` of the params, ``batch_size`` (``None``: the whole set), ``seed``,
    ``X_shape`` ``(m, n_in)``, ``y_shape`` (labels ``(m,)`` or a targets matrix ``(m, n_out)``),
    ``optimizer`` (its name) and ``hyperparams`` (name -> a number, an ``fnn.schedules`` record as a
    dict, or ``CUSTOM`` for anything else, which matches any custom value)."""

    network: dict
    dtype: str
    batch_size: int | None
    seed: Any
    X_shape: tuple
    y_shape: tuple
    optimizer: str
    hyperparams: dict

    def to_json(self) -> dict:
        return json.loads(json.dumps(attrs.asdict(self)))

    def mismatch(self, stored: dict) -> str | None:
        """The first field where ``stored`` (a backup's fingerprint) differs from this one, said in
        words, or ``None`` when they match."""
        mine = self.to_json()
        if not isinstance(stored, dict) or set(stored) != set(mine):
            return f"fingerprint: expected the fields {sorted(mine)}, got {stored!r}"
        for name, value in mine.items():
            theirs = stored[name]
            if theirs == value:
                continue
            if name == "hyperparams" and isinstance(theirs, dict):
                k = next(k for k in sorted(set(value) | set(theirs)) if theirs.get(k, "none") != value.get(k, "none"))
                name, theirs, value = f"optimizer hyperparameter {k!r}", theirs.get(k, "none"), value.get(k, "none")
            return f"{name}: the backup's run had {theirs!r}, this run has {value!r}"
        return None


def _comparable(value: Any) -> Any:
    """A hyperparameter as a fingerprint records it (see ``Fingerprint``)."""
    if type(value) in SCHEDULES.values():
        return {"schedule": type(value).__name__, **{k: _comparable(v) for k, v in attrs.asdict(value, recurse=False).items()}}
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":  # stacked members' hyperparameters
        return value.tolist()
    return CUSTOM


def _shape(value: Any) -> tuple:
    shape = getattr(value, "shape", None)
    return tuple(int(n) for n in (np.shape(value) if shape is None else shape))


def fingerprint(net: Network, X: Any, y: Any, optimizer: Optimizer, batch_size: int | None = None, seed: Any = 0,
                dtype: Any = np.float64) -> Fingerprint:
    """The ``Fingerprint`` of a run of ``fit(net, X, y, optimizer, batch_size=..., seed=...)`` whose
    params are of ``dtype``; ``X`` and ``y`` are only measured (a memmap is not read).

    >>> import fnn
    >>> fp = fingerprint(fnn.network([2, 1]), np.zeros((5, 2)), np.zeros(5), fnn.adam(lambda k: 0.1), 2)
    >>> fp.X_shape, fp.optimizer, fp.hyperparams["learning_rate"], fp.hyperparams["beta1"]
    ((5, 2), 'adam', 'custom (taken as given)', 0.9)
    """
    if not isinstance(net, Network):
        raise TypeError(f"net: expected a Network, got {type(net).__name__}")
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer: expected an Optimizer (fnn.sgd, fnn.adam, ...), got {type(optimizer).__name__}")
    seed = seed.tolist() if isinstance(seed, np.ndarray) else list(seed) if isinstance(seed, (list, tuple)) else seed
    return Fingerprint(network_json(net), np.dtype(dtype).name, batch_size, seed, _shape(X), _shape(y),
                       optimizer.name, {k: _comparable(v) for k, v in optimizer.hyperparams})


def _check_fingerprint(value: Any) -> Fingerprint:
    if not isinstance(value, Fingerprint):
        raise TypeError(f"fingerprint: expected a Fingerprint (see fnn.backup.fingerprint), got {type(value).__name__}")
    return value


def write_backup(path: Any, net: Network, state: TrainState, fingerprint: Fingerprint, progress: dict | None = None) -> None:
    """Write ``state`` (made by ``state.optimizer``, any optimizer), ``fingerprint`` and ``progress``
    (JSON values: what the run has recorded so far, see ``fnn.history``) to one ``.npz`` at exactly
    ``path``, atomically: killed at any moment, the old file stays whole, and the temporary file
    left behind is removed by the next write."""
    path = file_path(path)
    header = {"format": FORMAT, "format_version": FORMAT_VERSION, "fingerprint": _check_fingerprint(fingerprint).to_json(),
              "progress": progress}
    optimizer = getattr(state, "optimizer", None)
    if isinstance(state, TrainState) and not isinstance(optimizer, Optimizer):
        raise ValueError("state.optimizer: expected the Optimizer that made the state (fnn.init_state records it), got None")
    write_atomic(path, encode_state(net, state, optimizer, header))


def read_backup(path: Any, net: Network, optimizer: Optimizer, fingerprint: Fingerprint) -> TrainState:
    """The state a ``write_backup`` of this run left at ``path``, with ``optimizer`` (the resuming
    run's) as its optimizer. Raises ``FileNotFoundError`` for a missing file and
    ``CheckpointError`` naming the path and, for a backup of another run, the first field of the
    ``fingerprint`` that differs (the network, batch size, seed, data shapes or optimizer)."""
    return resume(path, net, optimizer, fingerprint)[0]


def resume(path: Any, net: Network, optimizer: Optimizer, fingerprint: Fingerprint) -> tuple[TrainState, dict | None]:
    """``read_backup``'s state and the ``progress`` written with it."""
    _check_fingerprint(fingerprint)
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer: expected an Optimizer (fnn.sgd, fnn.adam, ...), got {type(optimizer).__name__}")

    def read(npz: Any) -> tuple[TrainState, dict | None]:
        header = read_header(npz, FORMAT, HEADER_KEYS, FORMAT_VERSION)
        mismatch = fingerprint.mismatch(header["fingerprint"])
        if mismatch is not None:
            raise Invalid(mismatch, "a backup of another run")
        return decode_state(npz, header, net, optimizer), header["progress"]

    return read_archive(path, read)


class Terminated(SystemExit):
    """SIGTERM (or another signal ``guard`` converts), raised in the main thread so that it
    propagates like an exception; uncaught, the process exits with status ``128 + signum``."""

    def __init__(self, signum: int = signal.SIGTERM):
        self.signum = int(signum)
        super().__init__(128 + self.signum)

    def __reduce__(self):
        return type(self), (self.signum,)


class Guard:
    """The ``guard`` of one run: ``completed(state)`` records the last completed state, ``save()``
    writes it; when ``KeyboardInterrupt`` or ``Terminated`` leaves the block, the last completed
    state is written (unless ``save`` just wrote it) before the exception propagates."""

    def __init__(self, path: Any, net: Network, fingerprint: Fingerprint, signals: tuple = (signal.SIGTERM,)):
        self.path, self.net, self.fingerprint = file_path(path), net, _check_fingerprint(fingerprint)
        self.signals, self.state, self.progress, self._written, self._previous = tuple(signals), None, None, None, {}

    def completed(self, state: TrainState, progress: dict | None = None) -> None:
        """Record ``state`` (and the run's ``progress`` with it) as the last completed one."""
        self.state, self.progress = state, progress

    def save(self) -> None:
        """Write the last completed state (a no-op before the first, or when it is already written)."""
        if self.state is not None and self.state is not self._written:
            write_backup(self.path, self.net, self.state, self.fingerprint, self.progress)
            self._written = self.state

    def _raise(self, signum, frame) -> None:
        raise Terminated(signum)

    def __enter__(self) -> "Guard":
        if threading.current_thread() is threading.main_thread():  # signal.signal works only there
            for signum in self.signals:
                self._previous[signum] = signal.signal(signum, self._raise)
        return self

    def __exit__(self, kind, err, tb) -> bool:
        try:
            if kind is not None and issubclass(kind, (KeyboardInterrupt, Terminated)):
                for signum in self._previous:  # a second signal must not cut the last write short
                    signal.signal(signum, signal.SIG_IGN)
                self.save()
        finally:
            for signum, previous in self._previous.items():
                signal.signal(signum, previous)
            self._previous = {}
        return False


def guard(path: Any, net: Network, fingerprint: Fingerprint, signals: tuple = (signal.SIGTERM,)) -> Guard:
    """A context manager that writes the run's last completed state to ``path`` when the block is
    interrupted: by ``KeyboardInterrupt`` (Ctrl-C), or by one of ``signals`` (SIGTERM by default),
    which it converts to ``Terminated`` while the block runs (in the main thread only: elsewhere
    Python cannot set signal handlers; the previous handlers are restored at the end). The
    exception propagates after the write. See ``Guard``.

    >>> import fnn, os, tempfile
    >>> net, opt = fnn.network([2, 1]), fnn.sgd(0.1)
    >>> path = os.path.join(tempfile.mkdtemp(), "run.backup")
    >>> fp = fingerprint(net, np.zeros((4, 2)), np.zeros(4), opt)
    >>> try:
    ...     with guard(path, net, fp) as g:
    ...         g.completed(fnn.init_state(fnn.init_params(net), opt))
    ...         raise KeyboardInterrupt
    ... except KeyboardInterrupt:
    ...     read_backup(path, net, opt, fp).step
    0
    """
    return Guard(path, net, fingerprint, signals)
