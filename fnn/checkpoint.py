"""Checkpoints: ``save(path, net, state)`` writes one ``.npz``; ``load(path) -> (net, state)`` reads it.

The archive at exactly ``path`` holds::

    header           uint8, UTF-8 JSON: format, format_version, dtype, step, network,
                     optimizer {name, hyperparams}, opt_state {type, ints, arrays}; for K stacked members
                     (fnn.members) also members {count, diverged}, and every array below
                     has a leading axis of K (per-member hyperparameters are JSON lists)
    layer<i>.W       (n_in, n_out)   layer<i>.b  (n_out,)      in the params' dtype
    loss             ()              the state's loss, in the params' dtype
    opt_state.<f>    each array field ``f`` of the optimizer state (e.g. ``opt_state.mu``)

The optimizer is stored by name and hyperparameters (a schedule by its class and fields) and
rebuilt on ``load``, so ``fit(..., state=load(path)[1])`` continues bit for bit. It is read only
with ``np.load(..., allow_pickle=False)``: a checkpoint never runs code. ``save`` is atomic (a
temporary file in the same directory, fsynced, then ``os.replace``); ``load`` checks everything
it reads and raises ``CheckpointError`` naming the path and what is wrong.
"""
from __future__ import annotations

import contextlib
import json
import numbers
import os
import re
import secrets
from typing import Any, Callable

import attrs
import numpy as np

from fnn import checks
from fnn.members import StackedParams, StackedState
from fnn.optimizers import OPTIMIZERS
from fnn.records import Dense, LayerParams, Network, Optimizer, Params, TrainState
from fnn.schedules import SCHEDULES
from fnn.stages import check_net, check_params

FORMAT = "fnn-checkpoint"
FORMAT_VERSION = 1
ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06")
HEADER_KEYS = ("format", "format_version", "dtype", "step", "network", "optimizer", "opt_state")


class CheckpointError(ValueError):
    """A file that is not a whole, valid checkpoint this version of fnn can read, or (a backup)
    one that belongs to another run.

    ``path`` is the file; ``reason`` says what is wrong with it; ``problem`` heads the message.
    """

    def __init__(self, path: str, reason: str, problem: str = "not a valid fnn checkpoint"):
        self.path, self.reason, self.problem = path, reason, problem
        super().__init__(f"{path}: {problem}: {reason}")

    def __reduce__(self):
        return type(self), (self.path, self.reason, self.problem)


class Invalid(Exception):
    """What is wrong with the file being read (``read_archive`` adds the path); ``problem``, when
    given, heads the ``CheckpointError``'s message."""

    def __init__(self, reason: str, problem: str | None = None):
        super().__init__(reason)
        self.problem = problem


def file_path(path: Any) -> str:
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise TypeError(f"path: expected a str or os.PathLike, got {type(path).__name__} {path!r}")
    return os.fsdecode(os.fspath(path))


def _layer_names(i: int) -> tuple[str, str]:
    return f"layer{i}.W", f"layer{i}.b"


# --- writing ------------------------------------------------------------------------------


def _number(name: str, value: Any) -> int | float:
    """A JSON number for a hyperparameter or schedule field (ints stay ints)."""
    if isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)):
        return float(value)
    raise ValueError(
        f"{name}: expected a number or an fnn.schedules record ({', '.join(SCHEDULES)}), "
        f"got {type(value).__name__} {value!r}; a checkpoint cannot store it"
    )


