"""``Program``: a step's forward and backward passes as lists of bound array operations.

``bind(pl, ws, flat)`` builds them once for a workspace ``ws`` and a params vector ``flat`` (a
workspace's slot): every product, bias add, activation and vjp is an ``Op`` ``(f, args)`` with
the arrays it reads and writes already bound (``fnn.activations.run``), so running a pass is one
loop over operations, whatever the batch. The arithmetic is the plain stages' (``fnn.stages``),
in the layout ``Plan.order`` picks: row order gives their bits exactly; column order, with the
``augmented`` layers' ``[A_prev, 1] @ [W; b]``, sums the products in another order.
"""
from __future__ import annotations

from typing import Callable

import attrs
import numpy as np

from fnn.activations import Op, ones, run
from fnn.losses import output_delta_ops


def product(P: np.ndarray, Q: np.ndarray, out: np.ndarray) -> Op:
    """``out = P @ Q`` as an ``Op``, for an ``out`` of either memory order (``np.dot`` writes
    C-contiguous arrays only, so an F-ordered ``out`` is filled as ``out.T = Q.T @ P.T``)."""
    return (np.dot, (P, Q, out)) if out.flags.c_contiguous else (np.dot, (Q.T, P.T, out.T))


def input_product(W: np.ndarray, Z: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """``X -> (Z = X @ W)``: ``product`` for an ``X`` known only when it runs."""
    if Z.flags.c_contiguous:
        return lambda X: np.dot(X, W, Z)
    WT, ZT = W.T, Z.T
    return lambda X: np.dot(WT, X.T, ZT)


def input_grad(dZ: np.ndarray, dW: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """``X -> (dW = X.T @ dZ)``, for an ``X`` known only when it runs."""
    return lambda X: np.dot(X.T, dZ, dW)


def forward_ops(pl, pairs, ws) -> tuple[Callable[[np.ndarray], None], list]:
    """What reads ``X`` (a product, or its copy into the first input block) and the ops after it:
    ``Z = A_prev @ W + b`` (``[A_prev, 1] @ [W; b]`` for ``augmented`` layers), ``A = g(Z)``
    layer by layer, into ``ws.Z``, ``ws.A`` (and ``ws.blocks``), for ``pairs = pl.views(flat)``."""
    Zs, As, blocks, aug, ops = ws.Z, ws.A, ws.blocks, ws.aug, []
    if aug[0]:
        first = blocks[0][:, :-1]
        take = lambda X: np.copyto(first, X)  # noqa: E731  (X into the first input block)
    else:
        take = input_product(pairs[0][0], Zs[0])
    for i, ((W, b, Wb), act, Z, out, aux) in enumerate(zip(pairs, pl.acts, Zs, As, ws.aux)):
        if aug[i]:
            ops.append(product(blocks[i], Wb, Z))
        elif i:
            ops.append(product(As[i - 1], W, Z))
        if pl.bias[i] and not aug[i]:
            ops.append((np.add, (Z, b, Z)))
        if pl.drops[i]:  # A = g(Z) * M
            ops += act.ops(Z, ws.G[i], aux) + [(np.multiply, (ws.G[i], ws.M[i], out))]
        else:
            ops += act.ops(Z, out, aux)
    return take, ops


def backward_ops(pl, flat, pairs, ws) -> tuple[list, Callable[[np.ndarray], np.ndarray] | None, list]:
    """The gradient of the cost into ``ws.grad`` (per-layer views ``ws.grads``), from the residual
    ``A - Y`` in ``ws.dA[-1]`` (scaled by ``ws.factor`` with sample weights): ``ops``, then ``first(X)`` (layer 0's ``dW``, when it reads ``X``
    itself), then ``rest`` (layer 0's ``db``; L2's ``+ (l2/m) W`` as ``rates * flat`` over the flat vector)."""
    Zs, As, dAs, aug = ws.Z, ws.A, ws.dA, ws.aug
    m, dtype = ws.m, ws.dtype
    ops = output_delta_ops(pl.loss, pl.acts[-1], Zs[-1], As[-1], dAs[-1], ws.aux[-1], ws.factor)
    rest, first = [], None
    for i in range(len(Zs) - 1, -1, -1):
        W, (dW, db, dWb), dZ, tail = pairs[i][0], ws.grads[i], dAs[i], rest if i == 0 else ops
        if aug[i]:
            ops.append((np.dot, (ws.blocks[i].T, dZ, dWb)))
        else:
            if i:
                ops.append((np.dot, (As[i - 1].T, dZ, dW)))
            else:
                first = input_grad(dZ, dW)
            if pl.bias[i]:
                tail.append((np.dot, (ones(m, dtype), dZ, db)))
        if i:
            dA, G = dAs[i - 1], As[i - 1] if ws.G[i - 1] is None else ws.G[i - 1]
            ops.append(product(dZ, W.T, dA))
            if ws.M[i - 1] is not None:
                ops.append((np.multiply, (dA, ws.M[i - 1], dA)))
            ops += pl.acts[i - 1].vjp_ops(dA, Zs[i - 1], G, dA, ws.aux[i - 1])
    if pl.l2:
        rest += [(np.multiply, (flat, ws.rates, ws.decay)), (np.add, (ws.grad, ws.decay, ws.grad))]
    return ops, first, rest


@attrs.frozen(eq=False)
class Program:
    """A step's passes bound to one workspace and one params vector: ``forward(X)`` fills the
    workspace's ``Z``, ``A``; ``backward(X)`` its ``grad``, from the residual in ``dA[-1]``."""

    take: Callable[[np.ndarray], None]
    forward_ops: list
    backward_ops: list
    first: Callable[[np.ndarray], np.ndarray] | None
    rest: list
    weights: tuple  # each layer's W, a view of the params vector (the L2 term's)

    def forward(self, X: np.ndarray) -> None:
        self.take(X)
        run(self.forward_ops)

    def backward(self, X: np.ndarray) -> None:
        run(self.backward_ops)
        if self.first is not None:
            self.first(X)
        run(self.rest)


def bind(pl, ws, flat: np.ndarray) -> Program:
    """The ``Program`` of ``pl`` bound to workspace ``ws`` and params vector ``flat``."""
    pairs = pl.views(flat)
    return Program(*forward_ops(pl, pairs, ws), *backward_ops(pl, flat, pairs, ws), tuple(W for W, _, _ in pairs))
