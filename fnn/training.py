"""Training is a fold: ``fit = fold(train_step(net, opt), batches(X, Y, ...), init_state(params, opt))``.

``train_step`` composes the stages with ``toolz.compose_left``: the first lends the step a
``fnn.workspace.Workspace``, which carries it through forward, cost and backward to the update,
which returns the new ``TrainState`` and gives the workspace back;
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
from fnn.buffers import empty, ones
from fnn.history import evaluator, fit_by_epoch, fold_with_losses
from fnn.init import init_params
from fnn.labels import targets
from fnn.optimizers import sgd
from fnn.records import FitResult, Grads, Network, Optimizer, Params, TrainState, readonly
from fnn.stages import Plan, as_input, check_net, check_params, check_targets, plan, run_backward, run_cost, run_forward
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


def begin_stage(net: Network, spaces: Workspaces, checked: bool) -> Callable[[TrainState, Batch], Workspace]:
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
        ws = spaces.take(X.shape[0], X.dtype)
        ws.state, ws.X, ws.Y = state, X, Y
        return ws

    return stage


def forward_stage(pl: Plan) -> Callable[[Workspace], Workspace]:
    def stage(ws: Workspace) -> Workspace:
        ws.pairs = pl.views(ws.state.params.flat)
        run_forward(pl, ws.pairs, ws.X, ws)
        return ws

    return stage


def cost_stage(pl: Plan) -> Callable[[Workspace], Workspace]:
    def stage(ws: Workspace) -> Workspace:
        J = run_cost(pl, ws.state.params.flat, ws.Z[-1], ws.A[-1], ws.Y, ws.aux[-1], ws)
        if not math.isfinite(J):
            raise DivergenceError(ws.state.step, ws.state, float(J))
        ws.loss = J
        return ws

    return stage


def backward_stage(pl: Plan, borrowed: bool) -> Callable[[Workspace], Workspace]:
    """``borrowed``: the update may read the gradient in the workspace (its kernel keeps no
    reference to it); otherwise it gets a copy of its own."""

    def stage(ws: Workspace) -> Workspace:
        g = run_backward(pl, ws.state.params.flat, ws.pairs, ws.X, ws.Z, ws.A, ws.Y, ws)
        ws.g = g if borrowed else g.copy()
        return ws

    return stage


def update_stage(pl: Plan, optimizer: Optimizer, spaces: Workspaces, checked: bool = True) -> Callable[[Workspace], TrainState]:
    """The optimizer's kernel on the flat vectors (or its ``update`` on records when it has none);
    the workspace goes back to ``spaces`` once the update has read the gradient.

    ``checked=False`` skips the kernel's check of ``opt_state`` (``fit`` checks the first state;
    the kernel makes every later one)."""
    kernel = optimizer.kernel
    check = kernel.check if kernel is not None and checked else (lambda opt_state: opt_state)
    units: dict = {}  # dtype -> ones(n_params), for all_finite

    def stage(ws: Workspace) -> TrainState:
        state, g, loss = ws.state, ws.g, ws.loss
        ws.release()
        if kernel is not None:
            flat, opt_state = kernel.apply(state.params.flat, g, check(state.opt_state))
            spaces.give(ws)
            params = Params.from_flat(flat, pl.shapes)
        else:
            spaces.give(ws)
            params, opt_state = optimizer.update(state.params, Grads.from_flat(g, pl.shapes), state.opt_state)
        flat = params.flat
        unit = units.get(flat.dtype) if kernel is not None else None  # a custom update's params may be of any size
        if unit is None and kernel is not None:
            unit = units[flat.dtype] = ones(pl.n_params, flat.dtype)
        if not all_finite(flat, unit):
            raise DivergenceError(state.step, state, float(loss))
        return TrainState(params, opt_state, state.step + 1, loss, optimizer=optimizer)

    return stage


def all_finite(a: np.ndarray, unit: np.ndarray | None = None) -> bool:
    """``isfinite(a).all()``, as one sum in the common case (a sum is finite only if every term is).

    ``unit``, a vector of ones like ``a``, makes the sum a dot product (BLAS; faster than a reduce)."""
    total = np.add.reduce(a) if unit is None else np.vdot(a, unit)
    return math.isfinite(total) or bool(np.isfinite(a).all())


def quiet() -> np.errstate:
    """The floating-point state a step runs in: a non-finite result raises DivergenceError instead
    of NumPy's overflow and invalid warnings."""
    return np.errstate(over="ignore", invalid="ignore")