def _hyperparam(name: str, value: Any) -> Any:
    """A number, a bool (``sgd``'s ``nesterov``), a list of numbers (per member), or a schedule record
    as ``{"schedule": class name, field: number, ...}``."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, np.ndarray) and value.ndim == 1:
        return [_number(f"{name}[{k}]", v) for k, v in enumerate(value.tolist())]
    if type(value) in SCHEDULES.values():
        fields = attrs.asdict(value, recurse=False)
        return {"schedule": type(value).__name__, **{k: _number(f"{name}.{k}", v) for k, v in fields.items()}}
    return _number(name, value)


def _optimizer_json(optimizer: Any) -> dict:
    if not isinstance(optimizer, Optimizer) or optimizer.name not in OPTIMIZERS:
        got = optimizer.name if isinstance(optimizer, Optimizer) else type(optimizer).__name__
        raise ValueError(
            f"state.optimizer: expected an optimizer fnn can rebuild by name ({', '.join(OPTIMIZERS)}), "
            f"got {got!r}; a checkpoint stores the optimizer by name and hyperparameters"
        )
    return {
        "name": optimizer.name,
        "hyperparams": {k: _hyperparam(f"state.optimizer.hyperparams[{k!r}]", v) for k, v in optimizer.hyperparams},
    }


def _opt_state_layout(state: TrainState, optimizer: Optimizer) -> tuple[dict, dict[str, np.ndarray]]:
    """``{"type", "ints", "arrays"}`` for the header, and the state's arrays by field name; the
    state must be an attrs record of ints and arrays like ``optimizer.init``'s (any optimizer's)."""
    opt_state = state.opt_state
    made = optimizer.init(state.params)
    if not attrs.has(type(made)):
        raise TypeError(
            f"state.opt_state: expected an attrs record of ints and arrays (as fnn's optimizers make), "
            f"got {type(made).__name__} from {optimizer.name}'s init; it cannot be stored"
        )
    if type(opt_state) is not type(made):
        raise TypeError(
            f"state.opt_state: expected a {type(made).__name__} like {optimizer.name}'s init, "
            f"got {type(opt_state).__name__}"
        )
    ints, arrays = {}, {}
    for f in attrs.fields(type(opt_state)):
        value = getattr(opt_state, f.name)
        if isinstance(value, np.ndarray):
            arrays[f.name] = checks.finite(f"state.opt_state.{f.name}", value)
        elif isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)):
            ints[f.name] = int(value)
        else:
            raise TypeError(f"state.opt_state.{f.name}: expected an int or an array, got {type(value).__name__}")
    return {"type": type(opt_state).__name__, "ints": ints, "arrays": list(arrays)}, arrays


def network_json(net: Network) -> dict:
    """``net`` as the header stores it."""
    return {"layers": [attrs.asdict(d) for d in net.layers], "loss": net.loss, "l2": float(net.l2)}


def encode_state(net: Network, state: TrainState, optimizer: Optimizer, header: dict,
                 more: Callable[[], dict] = dict) -> dict[str, np.ndarray]:
    """Every array of an archive of ``state`` (made by ``optimizer``), after checking ``net`` and
    ``state``: the params, the optimizer state, the loss, and ``header`` (a dict of JSON values)
    with ``more()`` (called once ``state`` is checked), ``dtype``, ``step``, ``network`` and
    ``opt_state`` (its layout) added."""
    check_net(net)
    if not isinstance(state, TrainState):
        raise TypeError(f"state: expected a TrainState (see fnn.init_state), got {type(state).__name__}")
    dtype = check_params(net, state.params, "state.params")
    step = checks.integer("state.step", state.step)
    loss = checks.numeric("state.loss", state.loss)
    stacked = isinstance(state, StackedState)
    if loss.shape != ((state.members,) if stacked else ()):
        raise ValueError(f"state.loss: expected {'one per member' if stacked else 'a scalar'}, got shape {loss.shape}")
    header = {**header, **more()}
    layout, opt_arrays = _opt_state_layout(state, optimizer)
    header.update(dtype=dtype.name, step=step, network=network_json(net), opt_state=layout)
    if stacked:  # K members: every array below has a leading member axis
        header["members"] = {"count": state.members, "diverged": [int(d) for d in state.diverged]}
    arrays = {"header": np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)}
    for i, layer in enumerate(state.params.layers):
        for name, field in zip(_layer_names(i), ("W", "b")):
            arrays[name] = checks.finite(f"state.params.layers[{i}].{field}", getattr(layer, field))
    arrays.update((f"opt_state.{name}", arr) for name, arr in opt_arrays.items())
    arrays["loss"] = loss.astype(dtype)
    return arrays


def _encode(net: Network, state: TrainState) -> dict[str, np.ndarray]:
    """Every array of the checkpoint, the JSON header included."""
    optimizer = getattr(state, "optimizer", None)
    header = {"format": FORMAT, "format_version": FORMAT_VERSION}
    return encode_state(net, state, optimizer, header, lambda: {"optimizer": _optimizer_json(optimizer)})


def _fsync_directory(directory: str) -> None:
    """Make a rename in ``directory`` durable (POSIX; a no-op where directories cannot be opened)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _new_temporary(directory: str, base: str) -> tuple[str, int]:
    """A new file ``.<base>.<pid>-<random>.tmp`` in ``directory`` (``pid``: this process's), with
    the permissions ``open`` would give."""
    while True:
        tmp = os.path.join(directory, f".{base}.{os.getpid()}-{secrets.token_hex(6)}.tmp")
        with contextlib.suppress(FileExistsError):
            return tmp, os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)


