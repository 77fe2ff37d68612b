"""Many networks as one: ``K`` members of one architecture stacked along a leading member axis.

A stacked record holds what ``K`` records of one network hold, with a member axis in front:
``StackedParams.flat`` is ``(K, n_params)``, each layer's ``W`` ``(K, n_in, n_out)`` and ``b``
``(K, n_out)`` (read-only views, like every record's); a ``StackedState`` is a ``TrainState``
whose params, optimizer moments and ``loss`` (``(K,)``) are stacked, and which says which members
are ``alive``. ``stack(items)`` builds them, ``unstack(x)`` gives the members back.

The public stages accept stacked params and dispatch here: ``X`` is shared ``(m, n_in)`` or per
member ``(K, m, n_in)``, ``Y`` shared ``(m, n_out)`` or per member ``(K, m, n_out)``; ``forward``
gives ``(K, m, n_out)``, ``cost`` ``(K,)``. These stacked stages are the specification: member
``k`` of each is the plain stage applied to member ``k``. ``fnn.train_step`` runs all members in
one stacked step (``fnn.engine.members``).
"""
from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from fnn import checks
from fnn.records import FitResult, Grads, Optimizer, Params, TrainState, owning, readonly, spans


def _stacked_pairs(flat: np.ndarray, shapes) -> list[tuple[np.ndarray, np.ndarray]]:
    """Read-only ``(W (K, n_in, n_out), b (K, n_out))`` views of a ``(K, n_params)`` vector."""
    if flat.flags.writeable:
        flat = readonly(flat.view())
    K, out = flat.shape[0], []
    for start, _, end, (n_in, n_out) in spans(shapes):
        Wb = flat[:, start:end].reshape(K, n_in + 1, n_out)
        out.append((Wb[:, :-1], Wb[:, -1]))
    return out


