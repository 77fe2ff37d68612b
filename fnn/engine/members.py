"""``MembersStep``: the compiled step of ``K`` stacked members (``fnn.members``), one stacked pass for all.

Every intermediate carries the member axis in front: ``Z``, ``A``, ``dA`` of layer ``l`` are
``(K, m, n_l)`` in C order, so the element-wise work (activations, their vjps, the loss) runs once
over all members on 2-D ``(K*m, n_l)`` views with the single engine's own bound operations, and
the optimizer's flat update runs once over the ``(K, n_params)`` vectors. The products are where
the shapes matter; ``kernel`` picks per layer:

- ``"shared"``: the first layer of a batch every member shares: ``[X, 1] @ [W; b]`` broadcast over
  the members' ``(K, n_in + 1, n_out)`` blocks (the flat layout's own), which spares the bias add,
  and ``[dW; db] = [X, 1].T @ dZ`` in one product. (Measured on W2's shapes, K = 64: about 4x
  faster than one GEMM ``X @ [W_0 | W_1 | ...]`` over the concatenated members plus the copy of its
  ``(m, K, n)`` result into the member-major layout, and than the product plus a broadcast bias add.)
- ``"stacked"``: ``np.matmul`` over the member axis, for small products (its own loop over tiny
  matrices beats a BLAS call per member there);
- ``"blas"``: one BLAS call per member (``np.dot`` into contiguous per-member views), for large ones.

Bias adds of layers up to ``NARROW`` units wide go column by column (a broadcast over a last axis
of 2-4 is several times slower than the ``n`` strided column adds).

A member whose cost or new params are not finite is frozen at its last finite params (and its
optimizer state), its loss reported as nan, and ``diverged[k]`` records the step; the others go on.
"""
from __future__ import annotations

import math
from typing import Any, Iterable, NamedTuple

import numpy as np

from fnn import checks
from fnn.activations import NARROW, _clip, consts, log_sigmoid_pair, ones, row_max_ops, row_sum_ops, run, scalar
from fnn.engine.plan import plan
from fnn.engine.pool import empty_like
from fnn.engine.workspace import Workspace
from fnn.members import StackedGrads, StackedParams, StackedState, finite_members, members_of
from fnn.optimizers import FlatUpdate
from fnn.records import Network, Optimizer, owning, readonly
from fnn.stages import check_net, check_params, check_probabilities

BLAS_FLOPS = 32768
"""A product of at least this many multiply-adds per member (``m * n_in * n_out``) runs one BLAS call
per member; below it, ``np.matmul`` over the stacked members (see ``kernel``)."""


def kernel(layer: int, shared: bool, m: int, n_in: int, n_out: int) -> str:
    """``"shared"``, ``"blas"`` or ``"stacked"``: how layer ``layer``'s products run (module docstring)."""
    if layer == 0 and shared:
        return "shared"
    return "blas" if m * n_in * n_out >= BLAS_FLOPS else "stacked"


class Carry(NamedTuple):
    """The stacked state as plain values: ``flat`` ``(K, n_params)``, ``opt_state``, ``step``,
    ``loss`` ``(K,)``, ``diverged`` ``(K,)`` (-1 while alive)."""

    flat: np.ndarray
    opt_state: Any
    step: int
    loss: np.ndarray
    diverged: np.ndarray


def _costs_bce(Z, A, Y, aux, D, ws):
    T = log_sigmoid_pair(Z)
    T -= np.multiply(Y, Z, out=ws.scratch)
    return _member_sums(T, ws.K) / ws.m


def _costs_cce(Z, A, Y, aux, D, ws):
    S, s = aux  # (K*m, n), (K*m,): softmax_parts of the forward pass
    logs = np.log(s.reshape(ws.K, ws.m), out=ws.rows)
    T = np.multiply(S.reshape(Z.shape), Y, out=ws.scratch)
    return (np.dot(logs, ws.ones) - _member_sums(T, ws.K)) / ws.m


def _costs_sse(Z, A, Y, aux, D, ws):
    return _member_sums(np.multiply(D, D, out=ws.scratch), ws.K)


def _costs_mse(Z, A, Y, aux, D, ws):
    return _costs_sse(Z, A, Y, aux, D, ws) / (2 * ws.m)


def _member_sums(T: np.ndarray, K: int) -> np.ndarray:
    """``(K,)``: the sum of each member's entries of ``T`` ``(K, ...)``."""
    T = T.reshape(K, -1)
    return np.dot(T, ones(T.shape[1], T.dtype))