def _alive(pid: int) -> bool:
    """Whether a process ``pid`` runs on this machine (one of another user's counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True
    return True


def stale_temporaries(path: str) -> list[str]:
    """The temporaries of ``path`` that a save killed midway left behind: ``.<base>.<pid>-<hex>.tmp``
    beside it whose process ``pid`` no longer runs (a save in progress elsewhere is left alone)."""
    directory, base = os.path.split(os.path.abspath(path))
    pattern = re.compile(re.escape(f".{base}.") + r"(\d+)-[0-9a-f]+\.tmp")
    with contextlib.suppress(OSError):
        names = os.listdir(directory)
        return [os.path.join(directory, n) for n in names if (m := pattern.fullmatch(n)) and not _alive(int(m.group(1)))]
    return []


def write_atomic(path: str, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` to a temporary file beside ``path``, fsync it, then ``os.replace`` it; first
    remove the ``stale_temporaries`` of ``path`` (a SIGKILL mid-save leaves the old file whole and
    its temporary behind; the next save clears it)."""
    for stale in stale_temporaries(path):
        with contextlib.suppress(OSError):
            os.unlink(stale)
    directory, base = os.path.split(os.path.abspath(path))
    tmp, fd = _new_temporary(directory, base)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_directory(directory)


def save(path: Any, net: Network, state: TrainState) -> None:
    """Write ``net`` and ``state`` to one ``.npz`` at exactly ``path``, atomically.

    Raises ``ValueError``/``TypeError`` before touching the disk when ``state`` does not fit
    ``net`` or its optimizer cannot be stored (a custom one, or a schedule that is not an
    ``fnn.schedules`` record).

    >>> import fnn, os, tempfile
    >>> net = fnn.network([2, 3, 1]); opt = fnn.adam(fnn.schedules.step_decay(0.1, 0.5, 10))
    >>> state = fnn.init_state(fnn.init_params(net), opt)
    >>> path = os.path.join(tempfile.mkdtemp(), "run.npz"); save(path, net, state)
    >>> net2, state2 = load(path)
    >>> net2 == net, state2.optimizer.hyperparams == opt.hyperparams, state2.step
    (True, True, 0)
    """
    path = file_path(path)
    write_atomic(path, _encode(net, state))


# --- reading ------------------------------------------------------------------------------


def _keys(value: Any, keys, where: str) -> dict:
    """``value`` as a dict with exactly ``keys``."""
    if not isinstance(value, dict):
        raise Invalid(f"{where}: expected a JSON object, got {type(value).__name__}")
    if set(value) != set(keys):
        missing, extra = sorted(set(keys) - set(value)), sorted(set(value) - set(keys))
        raise Invalid(f"{where}: expected the keys {sorted(keys)}, got {sorted(value)} (missing {missing}, unexpected {extra})")
    return value


def _typed(value: Any, kind: type, where: str) -> Any:
    """``value`` if it is a ``kind`` (a JSON true/false is not an int)."""
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise Invalid(f"{where}: expected {kind.__name__}, got {type(value).__name__} {value!r}")
    return value


def read_header(npz: Any, fmt: str = FORMAT, keys: tuple = HEADER_KEYS, version_max: int = FORMAT_VERSION) -> dict:
    """The JSON header of an archive of format ``fmt`` with exactly ``keys``, checked as far as
    ``encode_state`` wrote it (``format``, ``format_version``, ``dtype``, ``step``)."""
    raw = npz["header"]
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise Invalid(f"header: expected a 1-D uint8 array of UTF-8 JSON, got {raw.dtype} {raw.shape}")
    header = json.loads(raw.tobytes().decode("utf-8"))
    if not isinstance(header, dict) or header.get("format") != fmt:
        got = header.get("format") if isinstance(header, dict) else type(header).__name__
        raise Invalid(f"header.format: expected {fmt!r}, got {got!r}")
    version = _typed(header.get("format_version"), int, "header.format_version")
    if version > version_max:
        raise Invalid(f"format_version {version} was written by a newer fnn (this one reads up to {version_max}); upgrade fnn")
    if version < 1:
        raise Invalid(f"header.format_version: expected 1..{version_max}, got {version}")
    _keys(header, tuple(keys) + (("members",) if "members" in header else ()), "header")
    if header["dtype"] not in ("float32", "float64"):
        raise Invalid(f"header.dtype: expected 'float32' or 'float64', got {header['dtype']!r}")
    if _typed(header["step"], int, "header.step") < 0:
        raise Invalid(f"header.step: expected an int >= 0, got {header['step']}")
    return header


