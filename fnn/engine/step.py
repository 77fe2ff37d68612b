"""``Step``: the compiled training step that ``fnn.train_step`` returns, and ``Batch``, checked data."""
from __future__ import annotations

import math
from typing import Any, Callable, Iterable, NamedTuple

import numpy as np

from fnn.engine.plan import plan
from fnn.engine.pool import empty_like
from fnn.engine.workspace import Workspace, Workspaces, decay_rates
from fnn.optimizers import FlatUpdate
from fnn.engine.members import stacked_step
from fnn.members import StackedState, members_of
from fnn.records import Grads, Network, Optimizer, Params, TrainState, owning
from fnn.stages import as_input, as_weights, check_net, check_params, check_targets, dropout_mask, l2_term


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


class Batch(tuple):
    """``(X, Y)`` or ``(X, Y, w)`` as ``fnn.batches`` yields it: read-only, finite 2-D arrays with as
    many rows (and weights >= 0), checked once where the data entered; ``probabilities`` tells
    whether every row of ``Y`` is >= 0 and sums to 1 (what categorical cross-entropy needs). A
    step checks such a batch in O(1)."""

    probabilities: bool


def checked_batch(X: np.ndarray, Y: np.ndarray, w: np.ndarray | None, probabilities: bool) -> Batch:
    batch = Batch((X, Y) if w is None else (X, Y, w))
    batch.probabilities = probabilities
    return batch


class Carry(NamedTuple):
    """What a ``TrainState`` holds, as plain values: the params' ``flat`` vector, ``opt_state``,
    ``step``, ``loss``; a fold carries it from step to step and builds the record at its end."""

    flat: np.ndarray
    opt_state: Any
    step: int
    loss: Any


def immutable(a: Any) -> bool:
    """Whether nothing can write ``a``'s values: a read-only array whose bases are read-only too."""
    while isinstance(a, np.ndarray):
        if a.flags.writeable:
            return False
        a = a.base
    return True


def all_finite(a: np.ndarray, unit: np.ndarray) -> bool:
    """``isfinite(a).all()`` for a vector, as one dot product with ``unit``, ones like ``a``, in the
    common case (a sum is finite only if every term is; under ``quiet()`` its overflow is no error)."""
    return math.isfinite(np.vdot(a, unit)) or bool(np.isfinite(a).all())


def quiet() -> np.errstate:
    """The floating-point state a step runs in: a non-finite result raises ``DivergenceError``
    instead of NumPy's overflow and invalid warnings."""
    return np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore")


