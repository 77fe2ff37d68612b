"""Training is a fold: ``fit = fold(train_step(net, opt), batches(X, Y, ...), init_state(params, opt))``.

``train_step`` composes the stages with ``toolz.compose_left``: the first lends the step a
``fnn.workspace.Workspace`` with the forward and backward passes bound to its arrays and the
params (``fnn.stages.step_passes``), which carries it through forward, cost and backward to the
update, which returns the next ``Carry`` (the state as plain values) and gives the workspace
back; the last stage makes it the new ``TrainState``. ``fit`` folds the same stages from
``Carry`` to ``Carry`` (``carry_fold``), binding the passes once per workspace and params vector
and building the records at the end, to the same states bit for bit;
``fold`` is a sequential left fold (``functools.reduce``), ``scan`` the lazy trail of states
(``toolz.accumulate``). Progress bars and loggers wrap the iterables; the stages stay pure.
"""
from __future__ import annotations

import math
from functools import reduce
from typing import Any, Callable, Iterable, Iterator

import numpy as np
from toolz import accumulate, compose_left

from fnn import checks
from fnn.buffers import empty, empty_like, ones
from fnn.history import evaluator, fit_by_epoch
from fnn.init import init_params
from fnn.labels import targets
from fnn.optimizers import sgd
from fnn.records import FitResult, Grads, Network, Optimizer, Params, TrainState, readonly
from fnn.stages import Plan, as_input, check_net, check_params, check_targets, plan, residual, run_cost, step_passes
from fnn.workspace import Workspace, Workspaces, order

Batch = tuple[np.ndarray, np.ndarray]


class DivergenceError(ArithmeticError):
    """A training step's cost (or its update) was not finite.

    ``step`` is the ``step`` of the state the failing step was given; ``state`` is that state,
    whose params are all finite.
    """

    def __init__(self, step: int, state: TrainState, cost: float = math.nan):
        self.step, self.state, self.cost = step, state, cost
        optimizer = getattr(state, "optimizer", None)
        lr = dict(optimizer.hyperparams).get("learning_rate") if optimizer is not None else None
        super().__init__(
            f"training diverged at step {step}: cost {cost}; the learning rate"
            f"{'' if lr is None else f' ({optimizer.name} learning_rate={lr!r})'} is probably too high "
            "for this network and data (try a smaller one)"
        )

    def __reduce__(self):
        return type(self), (self.step, self.state, self.cost)


def init_state(params: Params, optimizer: Optimizer) -> TrainState:
    """``TrainState(params, optimizer.init(params), 0, nan)``."""
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer: expected an Optimizer (fnn.sgd, fnn.adam, ...), got {type(optimizer).__name__}")
    if not isinstance(params, Params):
        raise TypeError(f"params: expected a Params, got {type(params).__name__}")
    return TrainState(params, optimizer.init(params), 0, math.nan, optimizer=optimizer)


Carry = tuple
"""``(flat, opt_state, step, loss)``: what a ``TrainState`` holds, as plain values (the params as
their flat vector), which a training step carries from stage to stage and ``fit`` from step to
step; the records are built where someone sees them."""


def carry_of(state: TrainState) -> Carry:
    return state.params.flat, state.opt_state, state.step, state.loss


def state_of(carry: Carry, pl: Plan, optimizer: Optimizer) -> TrainState:
    """The ``TrainState`` of ``carry`` (its params vector made read-only, not copied)."""
    flat, opt_state, step, loss = carry
    return TrainState(Params.from_flat(flat, pl.shapes), opt_state, step, loss, optimizer=optimizer)


def lend(pl: Plan, ws: Workspace, carry: Carry, batch: Batch, given: TrainState | None = None,
         bound: dict | None = None, out: np.ndarray | None = None) -> Workspace:
    """Put the step in ``ws``: ``carry``, the ``given`` state, the batch, the ``passes`` bound to its
    params (from ``bound``, by workspace and params vector, when given) and the vector ``out`` the
    update may write the new params to."""
    flat = carry[0]
    if bound is None:
        passes = step_passes(pl, flat, ws)
    else:
        key = (ws, id(flat))  # the passes hold views of flat: its id stays its own while they are kept
        passes = bound.get(key)
        if passes is None:
            passes = bound[key] = step_passes(pl, flat, ws)
    ws.carry, ws.given, (ws.X, ws.Y), ws.passes, ws.out = carry, given, batch, passes, out
    return ws