class _Stacked:
    """Mixin for a ``Params`` or ``Grads`` whose flat vector is ``(K, n_params)``."""

    __slots__ = ()

    def pairs(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return _stacked_pairs(self._flat, self._shapes)

    @property
    def members(self) -> int:
        """``K``, the number of members."""
        return self._flat.shape[0]

    @property
    def layers(self) -> tuple:
        if self._layers is None:
            object.__setattr__(self, "_layers", tuple(self._layer_type(a, b) for a, b in self.pairs()))
        return self._layers

    @property
    def flat(self) -> np.ndarray:
        return self._flat

    @property
    def dtype(self) -> np.dtype:
        return self._flat.dtype

    @property
    def shapes(self) -> tuple:
        return self._shapes

    def __repr__(self) -> str:
        return f"{type(self).__name__}(members={self.members}, shapes={self._shapes})"

    def __reduce__(self):
        return owning, (type(self), self._flat, self._shapes)

    @classmethod
    def from_flat(cls, flat: Any, shapes) -> Any:
        """The record of a ``(K, n_params)`` vector (copied when writable) and per-member ``shapes``."""
        from fnn.records import freeze

        flat = freeze(flat, "flat")
        shapes = tuple(tuple(map(tuple, pair)) for pair in shapes)
        size = sum(w[0] * w[1] + b[0] for w, b in shapes)
        if flat.ndim != 2 or flat.shape[1] != size or flat.shape[0] < 1:
            raise ValueError(f"flat: expected shape (K, {size}) for shapes {shapes}, got {flat.shape}")
        return owning(cls, flat, shapes)


class StackedParams(_Stacked, Params):
    """``Params`` of ``K`` members: ``flat`` ``(K, n_params)``; per layer ``W`` ``(K, n_in, n_out)``, ``b`` ``(K, n_out)``."""

    __slots__ = ()


class StackedGrads(_Stacked, Grads):
    """``Grads`` of ``K`` members, laid out like ``StackedParams``."""

    __slots__ = ()


def _diverged(value: Any) -> np.ndarray | None:
    if value is None:
        return None
    arr = np.array(value, dtype=np.int64)
    if arr.ndim != 1:
        raise ValueError(f"diverged: expected a 1-D array of steps (-1 for a live member), got shape {arr.shape}")
    return readonly(arr)


@attrs.frozen(eq=False)
class StackedState(TrainState):
    """A ``TrainState`` of ``K`` members: ``params`` a ``StackedParams``, the optimizer state's arrays
    ``(K, n_params)``, ``loss`` ``(K,)``; ``step`` is shared. ``diverged[k]`` is the step at which
    member ``k``'s cost or update stopped being finite (it is frozen at its last finite params
    from then on, its loss nan), or ``-1`` while it is alive."""

    diverged: np.ndarray = attrs.field(default=None, kw_only=True, converter=_diverged)

    def __attrs_post_init__(self) -> None:
        if self.diverged is None:
            object.__setattr__(self, "diverged", readonly(np.full(self.params.members, -1, np.int64)))

    @property
    def members(self) -> int:
        return self.params.members

    @property
    def alive(self) -> np.ndarray:
        """``(K,)`` bool: which members are still training."""
        return self.diverged < 0


def is_stacked(x: Any) -> bool:
    """Whether ``x`` is a stacked record (params, grads or state)."""
    return isinstance(x, (_Stacked, StackedState))


def members_of(optimizer: Optimizer) -> int | None:
    """``K`` when some hyperparameter of ``optimizer`` is per member (an array of shape ``(K,)``), else None."""
    for _, value in optimizer.hyperparams:
        if isinstance(value, np.ndarray):
            return value.shape[0]
    return None


# --- stack and unstack ---------------------------------------------------------------------


def _stack_flat(cls: type, items: list, name: str) -> Any:
    first = items[0]
    for i, p in enumerate(items):
        if not isinstance(p, type(first)) or is_stacked(p):
            raise TypeError(f"{name}[{i}]: expected a {type(first).__name__} of one network, got {type(p).__name__}")
        if p.shapes != first.shapes or p.dtype != first.dtype:
            raise ValueError(f"{name}[{i}]: expected shapes {first.shapes} and dtype {first.dtype} like {name}[0], "
                             f"got {p.shapes} and {p.dtype}")
    return owning(cls, np.stack([p.flat for p in items]), first.shapes)


def _stack_optimizer(optimizers: list) -> Optimizer | None:
    """One optimizer for the members: theirs when they agree; numbers that differ become a ``(K,)`` array."""
    from fnn.optimizers import OPTIMIZERS

    first = optimizers[0]
    if all(o is first for o in optimizers):
        return first
    if any(o is None for o in optimizers) or len({o.name for o in optimizers}) > 1 or first.name not in OPTIMIZERS:
        raise ValueError(f"items: expected states of one built-in optimizer, got {[getattr(o, 'name', None) for o in optimizers]}")
    hyper = {}
    for key, value in first.hyperparams:
        values = [_number(dict(o.hyperparams)[key]) for o in optimizers]
        if all(_same(v, values[0]) for v in values):
            hyper[key] = value
        elif all(isinstance(v, (int, float)) for v in values):
            hyper[key] = np.array(values, dtype=np.float64)
        else:
            raise ValueError(f"items: expected equal {key!r} or plain numbers per member, got {values!r}")
    return OPTIMIZERS[first.name](**hyper)


def _number(value: Any) -> Any:
    """A constant learning-rate schedule's rate; any other value as it is."""
    from fnn.schedules import constant

    return value.lr if type(value) is constant else value


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and np.array_equal(a, b)
    return a == b


def _stack_states(states: list) -> StackedState:
    first = states[0]
    for i, s in enumerate(states):
        if type(s) is not TrainState:
            raise TypeError(f"items[{i}]: expected a TrainState of one network, got {type(s).__name__}")
        if s.step != first.step or type(s.opt_state) is not type(first.opt_state):
            raise ValueError(f"items[{i}]: expected step {first.step} and a {type(first.opt_state).__name__} like items[0], "
                             f"got step {s.step} and a {type(s.opt_state).__name__}")
    params = _stack_flat(StackedParams, [s.params for s in states], "items")
    opt_type, values = type(first.opt_state), {}
    for f in attrs.fields(opt_type):
        got = [getattr(s.opt_state, f.name) for s in states]
        if isinstance(got[0], np.ndarray):
            values[f.alias] = np.stack(got)
        elif all(g == got[0] for g in got):
            values[f.alias] = got[0]
        else:
            raise ValueError(f"items: expected one opt_state.{f.name} for all members, got {got!r}")
    loss = np.array([s.loss for s in states], dtype=np.float64)
    return StackedState(params, opt_type(**values), first.step, readonly(loss),
                        optimizer=_stack_optimizer([s.optimizer for s in states]))


def stack(items: Any) -> Any:
    """``K`` ``Params`` (or ``Grads``, or ``TrainState``) of one network as one stacked record.

    States must be at one step with one kind of optimizer; hyperparameters that differ become
    per-member arrays. Member ``k`` of the result is ``items[k]`` (see ``unstack``).

    >>> import fnn
    >>> net = fnn.network([2, 3, 1]); p = stack([fnn.init_params(net, seed=s) for s in (0, 1)])
    >>> p.flat.shape, p.layers[0].W.shape
    ((2, 13), (2, 2, 3))
    """
    if isinstance(items, (Params, Grads, TrainState)) or not hasattr(items, "__iter__"):
        raise TypeError(f"items: expected a sequence of Params, Grads or TrainState, got {type(items).__name__}")
    items = list(items)
    if not items:
        raise ValueError("items: expected at least one record, got an empty sequence")
    if isinstance(items[0], TrainState):
        return _stack_states(items)
    if isinstance(items[0], Params):
        return _stack_flat(StackedParams, items, "items")
    if isinstance(items[0], Grads):
        return _stack_flat(StackedGrads, items, "items")
    raise TypeError(f"items[0]: expected a Params, Grads or TrainState, got {type(items[0]).__name__}")


def member_optimizer(optimizer: Optimizer | None, k: int) -> Optimizer | None:
    """The optimizer of member ``k``: per-member hyperparameters taken at ``k``."""
    if optimizer is None or members_of(optimizer) is None:
        return optimizer
    from fnn.optimizers import OPTIMIZERS

    return OPTIMIZERS[optimizer.name](**{key: float(v[k]) if isinstance(v, np.ndarray) else v for key, v in optimizer.hyperparams})


def _member_state(state: StackedState, k: int) -> TrainState:
    params = Params.from_flat(state.params.flat[k], state.params.shapes)
    opt = state.opt_state
    values = {f.alias: getattr(opt, f.name)[k] if isinstance(getattr(opt, f.name), np.ndarray) else getattr(opt, f.name)
              for f in attrs.fields(type(opt))}
    return TrainState(params, type(opt)(**values), state.step, float(state.loss[k]),
                      optimizer=member_optimizer(state.optimizer, k))


def unstack(x: Any) -> list:
    """The members of a stacked record as ordinary records: ``Params``, ``Grads``, ``TrainState``,
    or ``FitResult`` (member ``k``'s losses the column ``losses[:, k]``)."""
    if isinstance(x, FitResult) and isinstance(x.state, StackedState):
        return [FitResult(s, x.losses[:, k]) for k, s in enumerate(unstack(x.state))]
    if isinstance(x, StackedState):
        return [_member_state(x, k) for k in range(x.members)]
    if isinstance(x, _Stacked):
        single = Params if isinstance(x, Params) else Grads
        return [owning(single, readonly(x.flat[k].copy()), x.shapes) for k in range(x.members)]
    raise TypeError(f"x: expected a stacked Params, Grads, TrainState or FitResult, got {type(x).__name__}")


# --- the stacked stages: member k is the plain stage on member k -----------------------------


def member_arrays(name: str, value: Any, K: int, trailing: int) -> list:
    """``value`` split into ``K`` members: shared (``trailing`` dims, the same for each) or per member
    (a leading axis of ``K``)."""
    arr = checks.numeric(name, value)
    if arr.ndim == trailing:
        return [arr] * K
    if arr.ndim == trailing + 1 and arr.shape[0] == K:
        return list(arr)
    raise ValueError(f"{name}: expected a shared array of {trailing} dims or one per member, shape (K={K}, ...), "
                     f"got shape {arr.shape}")


def _members(net: Any, params: Any) -> list[Params]:
    from fnn.stages import check_params

    check_params(net, params)
    return unstack(params)


def _stack_arrays(arrays: list) -> np.ndarray:
    return readonly(np.stack(arrays))


def forward(net, params: StackedParams, X: Any):
    """``AL`` ``(K, m, n_out)`` and the stacked ``Cache`` (every array with a leading member axis)."""
    from fnn.records import Cache, LayerCache
    from fnn.stages import forward as single

    members = _members(net, params)
    runs = [single(net, p, x) for p, x in zip(members, member_arrays("X", X, len(members), 2))]
    layers = tuple(LayerCache(*(_stack_arrays([getattr(c.layers[l], f) for _, c in runs]) for f in ("A_prev", "Z", "A")))
                   for l in range(len(net.layers)))
    return _stack_arrays([A for A, _ in runs]), Cache(layers)


def _member_caches(net, cache: Any, K: int) -> list:
    from fnn.records import Cache, LayerCache
    from fnn.stages import check_cache

    layers = check_cache(net, cache).layers
    if layers[-1].A.ndim != 3 or layers[-1].A.shape[0] != K:
        raise ValueError(f"cache: expected the stacked cache of {K} members (from fnn.forward on stacked params), "
                         f"got A of shape {layers[-1].A.shape}")
    return [Cache(tuple(LayerCache(c.A_prev[k], c.Z[k], c.A[k]) for c in layers)) for k in range(K)]


def cost(net, params: StackedParams, cache: Any, Y: Any) -> np.ndarray:
    """``J`` per member, ``(K,)`` in the params' dtype."""
    from fnn.stages import cost as single

    members = _members(net, params)
    K = len(members)
    Js = [single(net, p, c, y) for p, c, y in zip(members, _member_caches(net, cache, K), member_arrays("Y", Y, K, 2))]
    return readonly(np.array(Js, dtype=params.dtype))


def backward(net, params: StackedParams, cache: Any, Y: Any) -> StackedGrads:
    """The gradient of each member's cost, a ``StackedGrads``."""
    from fnn.stages import backward as single

    members = _members(net, params)
    K = len(members)
    grads = [single(net, p, c, y) for p, c, y in zip(members, _member_caches(net, cache, K), member_arrays("Y", Y, K, 2))]
    return owning(StackedGrads, np.stack([g.flat for g in grads]), params.shapes)


def learning_rates(value: Any, K: int) -> np.ndarray:
    """A learning rate shared (a number ``>= 0``) or per member (``(K,)``), as a ``(K, 1)`` column."""
    arr = checks.numeric("learning_rate", value)
    if arr.ndim == 0:
        arr = np.full(K, checks.real("learning_rate", value, minimum=0.0))
    if arr.shape != (K,) or not np.isfinite(arr).all() or (arr < 0).any():
        raise ValueError(f"learning_rate: expected a finite number >= 0 or {K} of them, one per member, got {value!r}")
    return arr[:, None]


def update(params: StackedParams, grads: Any, learning_rate: Any) -> StackedParams:
    """New stacked params ``p - lr * g`` (``lr`` shared or one per member)."""
    if not isinstance(grads, StackedGrads) or grads.shapes != params.shapes or grads.members != params.members:
        raise TypeError(f"grads: expected the StackedGrads of {params.members} members (from fnn.backward on stacked params), "
                        f"got {type(grads).__name__}")
    p = params.flat
    lr = learning_rates(learning_rate, params.members).astype(p.dtype)
    return owning(StackedParams, p - lr * grads.flat.astype(p.dtype, copy=False), params.shapes)


def predict(net, params: StackedParams, X: Any) -> np.ndarray:
    """``fnn.predict`` of each member, stacked: ``(K, ...)``."""
    from fnn.labels import predict as single

    members = _members(net, params)
    return _stack_arrays([single(net, p, x) for p, x in zip(members, member_arrays("X", X, len(members), 2))])


def gradient_check(net, params: StackedParams, X: Any, Y: Any, epsilon: float = 1e-7) -> np.ndarray:
    """``fnn.gradient_check`` of each member, ``(K,)``."""
    from fnn.gradcheck import gradient_check as single

    members = _members(net, params)
    K = len(members)
    return np.array([single(net, p, x, y, epsilon) for p, x, y in
                     zip(members, member_arrays("X", X, K, 2), member_arrays("Y", Y, K, 2))])


def check_seeds(seed: Any) -> list[int]:
    """A list of member seeds: non-negative ints, at least one."""
    seeds = list(seed)
    if not seeds:
        raise ValueError("seed: expected one int >= 0 per member, got an empty sequence")
    return [checks.integer(f"seed[{k}]", s) for k, s in enumerate(seeds)]


def is_seeds(seed: Any) -> bool:
    """Whether ``seed`` asks for members (a list, tuple or 1-D array of seeds)."""
    return isinstance(seed, (list, tuple)) or (isinstance(seed, np.ndarray) and seed.ndim == 1)


def finite_members(values: np.ndarray) -> np.ndarray:
    """``(K,)`` bool: which rows of ``values`` ``(K, n)`` (or entries of ``(K,)``) are all finite."""
    with np.errstate(invalid="ignore", over="ignore"):
        sums = values if values.ndim == 1 else values.sum(axis=1)
    ok = np.isfinite(sums)
    if values.ndim > 1 and not ok.all():
        ok = np.isfinite(values).all(axis=1)
    return ok


__all__ = ["StackedParams", "StackedGrads", "StackedState", "stack", "unstack", "is_stacked", "members_of"]


# --- fit: one member per seed -------------------------------------------------------------------


def member_batches(X: np.ndarray, Y: np.ndarray, seeds: list[int], batch_size: int | None, epochs: int,
                   start_epoch: int, skip: int = 0):
    """The batches of ``fnn.batches(X, Y, batch_size, epochs, seed=s_k, start_epoch)`` for every member
    ``k`` at once, as ``MemberBatch``es: the whole set shared (``batch_size=None``, or one seed for
    all), else each member's rows gathered by its own permutation, ``(K, b, n_in)`` and ``(K, b, n_out)``;
    the first ``skip`` batches of the first epoch are left out."""
    from fnn.engine.members import MemberBatch
    from fnn.training import _rows

    m, shared = X.shape[0], len(set(seeds)) == 1
    for e in range(start_epoch, start_epoch + epochs):
        if batch_size is None:
            if not skip:
                yield MemberBatch((X, Y))
            skip = 0
            continue
        if shared:
            orders = np.random.default_rng([seeds[0], e]).permutation(m)[None]
        else:
            orders = np.stack([np.random.default_rng([s, e]).permutation(m) for s in seeds])
        for lo in range(skip * batch_size, m, batch_size):
            idx = orders[:, lo : lo + batch_size]
            idx = idx[0] if shared else idx
            yield MemberBatch((readonly(_rows(X, idx)), readonly(_rows(Y, idx))))
        skip = 0


def fit(net, X, y, *, optimizer, epochs, batch_size, seed, params, init, state, validation, early_stopping, progress,
        start_epoch) -> FitResult:
    """``fnn.fit`` for ``K`` members (``seed=[s_0, ...]``, stacked ``params`` or a ``StackedState``): member
    ``k`` starts from ``init_params(net, seed=s_k)`` and follows ``fnn.fit(..., seed=s_k)``'s batches (one
    int seed: the same batches for every member). Returns a ``FitResult`` whose ``losses`` are ``(steps, K)``."""
    from fnn.init import init_params
    from fnn.labels import targets
    from fnn.optimizers import sgd
    from fnn.stages import check_params, check_targets
    from fnn.training import batches_per_epoch, check_batching, init_state, read_only, train_step

    for name, value in (("validation", validation), ("early_stopping", early_stopping)):
        if value is not None:
            raise ValueError(f"{name}: expected None for stacked members (not supported), got {type(value).__name__}")
    if checks.flag("progress", progress):
        raise ValueError("progress: expected False for stacked members (not supported), got True")
    if state is not None:
        if params is not None:
            raise ValueError("params: expected None when a state is given (the state holds the params), got a Params")
        if not isinstance(state, StackedState):
            raise TypeError(f"state: expected a StackedState for member seeds, got {type(state).__name__}")
    K = state.members if state is not None else params.members if isinstance(params, StackedParams) else None
    seeds = check_seeds(seed) if is_seeds(seed) else [checks.integer("seed", seed)] * (K or 1)
    if K is not None and len(seeds) != K:
        raise ValueError(f"seed: expected {K} seeds, one per member of the given {'state' if state is not None else 'params'}, got {len(seeds)}")
    if optimizer is None:
        optimizer = state.optimizer if state is not None and state.optimizer is not None else sgd(0.01)
    if state is None and params is None:
        params = init_params(net, seed=seeds, scheme=init)
    given = state.params if state is not None else params
    if not isinstance(given, StackedParams):
        raise TypeError(f"params: expected StackedParams for member seeds, got {type(given).__name__}")
    dtype = check_params(net, given, "state.params" if state is not None else "params")
    X = checks.matrix("X", X, net.layers[0].n_in, " (one row per sample, n_in columns for the first layer)", dtype)
    Y = targets(net, y)
    Y = check_targets(net, Y, Y.shape, dtype, "y")
    checks.same_rows(("X", "y"), X, Y)
    state = init_state(params, optimizer) if state is None else state
    check_batching(batch_size, epochs, 0, 0 if start_epoch is None else start_epoch)
    per_epoch = batches_per_epoch(X.shape[0], batch_size)
    first, skip = divmod(state.step, per_epoch) if start_epoch is None else (start_epoch, 0)
    step = train_step(net, optimizer)
    final, losses = step.fold(member_batches(read_only(X), read_only(Y), seeds, batch_size, epochs, first, skip), state)
    return FitResult(final, losses)