def _network(spec: Any) -> Network:
    spec = _keys(spec, ("layers", "loss", "l2"), "header.network")
    layers = _typed(spec["layers"], list, "header.network.layers")
    fields = [f.name for f in attrs.fields(Dense)]
    dense = tuple(Dense(**_keys(d, fields if not isinstance(d, dict) or "dropout" in d else fields[:-1], f"header.network.layers[{i}]"))  # files before dropout
                  for i, d in enumerate(layers))
    return Network(dense, spec["loss"], spec["l2"])


def _hyperparam_value(value: Any, where: str) -> Any:
    if isinstance(value, list):  # per member
        if not value or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
            raise Invalid(f"{where}: expected a non-empty list of numbers, one per member, got {value!r}")
        return np.array(value, dtype=np.float64)
    if not isinstance(value, dict):
        return value
    name = value.get("schedule")
    if name not in SCHEDULES:
        raise Invalid(f"{where}.schedule: expected one of {sorted(SCHEDULES)}, got {name!r}")
    return SCHEDULES[name](**{k: v for k, v in value.items() if k != "schedule"})


def _optimizer(spec: Any) -> Optimizer:
    spec = _keys(spec, ("name", "hyperparams"), "header.optimizer")
    if spec["name"] not in OPTIMIZERS:
        raise Invalid(f"header.optimizer.name: expected one of {sorted(OPTIMIZERS)}, got {spec['name']!r}")
    hyper = _typed(spec["hyperparams"], dict, "header.optimizer.hyperparams")
    return OPTIMIZERS[spec["name"]](**{k: _hyperparam_value(v, f"header.optimizer.hyperparams.{k}") for k, v in hyper.items()})


def _array(npz: Any, name: str, shape: tuple, dtype: np.dtype, finite: bool = True) -> np.ndarray:
    arr = npz[name]
    if arr.shape != tuple(shape) or arr.dtype != dtype:
        raise Invalid(f"array {name!r}: expected {dtype} {tuple(shape)}, got {arr.dtype} {arr.shape}")
    if finite and not np.isfinite(arr).all():
        raise Invalid(f"array {name!r}: expected finite values, got {arr[~np.isfinite(arr)][0]!r}")
    return arr


def _layout(spec: Any) -> tuple[str, dict, list]:
    """The header's optimizer-state ``type``, ``ints`` (name -> int >= 0) and ``arrays`` (names)."""
    spec = _keys(spec, ("type", "ints", "arrays"), "header.opt_state")
    ints = _typed(spec["ints"], dict, "header.opt_state.ints")
    for name, value in ints.items():
        if _typed(value, int, f"header.opt_state.ints.{name}") < 0:
            raise Invalid(f"header.opt_state.ints.{name}: expected an int >= 0, got {value}")
    arrays = _typed(spec["arrays"], list, "header.opt_state.arrays")
    for i, name in enumerate(arrays):
        _typed(name, str, f"header.opt_state.arrays[{i}]")
    return spec["type"], ints, arrays


def _opt_state(npz: Any, template: Any, layout: tuple[str, dict, list]) -> Any:
    """The optimizer state of ``layout``, shaped and typed like ``template`` (the optimizer's init)."""
    kind, ints, arrays = layout
    cls = type(template)
    fields = [f for f in attrs.fields(cls) if f.init]
    if kind != cls.__name__ or sorted([*ints, *arrays]) != sorted(f.name for f in fields):
        raise Invalid(
            f"header.opt_state: expected a {cls.__name__} with the fields {[f.name for f in fields]}, "
            f"got a {kind} with {[*ints, *arrays]}"
        )
    values = dict(ints)
    for name in arrays:
        like = getattr(template, name)
        values[name] = _array(npz, f"opt_state.{name}", like.shape, like.dtype)
    return cls(**{f.alias: values[f.name] for f in fields})