def begin_stage(net: Network, pl: Plan, spaces: Workspaces, checked: bool) -> Callable[[TrainState, Batch], Workspace]:
    """Lend the step a workspace for its batch and put the state and batch in it; ``checked``:
    check them first, as the public stages would (``X`` cast to the params' dtype)."""

    def stage(state: TrainState, batch: Batch) -> Workspace:
        X, Y = batch
        if checked:
            if not isinstance(state, TrainState):
                raise TypeError(f"state: expected a TrainState (see fnn.init_state), got {type(state).__name__}")
            dtype = check_params(net, state.params, "state.params")
            X = as_input(net, X, dtype)
            Y = check_targets(net, Y, (X.shape[0], net.layers[-1].n_out), dtype)
        return lend(pl, spaces.take(X.shape[0], X.dtype), carry_of(state), (X, Y), given=state)

    return stage


def forward_stage(ws: Workspace) -> Workspace:
    ws.passes[0](ws.X)
    return ws


def given_state(carry: Carry, given: TrainState | None, pl: Plan, optimizer: Optimizer) -> TrainState:
    """The state a step was given: ``given``, or the record of its carry."""
    return given if given is not None else state_of(carry, pl, optimizer)


def cost_stage(pl: Plan, optimizer: Optimizer) -> Callable[[Workspace], Workspace]:
    def stage(ws: Workspace) -> Workspace:
        D = residual(ws.A[-1], ws.Y, ws.dA[-1])  # read by the squared errors' cost and the backward pass
        J = run_cost(pl, ws.carry[0], ws.Z[-1], ws.A[-1], ws.Y, ws.aux[-1], ws, D)
        if not math.isfinite(J):
            raise DivergenceError(ws.carry[2], given_state(ws.carry, ws.given, pl, optimizer), float(J))
        ws.loss = J
        return ws

    return stage


def backward_stage(borrowed: bool) -> Callable[[Workspace], Workspace]:
    """``borrowed``: the update may read the gradient in the workspace (its kernel keeps no
    reference to it); otherwise it gets a copy of its own."""

    def stage(ws: Workspace) -> Workspace:
        ws.passes[1](ws.X)
        ws.g = ws.grad if borrowed else ws.grad.copy()
        return ws

    return stage


def update_stage(pl: Plan, optimizer: Optimizer, give: Callable[[Workspace], None], checked: bool = True) -> Callable[[Workspace], Carry]:
    """The optimizer's kernel on the flat vectors (into ``ws.out`` when set), or its ``update`` on
    records when it has none: the next ``Carry``; ``give(ws)`` once the update has read the gradient.

    ``checked=False`` skips the kernel's check of ``opt_state`` (``fit`` checks the first state;
    the kernel makes every later one)."""
    kernel = optimizer.kernel
    check = kernel.check if kernel is not None and checked else (lambda opt_state: opt_state)
    units: dict = {}  # dtype -> ones(n_params), for all_finite

    def stage(ws: Workspace) -> Carry:
        carry, given, g, loss, out = ws.carry, ws.given, ws.g, ws.loss, ws.out
        flat, opt_state, step, _ = carry
        if kernel is not None:
            args = (flat, g, check(opt_state)) + (() if out is None else (out,))  # out only for a kernel that fills
            new, opt_state = kernel.apply(*args)
            give(ws)
        else:
            give(ws)
            params, opt_state = optimizer.update(Params.from_flat(flat, pl.shapes), Grads.from_flat(g, pl.shapes), opt_state)
            new = params.flat
        unit = units.get(new.dtype) if kernel is not None else None  # a custom update's params may be of any size
        if unit is None and kernel is not None:
            unit = units[new.dtype] = ones(pl.n_params, new.dtype)
        if not all_finite(new, unit):
            raise DivergenceError(step, given_state(carry, given, pl, optimizer), float(loss))
        return new, opt_state, step + 1, loss

    return stage


def all_finite(a: np.ndarray, unit: np.ndarray | None = None) -> bool:
    """``isfinite(a).all()``, as one sum in the common case (a sum is finite only if every term is).

    ``unit``, a vector of ones like ``a``, makes the sum a dot product (BLAS; faster than a reduce)."""
    total = np.add.reduce(a) if unit is None else np.vdot(a, unit)
    return math.isfinite(total) or bool(np.isfinite(a).all())


def quiet() -> np.errstate:
    """The floating-point state a step runs in: a non-finite result raises DivergenceError instead
    of NumPy's overflow and invalid warnings, and underflow (to a subnormal or 0) is no error."""
    return np.errstate(over="ignore", invalid="ignore", under="ignore")


def step_stages(net: Network, optimizer: Optimizer) -> tuple[Plan, Workspaces, tuple]:
    """The plan, the workspaces (one per batch shape and dtype in use at once) and the stages
    from the lent workspace to the next ``Carry``: forward, cost, backward, update (unchecked)."""
    pl = plan(net)
    spaces = Workspaces(pl)
    borrowed = optimizer.kernel is not None and optimizer.kernel.borrows_grads
    return pl, spaces, (forward_stage, cost_stage(pl, optimizer), backward_stage(borrowed))