def step_pipeline(net: Network, optimizer: Optimizer, checked: bool) -> Callable[[TrainState, Batch], TrainState]:
    """The step, without ``quiet()``; ``checked=False`` leaves out the checks of the first stage,
    for callers (``fit``) that checked the state (``check_opt_state``) and the data once (batches
    in the params' dtype, targets of the output's shape) and run the whole fold inside ``quiet()``.
    The step keeps its workspaces (``Workspaces``), one per batch shape and dtype in use at once."""
    pl = plan(net)
    spaces = Workspaces(pl)
    borrowed = optimizer.kernel is not None and optimizer.kernel.borrows_grads
    return compose_left(begin_stage(net, spaces, checked), forward_stage(pl), cost_stage(pl), backward_stage(pl, borrowed),
                        update_stage(pl, optimizer, spaces, checked))


def quietly(step: Callable[[TrainState, Batch], TrainState]) -> Callable[[TrainState, Batch], TrainState]:
    """``step`` run inside ``quiet()`` each time."""

    def quiet_step(state: TrainState, batch: Batch) -> TrainState:
        with quiet():
            return step(state, batch)

    return quiet_step


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
    X = checks.matrix("X", X)
    Y = checks.matrix("Y", Y)
    checks.same_rows(("X", "Y"), X, Y)
    check_batching(batch_size, epochs, seed, start_epoch)
    return _batches(freeze_input(X), freeze_input(Y), batch_size, epochs, seed, start_epoch)


def check_batching(batch_size: Any, epochs: Any, seed: Any, start_epoch: Any) -> None:
    if batch_size is not None:
        checks.integer("batch_size", batch_size, minimum=1)
    checks.integer("epochs", epochs, minimum=0)
    checks.integer("start_epoch", start_epoch, minimum=0)
    checks.integer("seed", seed, minimum=0)


def freeze_input(arr: np.ndarray) -> np.ndarray:
    """``arr`` itself if read-only, else a read-only copy."""
    return arr if not arr.flags.writeable else readonly(arr.copy())


def _batches(X, Y, batch_size, epochs, seed, start_epoch) -> Iterator[Batch]:
    m = X.shape[0]
    for e in range(start_epoch, start_epoch + epochs):
        if batch_size is None:
            yield X, Y
            continue
        order = np.random.default_rng([seed, e]).permutation(m)
        for lo in range(0, m, batch_size):
            idx = order[lo : lo + batch_size]
            yield readonly(_rows(X, idx)), readonly(_rows(Y, idx))


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
    X = checks.matrix("X", X, net.layers[0].n_in, " (one row per sample, n_in columns for the first layer)", dtype)
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
    step = step_pipeline(net, optimizer, checked=False)
    check_opt_state(optimizer, state)
    if batch_size is None and order(plan(net), X.shape[0]) == "F":
        Y = np.asfortranarray(Y)  # once for every epoch: the step's F-ordered arrays then meet Y in their order
    first = state.step // per_epoch if start_epoch is None else start_epoch
    if validation is not None or early_stopping is not None or progress:
        if early_stopping is not None and validation is None:
            raise ValueError("validation: expected (X_val, y_val) when early_stopping is given, got None")
        X, Y = freeze_input(X), freeze_input(Y)
        return fit_by_epoch(optimizer, quietly(step), lambda e: _batches(X, Y, batch_size, 1, seed, e), first, epochs, state,
                            evaluator(net, validation, dtype), early_stopping, checks.flag("progress", progress))
    with quiet():  # once around the fold instead of once per step
        final, losses = fold_with_losses(step, _batches(X, Y, batch_size, epochs, seed, first), state)
    return FitResult(final, np.asarray(losses, dtype=np.float64))