COSTS = {"binary_cross_entropy": _costs_bce, "categorical_cross_entropy": _costs_cce,
         "sum_of_squares": _costs_sse, "mean_squared_error": _costs_mse}
"""Per loss: ``(Z, A, Y, aux, D, ws) -> (K,)``, each member's data term of ``fnn.losses`` (``Z``, ``A``,
``D = A - Y`` ``(K, m, n)``; ``Y`` shared ``(m, n)`` or ``(K, m, n)``), in ``ws``'s scratch arrays."""


def activation_ops(act, Z: np.ndarray, out: np.ndarray, aux) -> list:
    """``act.ops(Z, out, aux)``, but for a softmax of at most ``NARROW`` columns its two broadcasts of
    the row vector ``s`` over the short last axis (``Z - s[:, None]``, ``E / s[:, None]``) run column by
    column: the same arithmetic (``fnn.activations.softmax_parts_ops``), without numpy's slow
    iteration over an inner axis of 2-4 elements (about 1.3x faster over W2's (K*m, 2) output)."""
    if act.name != "softmax" or Z.shape[1] > NARROW:
        return act.ops(Z, out, aux)
    S, s = aux
    c = consts(Z.dtype)
    columns = range(Z.shape[1])
    return (row_max_ops(Z, s) + [(np.subtract, (Z[:, j], s, S[:, j])) for j in columns]
            + [(_clip, (S, c.lo, c.inf, out)), (np.exp, (out, out))] + row_sum_ops(out, s)
            + [(np.divide, (out[:, j], s, out[:, j])) for j in columns])


class MembersSpace:
    """The arrays of a stacked step of ``K`` members, ``m`` rows each, of ``dtype``; ``shared``: whether
    the members share ``X``. Per layer ``Z``, ``A``, ``dA`` ``(K, m, n)`` and ``aux`` (the activation's
    scratch, for the ``(K*m, n)`` views); ``grad`` ``(K, n_params)``; two params ``slots`` ``(K, n_params)``
    with their per-layer views; the bound activation and loss ops."""

    def __init__(self, pl, K: int, m: int, dtype: np.dtype, shared: bool):
        self.pl, self.K, self.m, self.dtype, self.shared = pl, K, m, dtype, shared
        widths = [w[1] for w, _ in pl.shapes]
        self.Z, self.A, self.dA = ([np.empty((K, m, n), dtype) for n in widths] for _ in range(3))
        flat2 = lambda a: a.reshape(K * m, a.shape[2])  # noqa: E731
        self.aux = [act.scratch((K * m, n), dtype) for act, n in zip(pl.acts, widths)]
        self.forward_ops = [activation_ops(act, flat2(Z), flat2(A), aux) for act, Z, A, aux in zip(pl.acts, self.Z, self.A, self.aux)]
        D = flat2(self.dA[-1])
        # ``fnn.losses.output_delta_ops`` on the (K*m, n) views, dividing by the divisor of m rows (not K*m)
        out_act, Z_L, A_L = pl.acts[-1], flat2(self.Z[-1]), flat2(self.A[-1])
        self.delta_ops = [(np.divide, (D, scalar(pl.loss.divisor(m), dtype), D))]
        if out_act.name not in pl.loss.fused:
            self.delta_ops += out_act.vjp_ops(D, Z_L, A_L, D, self.aux[-1])
        self.vjp_ops = [act.vjp_ops(flat2(dA), flat2(Z), flat2(A), flat2(dA), aux)
                        for act, Z, A, dA, aux in zip(pl.acts, self.Z, self.A, self.dA, self.aux)]
        self.kernels = [kernel(l, shared, m, w[0], w[1]) for l, (w, _) in enumerate(pl.shapes)]
        self.Xa = None  # [X, 1] (m, n_in + 1) of a "shared" first layer with a bias, and the X it holds
        if self.kernels[0] == "shared" and pl.bias[0]:
            self.Xa = np.ones((m, pl.shapes[0][0][0] + 1), dtype)
        self.last_X = None
        self.grad = np.zeros((K, pl.n_params), dtype)
        self.grads = self.views(self.grad)
        self.slots = (np.empty((K, pl.n_params), dtype), np.empty((K, pl.n_params), dtype))
        self.slot_views = [self.views(s) for s in self.slots]
        self.ones = ones(m, dtype)
        self.WT = [np.empty((K, w[1], w[0]), dtype) for w, _ in pl.shapes]  # each W.T, for "stacked" products
        self.scratch, self.rows = np.empty((K, m, widths[-1]), dtype), np.empty((K, m), dtype)  # the cost's
        self.unit = ones(K * pl.n_params, dtype)
        if pl.l2:
            self.rates = np.zeros(pl.n_params, dtype)
            self.wmask = np.zeros(pl.n_params, dtype)
            for start, end_w, _, _ in pl.spans:
                self.rates[start:end_w] = pl.l2 / m
                self.wmask[start:end_w] = 1
            self.decay = np.empty((K, pl.n_params), dtype)

    def views(self, flat: np.ndarray) -> list[tuple]:
        """Per layer ``(W, b, W_k, Wb)``: ``W`` ``(K, n_in, n_out)`` and ``b`` ``(K, n_out)`` views of
        ``flat`` ``(K, n_params)``, the C-contiguous per-member ``W_k`` (for BLAS calls) and the
        ``(K, n_in + 1, n_out)`` blocks ``[W; b]``."""
        K, out = self.K, []
        for l, (start, end_w, end, (n_in, n_out)) in enumerate(self.pl.spans):
            Wb = flat[:, start:end].reshape(K, n_in + 1, n_out)
            per = [flat[k, start:end_w].reshape(n_in, n_out) for k in range(K)]
            out.append((Wb[:, :-1], Wb[:, -1], per, Wb))
        return out

    slot_of = Workspace.slot_of  # the slot holding flat (0 or 1), else flat copied into slot 0