def step_pipeline(net: Network, optimizer: Optimizer, checked: bool) -> Callable[[TrainState, Batch], TrainState]:
    """The step on records, without ``quiet()``: ``begin_stage`` (with its checks when ``checked``),
    the stages of ``step_stages``, and the new ``TrainState``."""
    pl, spaces, stages = step_stages(net, optimizer)

    def give(ws: Workspace) -> None:
        ws.release()
        spaces.give(ws)

    return compose_left(begin_stage(net, pl, spaces, checked), *stages, update_stage(pl, optimizer, give, checked),
                        lambda carry: state_of(carry, pl, optimizer))


def carry_fold(net: Network, optimizer: Optimizer) -> Callable[[Iterable[Batch], TrainState], tuple[TrainState, list[float]]]:
    """``(batches, state) -> (state after them, each step's loss)``, without ``quiet()``: the fold of
    ``train_step`` with the checks left to the caller (``fit`` checks the first state and the data
    once) and the records off its path: each step goes from ``Carry`` to ``Carry`` through the same
    stages, and the params alternate between two vectors of the fold's own (when the optimizer's
    kernel ``fills``), so each workspace's ``passes`` are bound once per vector, not once per step;
    the fold holds its workspaces, one per batch size, from its first step to its end."""
    pl, spaces, stages = step_stages(net, optimizer)
    kernel = optimizer.kernel
    fills = kernel is not None and kernel.fills
    update = update_stage(pl, optimizer, lambda ws: None, checked=False)

    def fold_steps(batches: Iterable[Batch], state: TrainState) -> tuple[TrainState, list[float]]:
        bound: dict = {}
        held: dict = {}  # rows -> workspace
        flat = state.params.flat
        spares = (empty_like(flat), empty_like(flat)) if fills else None  # from the pool, as fresh params were

        def begin(carry: Carry, batch: Batch) -> Workspace:
            m = batch[0].shape[0]
            ws = held.get(m)
            if ws is None:
                ws = held[m] = spaces.take(m, flat.dtype)
            out = None if spares is None else spares[carry[0] is spares[0]]  # the vector not holding the params
            return lend(pl, ws, carry, batch, bound=bound, out=out)

        step = compose_left(begin, *stages, update)
        carry, losses = carry_of(state), []
        try:
            for batch in batches:
                carry = step(carry, batch)
                losses.append(float(carry[3]))
        finally:
            for ws in held.values():
                ws.release()
                spaces.give(ws)
        return (state_of(carry, pl, optimizer) if losses else state), losses

    return fold_steps


def quietly(f: Callable) -> Callable:
    """``f`` run inside ``quiet()`` each time it is called."""

    def quiet_call(*args):
        with quiet():
            return f(*args)

    return quiet_call


def check_opt_state(optimizer: Optimizer, state: TrainState) -> None:
    """What the update stage's check would say of ``state.opt_state`` at the first step."""
    if optimizer.kernel is not None:
        optimizer.kernel.check(state.opt_state)


def train_step(net: Network, optimizer: Optimizer) -> Callable[[TrainState, Batch], TrainState]:
    """The pure step ``(state, (X, Y)) -> state``: check, forward, cost, backward, update, composed.

    The same state, bit for bit, as ``forward``, ``cost``, ``backward`` and ``optimizer.update``
    called one after the other; the arguments are checked once, and no cache or gradient record
    is built. Raises ``DivergenceError`` when the cost is not finite (or the update would make
    params non-finite); the error carries the state it was given. Overflow on the way there is that
    error's business, so the step runs with NumPy's overflow and invalid warnings off.
    """
    check_net(net)
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer: expected an Optimizer (fnn.sgd, fnn.adam, ...), got {type(optimizer).__name__}")
    return quietly(step_pipeline(net, optimizer, checked=True))


def fold(step: Callable[[TrainState, Batch], TrainState], batches: Iterable[Batch], state: TrainState) -> TrainState:
    """The state after applying ``step`` to every batch in order: a sequential left fold."""
    return reduce(step, batches, state)


def scan(step: Callable[[TrainState, Batch], TrainState], batches: Iterable[Batch], state: TrainState) -> Iterator[TrainState]:
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
    X = checks.matrix("X", X, lazy=True)
    Y = checks.matrix("Y", Y, lazy=True)
    checks.same_rows(("X", "Y"), X, Y)
    check_batching(batch_size, epochs, seed, start_epoch)
    return _batches(freeze_input(X), freeze_input(Y), batch_size, epochs, seed, start_epoch)


def check_batching(batch_size: Any, epochs: Any, seed: Any, start_epoch: Any) -> None:
    if batch_size is not None:
        checks.integer("batch_size", batch_size, minimum=1)
    checks.integer("epochs", epochs, minimum=0)
    checks.integer("start_epoch", start_epoch, minimum=0)
    checks.integer("seed", seed, minimum=0)