def decode_state(npz: Any, header: dict, net: Network, optimizer: Optimizer) -> TrainState:
    """The ``TrainState`` (a ``StackedState`` for K members) that ``encode_state`` wrote for ``net``,
    its optimizer state shaped like ``optimizer.init``'s, checked array by array."""
    dtype = np.dtype(header["dtype"])
    layout = _layout(header["opt_state"])
    names = [name for i in range(len(net.layers)) for name in _layer_names(i)]
    expected = {"header", "loss", *names, *(f"opt_state.{name}" for name in layout[2])}
    if set(npz.files) != expected:
        raise Invalid(f"expected the arrays {sorted(expected)}, got {sorted(npz.files)}")
    count, diverged = _members(header.get("members"))
    lead = () if count is None else (count,)
    shapes = [lead + shape for pair in net.shapes for shape in pair]
    values = [_array(npz, name, shape, dtype) for name, shape in zip(names, shapes)]
    if count is None:
        params = Params(tuple(LayerParams(W, b) for W, b in zip(values[::2], values[1::2])))
    else:
        params = StackedParams.from_flat(np.concatenate([v.reshape(count, -1) for v in values], axis=1), net.shapes)
    opt_state = _opt_state(npz, optimizer.init(params), layout)
    loss = _array(npz, "loss", lead, dtype, finite=False)  # nan for a fresh state
    if count is not None:
        return StackedState(params, opt_state, header["step"], loss, optimizer=optimizer, diverged=diverged)
    return TrainState(params, opt_state, header["step"], loss[()], optimizer=optimizer)


def _members(spec: Any) -> tuple[int | None, list | None]:
    """``(K, diverged)`` of a stacked archive's ``members`` header, or ``(None, None)``."""
    if spec is None:
        return None, None
    spec = _keys(spec, ("count", "diverged"), "header.members")
    count = _typed(spec["count"], int, "header.members.count")
    diverged = _typed(spec["diverged"], list, "header.members.diverged")
    if count < 1 or len(diverged) != count or not all(isinstance(d, int) and not isinstance(d, bool) and d >= -1 for d in diverged):
        raise Invalid(f"header.members: expected count >= 1 and as many steps >= -1 in diverged, got {spec!r}")
    return count, diverged


def read_archive(path: Any, read: Callable[[Any], Any]) -> Any:
    """``read(npz)`` on the ``.npz`` at ``path`` (opened with ``allow_pickle=False``, its ``header``
    array there): ``FileNotFoundError`` for a missing file, ``CheckpointError`` naming the path
    for anything wrong with it (what ``read`` raises as ``Invalid``, or any failure to parse)."""
    path = file_path(path)
    with open(path, "rb") as f:
        try:
            if f.read(4) not in ZIP_SIGNATURES:
                raise Invalid("expected an .npz (zip) archive, got a file without a zip signature")
            f.seek(0)
            with np.load(f, allow_pickle=False) as npz:
                if "header" not in npz.files:
                    raise Invalid(f"expected an fnn header array, got an .npz with the arrays {sorted(npz.files)}")
                return read(npz)
        except Invalid as err:
            raise CheckpointError(path, str(err), *([err.problem] if err.problem else [])) from None
        except Exception as err:  # any failure to parse the bytes is damage, whatever raised it
            raise CheckpointError(path, f"damaged or unreadable ({type(err).__name__}: {err})") from err


def _read(npz: Any) -> tuple[Network, TrainState]:
    header = read_header(npz)
    net = _network(header["network"])
    return net, decode_state(npz, header, net, _optimizer(header["optimizer"]))


def load(path: Any) -> tuple[Network, TrainState]:
    """``(net, state)`` from a checkpoint written by ``save``; ``state.optimizer`` is rebuilt.

    Raises ``FileNotFoundError`` for a missing file and ``CheckpointError`` (naming the path) for
    a truncated, damaged, foreign or newer-version one.

    >>> load(os.devnull)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    fnn.checkpoint.CheckpointError: ...: not a valid fnn checkpoint: expected an .npz (zip) archive, ...
    """
    return read_archive(path, _read)