def _forward(ws: MembersSpace, views, X: np.ndarray) -> None:
    """``Z = A_prev @ W + b``, ``A = g(Z)`` layer by layer for all members."""
    A_prev, K = X, ws.K
    for l, ((W, b, per, Wb), Z, A, ops) in enumerate(zip(views, ws.Z, ws.A, ws.forward_ops)):
        kind, bias = ws.kernels[l], ws.pl.bias[l]
        if kind == "shared" and bias:
            np.matmul(augmented(ws, X), Wb, out=Z)
            bias = False
        elif kind == "blas":
            for k in range(K):
                np.dot(A_prev[k], per[k], out=Z[k])
        else:
            np.matmul(A_prev, W, out=Z)
        if bias and Z.shape[2] <= NARROW:
            for j in range(Z.shape[2]):
                np.add(Z[:, :, j], b[:, j, None], out=Z[:, :, j])
        elif bias:
            np.add(Z, b[:, None, :], out=Z)
        run(ops)
        A_prev = A


def augmented(ws: MembersSpace, X: np.ndarray) -> np.ndarray:
    """``[X, 1]`` in ``ws.Xa``, copied only when ``X`` is not the immutable array it already holds."""
    if X is not ws.last_X or X.flags.writeable:
        np.copyto(ws.Xa[:, :-1], X)
        ws.last_X = X
    return ws.Xa


def _backward(ws: MembersSpace, views, X: np.ndarray, flat: np.ndarray) -> None:
    """The gradient of every member's cost into ``ws.grad``, from ``A - Y`` in ``ws.dA[-1]``."""
    pl, K = ws.pl, ws.K
    run(ws.delta_ops)
    for l in range(len(views) - 1, -1, -1):
        W, per = views[l][0], views[l][2]
        dW, db, dW_k, dWb = ws.grads[l]
        dZ, A_prev, kind, bias = ws.dA[l], ws.A[l - 1] if l else X, ws.kernels[l], pl.bias[l]
        if kind == "shared" and bias:
            np.matmul(ws.Xa.T, dZ, out=dWb)
            bias = False
        elif kind == "blas":
            for k in range(K):
                np.dot(A_prev[k].T, dZ[k], out=dW_k[k])
        else:  # A_prev.T per member; a shared X (m, n_in) broadcasts
            np.matmul(A_prev.T if A_prev.ndim == 2 else A_prev.transpose(0, 2, 1), dZ, out=dW)
        if bias:
            np.matmul(ws.ones, dZ, out=db)
        if l:
            dA = ws.dA[l - 1]
            if kind == "blas":
                for k in range(K):
                    np.dot(dZ[k], per[k].T, out=dA[k])
            else:  # matmul reads a contiguous W.T ~3x faster than the transposed view (W2's shapes)
                WT = ws.WT[l]
                np.copyto(WT, W.transpose(0, 2, 1))
                np.matmul(dZ, WT, out=dA)
            run(ws.vjp_ops[l - 1])
    if pl.l2:
        np.multiply(flat, ws.rates, out=ws.decay)
        np.add(ws.grad, ws.decay, out=ws.grad)


class MemberBatch(tuple):
    """``(X, Y)`` of ``K`` members, ``X`` ``(m, n_in)`` or ``(K, m, n_in)``, ``Y`` ``(m, n_out)`` or ``(K, m,
    n_out)``: checked where the data entered (``fnn.fit`` with member seeds), so a step checks it in O(1)."""