def freeze_input(arr: Any) -> Any:
    """The data the batches are read from: a read-only array as it is; a memmap (any mode) as a
    read-only view of itself, never copied (it is a file, read a batch at a time: do not write to
    it while training reads it); another out-of-core array-like (an h5py dataset) as it is; any
    other writable array as a read-only copy (so that writing to it later changes no batch)."""
    if isinstance(arr, np.memmap):
        view = arr.view()
        view.flags.writeable = False
        return view
    if not isinstance(arr, np.ndarray) or not arr.flags.writeable:
        return arr
    return readonly(arr.copy())


def _batches(X, Y, batch_size, epochs, seed, start_epoch, dtype=None) -> Iterator[Batch]:
    """The batches of ``X`` and ``Y``, in ``dtype`` when given (cast as they are read)."""
    m = X.shape[0]
    for e in range(start_epoch, start_epoch + epochs):
        if batch_size is None:
            yield _whole(X, dtype), _whole(Y, dtype)
            continue
        order = np.random.default_rng([seed, e]).permutation(m)
        for lo in range(0, m, batch_size):
            idx = order[lo : lo + batch_size]
            yield readonly(_rows(X, idx, dtype)), readonly(_rows(Y, idx, dtype))


def _whole(A: Any, dtype: np.dtype | None) -> np.ndarray:
    """All of ``A`` as an array of ``dtype`` (``A`` itself when it is one)."""
    dtype = A.dtype if dtype is None else dtype
    if isinstance(A, np.ndarray) and A.dtype == dtype:
        return A
    return readonly(np.asarray(A[:], dtype=dtype))


def _rows(A: Any, idx: np.ndarray, dtype: np.dtype | None = None) -> np.ndarray:
    """``A[idx]`` gathered into a fresh array of ``dtype`` (``A``'s by default) from the pool
    (``idx``, a slice of a permutation, is in range: ``mode="clip"`` spares ``take`` the buffered
    copy it makes to check indices, ~3x). A memmap reads just those rows; an array-like that is
    not an ndarray is read in increasing row order (as h5py requires), then put in ``idx``'s."""
    dtype = A.dtype if dtype is None else np.dtype(dtype)
    shape = (len(idx),) + tuple(A.shape[1:])
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
) -> FitResult:
    """Train ``net`` on ``(X, y)``: exactly ``fold(train_step(net, optimizer), batches(...), state)``.

    ``y`` is labels or a targets matrix (see ``fnn.targets``); ``optimizer=None`` is ``sgd(0.01)``
    (or, with a ``state``, the optimizer that state records);
    ``params=None`` is ``init_params(net, seed=seed, scheme=init)``. A given ``state`` is continued
    from epoch ``state.step // batches_per_epoch``, so 5 + 5 epochs equal 10 bit for bit
    (``start_epoch``, when given, names that epoch instead, say for data of another size).
    Returns ``FitResult(state, losses)`` with one loss per step.

    ``validation=(X_val, y_val)``, ``early_stopping=fnn.Patience(n)`` or ``progress=True`` run the
    same steps epoch by epoch and add ``FitResult.history``, a ``fnn.History`` row per epoch;
    early stopping returns the state of the best validation loss (see ``fnn.history``).
    """
    check_net(net)
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
    state = init_state(params, optimizer) if state is None else state
    check_batching(batch_size, epochs, seed, 0 if start_epoch is None else start_epoch)  # X, Y checked above
    per_epoch = batches_per_epoch(X.shape[0], batch_size)
    if start_epoch is None and state.step % per_epoch:
        raise ValueError(
            f"state.step: expected a whole number of epochs ({per_epoch} batches each with batch_size={batch_size}), "
            f"got {state.step}"
        )
    fold_steps = carry_fold(net, optimizer)
    check_opt_state(optimizer, state)
    if batch_size is None and order(plan(net), X.shape[0]) == "F":
        Y = np.asfortranarray(Y)  # once for every epoch: the step's F-ordered arrays then meet Y in their order
    first = state.step // per_epoch if start_epoch is None else start_epoch
    if validation is not None or early_stopping is not None or progress:
        if early_stopping is not None and validation is None:
            raise ValueError("validation: expected (X_val, y_val) when early_stopping is given, got None")
        X, Y = freeze_input(X), freeze_input(Y)
        return fit_by_epoch(optimizer, quietly(fold_steps), lambda e: _batches(X, Y, batch_size, 1, seed, e, dtype), first, epochs, state,
                            evaluator(net, validation, dtype), early_stopping, checks.flag("progress", progress))
    with quiet():  # once around the fold instead of once per step
        final, losses = fold_steps(_batches(X, Y, batch_size, epochs, seed, first, dtype), state)
    return FitResult(final, np.asarray(losses, dtype=np.float64))