class Step:
    """The compiled step of ``net`` and ``optimizer``: calling it is the pure
    ``(TrainState, batch) -> TrainState``; ``fold(batches, state)`` runs the same program batch
    after batch and returns ``(state after them, each step's loss)``.

    Each step reads its params from a slot of the workspace for its batch shape (``Workspace.slots``),
    runs the ``Program`` bound to that slot, and the optimizer writes the new params into a fresh
    vector (a call: the state it returns owns it) or, inside a fold, into the other slot: the
    intermediate params of a fold are seen by nobody, so they are donated to the workspace and no
    step rebinds or allocates them. The same program runs either way, so a fold's states equal
    step-by-step calls bit for bit.
    """

    def __init__(self, net: Network, optimizer: Optimizer, seed: int = 0):
        self.net, self.optimizer, self.seed = check_net(net), optimizer, seed
        self.plan = plan(net)
        self.flat_update = optimizer.update if isinstance(optimizer.update, FlatUpdate) else None
        self.spaces = Workspaces(self.plan)
        self.last = None  # (batch, its (X, Y, w) as given, as run): the last fnn batch or immutable batch prepared
        self.dropped = [(l, p) for l, p in enumerate(self.plan.drops) if p]
        self.per_member = members_of(optimizer)  # K when hyperparameters are per member (stacked states only)

    def __call__(self, state: TrainState, batch: Any) -> TrainState:
        if isinstance(state, StackedState):  # K members: fnn.engine.members
            return stacked_step(self)(state, batch)
        dtype = self.check_state(state)
        X, Y, w = self.data(batch, dtype)
        ws = self.spaces.take(X.shape[0], dtype, w is not None)
        try:
            with quiet():
                carry = self.advance(ws, Carry(state.params.flat, state.opt_state, state.step, state.loss), (X, Y, w),
                                     empty_like(state.params.flat), state)
        finally:
            self.spaces.give(ws)
        return self.record(carry)

    def fold(self, batches: Iterable, state: TrainState,
             interrupted: Callable[[TrainState, list[float]], None] | None = None) -> tuple[TrainState, list[float]]:
        """The state after every batch of ``batches`` in order, and each step's loss (for a stacked
        state, ``fnn.engine.members``: the losses ``(steps, K)``).

        ``interrupted(state, losses)``, when given, is called with the last completed step's state
        and the losses so far when an interruption (``KeyboardInterrupt``, ``SystemExit``) cuts the
        fold short, before it propagates."""
        if isinstance(state, StackedState):
            if interrupted is not None:
                raise ValueError("interrupted: expected None for stacked members (their runs take no backup), got a function")
            return stacked_step(self).fold(batches, state)
        dtype = self.check_state(state)
        held: dict[int, Workspace] = {}
        carry, losses = Carry(state.params.flat, state.opt_state, state.step, state.loss), []
        try:
            with quiet():
                previous = None
                for batch in batches:
                    if batch is not previous:  # a whole-set batch comes again every epoch: prepared once
                        data, previous = self.data(batch, dtype), batch
                        ws = held.get((len(data[0]), data[2] is None))
                        if ws is None:
                            ws = held[(len(data[0]), data[2] is None)] = self.spaces.take(len(data[0]), dtype, data[2] is not None)
                    carry = self.advance(ws, carry, data, None, None if losses else state)
                    losses.append(float(carry.loss))
        except (KeyboardInterrupt, SystemExit):
            if interrupted is not None:
                interrupted(self.record(carry._replace(flat=owned(carry.flat))) if losses else state, losses)
            raise
        finally:
            for ws in held.values():
                self.spaces.give(ws)
        if not losses:
            return state, losses
        return self.record(carry._replace(flat=owned(carry.flat))), losses

    def check_state(self, state: Any) -> np.dtype:
        if not isinstance(state, TrainState):
            raise TypeError(f"state: expected a TrainState (see fnn.init_state), got {type(state).__name__}")
        dtype = check_params(self.net, state.params, "state.params")
        if isinstance(state, StackedState) or self.per_member is not None:
            stacked_step(self).check_state(state)
        if self.flat_update is not None:
            self.flat_update.check(state.opt_state)
        return dtype

    def data(self, batch: Any, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """The batch's ``X``, ``Y`` and sample weights (or None) as the step runs them: checked (in O(1)
        for a ``Batch`` of the network's widths), cast to ``dtype``, ``Y`` in the workspace's memory order."""
        if not isinstance(batch, (tuple, list)) or len(batch) not in (2, 3):
            raise TypeError(f"batch: expected (X, Y) or (X, Y, sample_weight) such as fnn.batches yields, got {type(batch).__name__}")
        last = self.last
        if last is not None and batch is last[0] and last[2][0].dtype == dtype:  # the same batch again (a whole set)
            return last[2]
        given = tuple(batch) + (None,) * (3 - len(batch))
        if last is not None and all(a is b for a, b in zip(given, last[1])) and last[2][0].dtype == dtype:
            return last[2]
        X, Y, w = given
        net = self.net
        if type(batch) is Batch and X.shape[1] == net.layers[0].n_in and Y.shape == (X.shape[0], net.layers[-1].n_out) \
                and (batch.probabilities or net.loss != "categorical_cross_entropy"):
            ready = (X.astype(dtype, copy=False), Y.astype(dtype, copy=False), None if w is None else w.astype(dtype, copy=False))
        else:
            X = as_input(net, X, dtype)
            m = X.shape[0]
            ready = (X, check_targets(net, Y, (m, net.layers[-1].n_out), dtype), as_weights(w, m, dtype)[0])
        if self.plan.order(ready[0].shape[0]) == "F":
            ready = (ready[0], np.asfortranarray(ready[1]), ready[2])  # Y meets the step's column-ordered arrays in their order
        if type(batch) is Batch or all(immutable(a) for a in given):  # fnn's batches are read-only views of checked data
            self.last = (batch, given, ready)
        return ready

    def advance(self, ws: Workspace, carry: Carry, data: tuple, out: np.ndarray | None, given: TrainState | None) -> Carry:
        """One step from ``carry`` on ``data = (X, Y, w or None)`` in ``ws``: the params go to a slot,
        its program runs forward, cost and backward, and the update writes the new params into
        ``out`` (or, when None, the other slot). ``given``: the state the step was given, for a
        ``DivergenceError``."""
        X, Y, w = data
        i = ws.slot_of(carry.flat)
        params, prog = ws.slots[i], ws.program(i)
        for l, p in self.dropped:
            dropout_mask((self.seed, carry.step), l, p, ws.M[l].shape, ws.dtype, ws.M[l])
        prog.forward(X)
        J = self.cost(ws, prog, Y, w)
        if not math.isfinite(J):
            raise DivergenceError(carry.step, given or self.record(carry._replace(flat=owned(params))), float(J))
        prog.backward(X)
        if self.flat_update is not None:
            new, opt_state = self.flat_update.apply(params, ws.grad, carry.opt_state, ws.slots[1 - i] if out is None else out)
        else:
            shapes = self.plan.shapes
            new_params, opt_state = self.optimizer.update(owning(Params, params.copy(), shapes),
                                                          owning(Grads, ws.grad.copy(), shapes), carry.opt_state)
            new = new_params.flat
        if not all_finite(new, ws.unit):
            raise DivergenceError(carry.step, given or self.record(carry._replace(flat=owned(params))), float(J))
        return Carry(new, opt_state, carry.step + 1, J)

    def cost(self, ws: Workspace, prog, Y: np.ndarray, w: np.ndarray | None) -> np.floating:
        """``fnn.stages.cost`` of the forward pass in ``ws``; leaves the residual ``A - Y`` in
        ``ws.dA[-1]``, where the squared errors' cost reads it and the backward pass starts, and, with
        sample weights ``w``, the batch's ``factor`` and L2 ``rates`` in ``ws``."""
        pl, Z, A, D = self.plan, ws.Z[-1], ws.A[-1], ws.dA[-1]
        np.subtract(A, Y, out=D)
        if w is None:
            J, total = pl.loss.cost(Z, A, Y, ws.aux[-1], D), ws.m
        else:
            total = np.add.reduce(w)
            pl.loss.weights_factor(w, total, ws.factor)
            J = pl.loss.weighted_cost(Z, A, Y, w, total, ws.aux[-1], D)
            if pl.l2:
                decay_rates(ws.mask, pl.l2 / total if total else 0, ws.rates)
        if pl.l2 and total:
            J += l2_term(pl.l2, total, prog.weights)
        return ws.dtype.type(J)

    def record(self, carry: Carry) -> TrainState:
        """The ``TrainState`` of ``carry``, whose params vector it then owns."""
        return TrainState(owning(Params, carry.flat, self.plan.shapes), carry.opt_state, carry.step, carry.loss,
                          optimizer=self.optimizer)


def owned(flat: np.ndarray) -> np.ndarray:
    """``flat``, or a fresh copy of it when it is a slot (writable: the workspace writes it again)."""
    if not flat.flags.writeable:
        return flat
    copy = empty_like(flat)
    np.copyto(copy, flat)
    return copy