class MembersStep:
    """The compiled step of ``net`` and ``optimizer`` for a ``StackedState``: calling it is the pure
    ``(state, batch) -> state``; ``fold(batches, state)`` returns ``(state, losses (steps, K))``."""

    def __init__(self, net: Network, optimizer: Optimizer):
        self.net, self.optimizer = check_net(net), optimizer
        for i, d in enumerate(net.layers):
            if getattr(d, "dropout", 0):
                raise ValueError(f"net.layers[{i}].dropout: expected 0 for stacked members (not supported), got {d.dropout}")
        self.plan = plan(net)
        self.flat_update = optimizer.update if isinstance(optimizer.update, FlatUpdate) else None
        self.per_member = members_of(optimizer)
        self.spaces: dict[tuple, list[MembersSpace]] = {}

    def check_state(self, state: Any) -> np.dtype:
        if not isinstance(state, StackedState):
            why = f" (the optimizer's hyperparameters are per member, {self.per_member} of them)" if self.per_member else ""
            raise TypeError(f"state: expected a StackedState (fnn.init_state of stacked params){why}, got {type(state).__name__}")
        dtype = check_params(self.net, state.params, "state.params")
        K = state.members
        if self.per_member is not None and self.per_member != K:
            raise ValueError(f"optimizer: expected per-member hyperparameters for the state's {K} members, got {self.per_member}")
        if self.flat_update is not None:
            self.flat_update.check(state.opt_state)
        return dtype

    def data(self, batch: Any, K: int, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
        """``X`` ``(m, n_in)`` or ``(K, m, n_in)`` and ``Y`` likewise, checked (in O(1) for a checked batch), in ``dtype``."""
        from fnn.engine.step import Batch

        if not isinstance(batch, (tuple, list)) or len(batch) != 2:
            raise TypeError(f"batch: expected a pair (X, Y) such as fnn.batches yields, got {type(batch).__name__}")
        X, Y = batch
        if type(batch) not in (Batch, MemberBatch) or (type(batch) is Batch and not batch.probabilities
                                                       and self.net.loss == "categorical_cross_entropy"):
            X, Y = check_member_data(self.net, X, Y, K)
        elif X.shape[-1] != self.net.layers[0].n_in or Y.shape[-1] != self.net.layers[-1].n_out:
            X, Y = check_member_data(self.net, X, Y, K)
        return X.astype(dtype, copy=False), Y.astype(dtype, copy=False)

    def take(self, K: int, m: int, dtype: np.dtype, shared: bool) -> MembersSpace:
        try:
            return self.spaces[(K, m, dtype, shared)].pop()
        except (KeyError, IndexError):
            return MembersSpace(self.plan, K, m, dtype, shared)

    def give(self, ws: MembersSpace) -> None:
        self.spaces.setdefault((ws.K, ws.m, ws.dtype, ws.shared), []).append(ws)

    def __call__(self, state: StackedState, batch: Any) -> StackedState:
        final, _ = self.fold([batch], state, out=empty_like(state.params.flat))
        return final

    def fold(self, batches: Iterable, state: StackedState, out: np.ndarray | None = None) -> tuple[StackedState, np.ndarray]:
        """The state after every batch in order, and each step's losses ``(steps, K)`` (nan for a frozen member)."""
        dtype = self.check_state(state)
        K = state.members
        held: dict[tuple, MembersSpace] = {}
        carry = Carry(state.params.flat, state.opt_state, state.step, state.loss, state.diverged)
        losses = []
        try:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
                for batch in batches:
                    X, Y = self.data(batch, K, dtype)
                    key = (X.shape[-2], X.ndim == 2)
                    ws = held.get(key)
                    if ws is None:
                        ws = held[key] = self.take(K, key[0], dtype, key[1])
                    carry = self.advance(ws, carry, X, Y, out)
                    losses.append(carry.loss)
        finally:
            for ws in held.values():
                self.give(ws)
        table = readonly(np.array(losses, dtype=np.float64).reshape(len(losses), K))
        if not losses:
            return state, table
        flat = carry.flat
        if flat.flags.writeable and out is None:
            flat = flat.copy()
        return self.record(carry._replace(flat=flat)), table

    def advance(self, ws: MembersSpace, carry: Carry, X: np.ndarray, Y: np.ndarray, out: np.ndarray | None) -> Carry:
        """One stacked step from ``carry`` on ``(X, Y)`` in ``ws`` (new params into ``out`` or the other slot)."""
        i = ws.slot_of(carry.flat)
        params, views = ws.slots[i], ws.slot_views[i]
        _forward(ws, views, X)
        J = self.cost(ws, params, Y)
        _backward(ws, views, X, params)
        target = ws.slots[1 - i] if out is None else out
        if self.flat_update is not None:
            new, opt_state = self.flat_update.apply(params, ws.grad, carry.opt_state, target)
        else:
            shapes = self.plan.shapes
            new_params, opt_state = self.optimizer.update(owning(StackedParams, params.copy(), shapes),
                                                          owning(StackedGrads, ws.grad.copy(), shapes), carry.opt_state)
            new = new_params.flat
        diverged = carry.diverged
        if not (math.isfinite(np.dot(J, ones(J.shape[0], J.dtype))) and math.isfinite(np.vdot(new, ws.unit))) \
                or (diverged >= 0).any():
            new, opt_state, J, diverged = self.freeze(params, new, carry, opt_state, J)
        return Carry(new, opt_state, carry.step + 1, J, diverged)

    def freeze(self, params, new, carry: Carry, opt_state, J):
        """Members whose cost or new params are not finite (or that were frozen before) keep their
        params and optimizer state; newly failing ones are marked at this step."""
        alive = (carry.diverged < 0) & finite_members(J) & finite_members(new)
        diverged = carry.diverged.copy()
        diverged[(carry.diverged < 0) & ~alive] = carry.step
        dead = ~alive
        if not new.flags.writeable:
            new = new.copy()
        new[dead] = params[dead]
        J = J.copy()
        J[dead] = np.nan
        if attrs_has(opt_state):
            values = {}
            for f in _fields(opt_state):
                value = getattr(opt_state, f.name)
                if isinstance(value, np.ndarray) and value.ndim == 2:
                    value = np.where(dead[:, None], getattr(carry.opt_state, f.name), value)
                values[f.alias] = value
            opt_state = type(opt_state)(**values)
        return new, opt_state, J, readonly(diverged)

    def cost(self, ws: MembersSpace, flat: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """Each member's cost ``(K,)``; leaves ``A - Y`` in ``ws.dA[-1]``."""
        pl, Z, A, D = self.plan, ws.Z[-1], ws.A[-1], ws.dA[-1]
        np.subtract(A, Y, out=D)
        J = COSTS[pl.loss.name](Z, A, Y, ws.aux[-1], D, ws)
        if pl.l2:
            J += pl.l2 / (2 * ws.m) * np.dot(np.multiply(flat, flat), ws.wmask)
        return J.astype(ws.dtype, copy=False)

    def record(self, carry: Carry) -> StackedState:
        flat = carry.flat
        if flat.flags.writeable:
            flat.flags.writeable = False
        return StackedState(owning(StackedParams, flat, self.plan.shapes), carry.opt_state, carry.step,
                            readonly(np.asarray(carry.loss)), optimizer=self.optimizer, diverged=carry.diverged)


def attrs_has(x: Any) -> bool:
    import attrs

    return attrs.has(type(x))


def _fields(x: Any):
    import attrs

    return attrs.fields(type(x))


def check_member_data(net: Network, X: Any, Y: Any, K: int) -> tuple[np.ndarray, np.ndarray]:
    """``X`` ``(m, n_in)`` or ``(K, m, n_in)`` and ``Y`` ``(m, n_out)`` or ``(K, m, n_out)``: finite, with
    as many rows, targets fit for the loss."""
    n_in, n_out = net.layers[0].n_in, net.layers[-1].n_out
    X, Y = checks.numeric("X", X), checks.numeric("Y", Y)
    for name, arr, n in (("X", X, n_in), ("Y", Y, n_out)):
        if not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[0] == K)) or arr.shape[-1] != n or arr.shape[-2] == 0:
            raise ValueError(f"{name}: expected shape (m, {n}) shared by the members or (K={K}, m, {n}), got {arr.shape}")
        checks.finite(name, arr)
    if X.shape[-2] != Y.shape[-2]:
        raise ValueError(f"Y: expected {X.shape[-2]} rows like X, got {Y.shape[-2]} (X {X.shape}, Y {Y.shape})")
    check_probabilities(net, Y.reshape(-1, n_out).astype(np.float64, copy=False), "Y")
    return X, Y


def stacked_step(step: Any) -> MembersStep:
    """The ``MembersStep`` of a compiled ``fnn.engine.Step`` (made on first use, kept on it)."""
    found = step.__dict__.get("_members")
    if found is None:
        found = step.__dict__["_members"] = MembersStep(step.net, step.optimizer)
    return found
