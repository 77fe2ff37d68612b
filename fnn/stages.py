"""The four pure stages: ``forward``, ``cost``, ``backward``, ``update``.

Samples are rows. For layer ``l`` with ``W``: (n_in, n_out), ``b``: (n_out,)::

    Z = A_prev @ W + b,   A = g(Z)                                    (forward)
    J = loss(Z_L, A_L, Y) + l2/(2m) * sum_l ||W_l||_F^2                 (cost)
    dZ_L = dJ/dZ_L;  dW = A_prev.T @ dZ + (l2/m) W;  db = ones(m) @ dZ;
    dZ_prev = g'(dZ @ W.T)                                             (backward)
    W <- W - lr * dW,  b <- b - lr * db                                (update)

Every array returned is fresh and read-only; no argument is touched.

Each stage checks its arguments and then runs a kernel (``run_forward``, ``run_cost``,
``run_backward``) on plain arrays. The forward and backward kernels are passes: lists of ``Op``
(array operations with their arrays bound, ``fnn.activations.run``) built by ``forward_pass`` and
``backward_pass`` and then run. ``fnn.train_step`` runs the same passes, so a step gives the
same state bit for bit, but checks once per step and builds no records that nobody sees; ``fit``
binds them once per workspace and params vector and runs them step after step.
Kernels write into a ``fnn.workspace.Workspace`` when given one (a training step's scratch),
else into fresh arrays. Either way the ``(m, n)`` intermediates of a batch are laid out in the
memory order ``order(plan, m)`` picks: row-major, or column-major for tall batches through narrow
layers (the tutorials' samples-in-columns layout, in which their bias adds, row-wise reductions
and products run faster); the API's shapes are the same in both.
"""
from __future__ import annotations

from functools import partial
from typing import Any, Callable

import attrs
import numpy as np

from fnn import checks
from fnn.activations import ACTIVATIONS, Activation, Op, run, scalar
from fnn.buffers import empty, empty_like, ones
from fnn.losses import LOSSES, Loss, output_delta_ops
from fnn.records import Cache, Grads, LayerCache, Network, Params, freeze, readonly, spans, views
from fnn.workspace import Workspace, augmented, block, decay_rates, order, outputs


def check_net(net: Any) -> Network:
    if not isinstance(net, Network):
        raise TypeError(f"net: expected a Network (see fnn.network), got {type(net).__name__}")
    return net


def check_params(net: Network, params: Any, name: str = "params") -> np.dtype:
    """Check that ``params`` fit ``net`` (count, shapes, one float dtype); return that dtype."""
    check_net(net)
    if not isinstance(params, Params):
        raise TypeError(f"{name}: expected a Params (see fnn.init_params), got {type(params).__name__}")
    if params.is_flat and params.shapes == net.shapes:
        return params.dtype
    if len(params.layers) != len(net.layers):
        raise ValueError(f"{name}: expected {len(net.layers)} layers like the network, got {len(params.layers)}")
    dtype = params.layers[0].W.dtype
    for i, (d, layer) in enumerate(zip(net.layers, params.layers)):
        for field, arr, shape in (("W", layer.W, (d.n_in, d.n_out)), ("b", layer.b, (d.n_out,))):
            if arr.shape != shape:
                raise ValueError(f"{name}.layers[{i}].{field}: expected shape {shape} like the network, got {arr.shape}")
            if arr.dtype != dtype:
                raise TypeError(f"{name}.layers[{i}].{field}: expected dtype {dtype} like layers[0].W, got {arr.dtype}")
    return dtype


def check_targets(net: Network, Y: Any, shape: tuple[int, int], dtype: np.dtype, name: str = "Y") -> np.ndarray:
    """``Y`` of exactly ``shape``; for categorical cross-entropy, rows of non-negative values summing to 1."""
    Y = checks.targets(name, Y, shape, dtype)
    if net.loss == "categorical_cross_entropy":
        sums = Y.sum(axis=1)
        tol = 1e-5 if dtype == np.float32 else 1e-9
        if (Y < 0).any() or not np.allclose(sums, 1.0, rtol=0, atol=tol * Y.shape[1]):
            row = int(np.argmax((Y < 0).any(axis=1) | ~np.isclose(sums, 1.0, rtol=0, atol=tol * Y.shape[1])))
            raise ValueError(
                f"{name}: expected rows of probabilities (>= 0, summing to 1) for categorical_cross_entropy, "
                f"got row {row} = {Y[row].tolist()}; use fnn.targets(net, labels) for one-hot rows"
            )
    return Y


def check_cache(net: Network, cache: Any) -> Cache:
    if not isinstance(cache, Cache):
        raise TypeError(f"cache: expected a Cache (from fnn.forward), got {type(cache).__name__}")
    if len(cache.layers) != len(net.layers):
        raise ValueError(f"cache: expected {len(net.layers)} layers like the network, got {len(cache.layers)}")
    return cache


def as_input(net: Network, X: Any, dtype: np.dtype) -> np.ndarray:
    """``X`` as a finite ``(m, n_in)`` array of ``dtype``."""
    return checks.matrix("X", X, net.layers[0].n_in, " (one row per sample, n_in columns for the first layer)", dtype)


@attrs.frozen
class Plan:
    """What the kernels need of a network, looked up once: per layer the activation and bias flag."""

    acts: tuple[Activation, ...]
    bias: tuple[bool, ...]
    loss: Loss
    l2: float
    shapes: tuple
    n_params: int
    spans: tuple = attrs.field(init=False)
    widest: int = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "widest", max(max(w) for w, _ in self.shapes))
        object.__setattr__(self, "spans", spans(self.shapes))

    def views(self, flat: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """``(W, b, Wb)`` views of a flat vector laid out like ``Params.flat`` (see ``records.views``)."""
        return views(flat, self.spans)


def plan(net: Network) -> Plan:
    """The ``Plan`` of ``net``."""
    return Plan(
        tuple(ACTIVATIONS[d.activation] for d in net.layers),
        tuple(d.use_bias for d in net.layers),
        LOSSES[net.loss],
        float(net.l2),
        net.shapes,
        net.n_params,
    )


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


def forward_pass(pl: Plan, pairs, Zs, As, blocks, auxs, aug) -> Callable[[np.ndarray], None]:
    """``X -> None``: the forward pass bound to its arrays, ``Z = A_prev @ W + b`` (``[A_prev, 1] @
    [W; b]`` for ``augmented`` layers), ``A = g(Z)`` layer by layer from ``A_0 = X``, written
    into ``Zs``, ``As`` (and the input ``blocks``), for ``pairs = plan.views(flat)``."""
    (W0, _, _), ops = pairs[0], []
    if aug[0]:
        take = partial(np.copyto, blocks[0][:, :-1])  # X into the first input block
    else:
        take = input_product(W0, Zs[0])
    for i, ((W, b, Wb), act, Z, out, aux) in enumerate(zip(pairs, pl.acts, Zs, As, auxs)):
        if aug[i]:
            ops.append(product(blocks[i], Wb, Z))
        elif i:
            ops.append(product(As[i - 1], W, Z))
        if pl.bias[i] and not aug[i]:
            ops.append((np.add, (Z, b, Z)))
        ops += act.ops(Z, out, aux)

    def forward(X: np.ndarray) -> None:
        take(X)
        run(ops)

    return forward


def run_forward(pl: Plan, pairs, X: np.ndarray, ws: Workspace | None = None) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """``forward_pass`` of ``X`` for ``pairs = plan.views(flat)``: the lists of ``Z`` and ``A``,
    written into ``ws`` (or fresh arrays in ``order(pl, m)``)."""
    m, dtype = X.shape[0], pairs[0][0].dtype
    if ws is None:
        layout = order(pl, m)
        Zs = [np.empty((m, w[1]), dtype, order=layout) for w, _ in pl.shapes]
        (As, blocks), auxs, aug = outputs(pl, m, dtype), [None] * len(Zs), augmented(pl, m)
    else:
        Zs, As, blocks, auxs, aug = ws.Z, ws.A, ws.blocks, ws.aux, ws.aug
    forward_pass(pl, pairs, Zs, As, blocks, auxs, aug)(X)
    return Zs, As


def decay(pl: Plan, flat: np.ndarray, m: int, ws: Workspace | None = None) -> np.ndarray:
    """``rates * flat`` (``decay_rates``): ``(l2/m) W`` at every ``W``, 0 at every ``b``, the L2
    term's gradient as one flat vector, in ``ws.decay`` (or a fresh array)."""
    rates, out = (ws.rates, ws.decay) if ws is not None else (decay_rates(pl, m, flat.dtype), np.empty_like(flat))
    return np.multiply(flat, rates, out=out)


def run_cost(pl: Plan, flat: np.ndarray, Z: np.ndarray, A: np.ndarray, Y: np.ndarray, aux=None, ws: Workspace | None = None,
             D: np.ndarray | None = None) -> np.floating:
    """``loss(Z, A, Y) + l2/(2m) sum ||W||^2`` as a scalar of ``Z``'s dtype, for the params' flat
    vector ``flat`` (``aux``: the output activation's scratch from ``run_forward``; ``D``: the
    residual ``A - Y`` when computed, see ``backward_pass``); the L2 term is ``<decay, flat> / 2``."""
    J = pl.loss.cost(Z, A, Y, aux, D)
    if pl.l2:
        J += np.vdot(decay(pl, flat, Y.shape[0], ws), flat) / 2
    return Z.dtype.type(J)


def input_grad(dZ: np.ndarray, dW: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """``X -> (dW = X.T @ dZ)``, for an ``X`` known only when it runs."""
    return lambda X: np.dot(X.T, dZ, dW)


def residual(A: np.ndarray, Y: np.ndarray, D: np.ndarray) -> np.ndarray:
    """``D = A - Y``, where the output delta starts (``fnn.losses.output_delta_ops``)."""
    return np.subtract(A, Y, out=D)


def backward_pass(pl: Plan, flat: np.ndarray, pairs, Zs, As, dAs, auxs, aug, blocks, grad: np.ndarray, grads,
                  decayed: np.ndarray | None, rates: np.ndarray | None, fresh: bool = False) -> Callable[[np.ndarray], None]:
    """``X -> None``: the gradient of ``run_cost`` bound to its arrays, into the flat ``grad``
    (per-layer views ``grads``), for the params' ``flat`` vector and its ``pairs = plan.views(flat)``.
    ``Zs``, ``As``, ``blocks`` hold the forward pass of ``X``, and ``dAs[-1]`` the residual
    ``A - Y`` (``residual``), which the squared errors' cost reads too; ``dZ`` of layer ``l`` goes
    to ``dAs[l]``, L2's ``rates * flat`` (``decay``) to ``decayed``; ``fresh``: ``grad`` is not zero
    where no layer writes (the bias of a bias-free layer)."""
    L, m, dtype = len(Zs), Zs[0].shape[0], Zs[0].dtype
    ops, rest, first = output_delta_ops(pl.loss, pl.acts[-1], Zs[-1], As[-1], dAs[-1], auxs[-1]), [], None
    for i in range(L - 1, -1, -1):
        W, (dW, db, dWb), dZ, tail = pairs[i][0], grads[i], dAs[i], rest if i == 0 else ops
        if aug[i]:
            ops.append((np.dot, (blocks[i].T, dZ, dWb)))
        else:
            if i:
                ops.append((np.dot, (As[i - 1].T, dZ, dW)))
            else:
                first = input_grad(dZ, dW)
            if pl.bias[i]:
                tail.append((np.dot, (ones(m, dtype), dZ, db)))
            elif fresh:
                tail.append((db.fill, (0,)))
        if i:
            ops.append(product(dZ, W.T, dAs[i - 1]))
            ops += pl.acts[i - 1].vjp_ops(dAs[i - 1], Zs[i - 1], As[i - 1], dAs[i - 1], auxs[i - 1])
    if pl.l2:
        rest += [(np.multiply, (flat, rates, decayed)), (np.add, (grad, decayed, grad))]

    def backward(X: np.ndarray) -> None:
        run(ops)
        if first is not None:
            first(X)
        run(rest)

    return backward


def step_passes(pl: Plan, flat: np.ndarray, ws: Workspace) -> tuple[Callable, Callable]:
    """The ``forward_pass`` and ``backward_pass`` of a training step bound to ``ws`` and the params'
    ``flat`` vector: bind once, run for every batch of ``ws``'s shape while the params live in ``flat``."""
    pairs = pl.views(flat)
    return (forward_pass(pl, pairs, ws.Z, ws.A, ws.blocks, ws.aux, ws.aug),
            backward_pass(pl, flat, pairs, ws.Z, ws.A, ws.dA, ws.aux, ws.aug, ws.blocks, ws.grad, ws.grads, ws.decay, ws.rates))


def run_backward(pl: Plan, flat: np.ndarray, pairs, X: np.ndarray, Zs, As, Y: np.ndarray, ws: Workspace | None = None) -> np.ndarray:
    """``residual`` and ``backward_pass`` of ``(X, Y)``: the gradient as a flat vector (layout of ``Params.flat``),
    ``ws.grad``, rewritten, or a fresh one. ``Zs``, ``As`` come from ``run_forward`` with the same ``ws``."""
    if ws is None:
        m, dtype, aug = Y.shape[0], Zs[-1].dtype, augmented(pl, Y.shape[0])
        grad, layout = empty((pl.n_params,), dtype), order(pl, m)
        dAs = [np.empty((m, w[1]), dtype, order=layout) for w, _ in pl.shapes[:-1]] + [empty_like(As[-1])]
        blocks = [block(A) if a else None for a, A in zip(aug, [X] + As[:-1])]
        rates = decay_rates(pl, m, dtype) if pl.l2 else None
        residual(As[-1], Y, dAs[-1])
        backward_pass(pl, flat, pairs, Zs, As, dAs, [None] * len(Zs), aug, blocks, grad, pl.views(grad),
                      np.empty_like(flat) if pl.l2 else None, rates, fresh=True)(X)
        return grad
    residual(As[-1], Y, ws.dA[-1])
    step_passes(pl, flat, ws)[1](X)
    return ws.grad


def forward(net: Network, params: Params, X: Any) -> tuple[np.ndarray, Cache]:
    """``AL`` of shape (m, n_out) and the ``Cache`` of every layer's ``A_prev``, ``Z``, ``A``.

    >>> from fnn import network, init_params
    >>> net = network([2, 3, 1]); AL, cache = forward(net, init_params(net), np.zeros((4, 2)))
    >>> AL.shape, len(cache.layers)
    ((4, 1), 2)
    """
    dtype = check_params(net, params)
    X = freeze(as_input(net, X, dtype), "X")
    pl = plan(net)
    Zs, As = run_forward(pl, pl.views(params.flat), X)
    A_prevs = [X] + As[:-1]
    layers = tuple(LayerCache(a, readonly(z), readonly(y)) for a, z, y in zip(A_prevs, Zs, As))
    return As[-1], Cache(layers)


def cost(net: Network, params: Params, cache: Cache, Y: Any) -> np.floating:
    """``J = loss(Z_L, A_L, Y) + l2/(2m) sum ||W||^2`` as a scalar of the params' dtype."""
    dtype = check_params(net, params)
    out = check_cache(net, cache).layers[-1]
    Y = check_targets(net, Y, out.A.shape, dtype)
    pl = plan(net)
    return run_cost(pl, params.flat, out.Z, out.A, Y)


def backward(net: Network, params: Params, cache: Cache, Y: Any) -> Grads:
    """The exact gradient of ``cost``: ``Grads`` with ``dW``, ``db`` shaped like ``W``, ``b``."""
    dtype = check_params(net, params)
    layers = check_cache(net, cache).layers
    Y = check_targets(net, Y, layers[-1].A.shape, dtype)
    pl = plan(net)
    flat = run_backward(pl, params.flat, pl.views(params.flat), layers[0].A_prev, [c.Z for c in layers], [c.A for c in layers], Y)
    return Grads.from_flat(flat, net.shapes)


def update(params: Params, grads: Grads, learning_rate: float) -> Params:
    """New ``Params``: ``W - lr * dW``, ``b - lr * db``."""
    p, g = flat_pair(params, grads)
    lr = checks.real("learning_rate", learning_rate, minimum=0.0)
    return Params.from_flat(descend(p, g, lr), params.shapes)


def flat_pair(params: Any, grads: Any) -> tuple[np.ndarray, np.ndarray]:
    """The flat vectors of ``params`` and ``grads`` (in the params' dtype), once both are checked."""
    if not isinstance(params, Params):
        raise TypeError(f"params: expected a Params, got {type(params).__name__}")
    if not isinstance(grads, Grads):
        raise TypeError(f"grads: expected a Grads (from fnn.backward), got {type(grads).__name__}")
    if grads.shapes != params.shapes:
        raise ValueError(f"grads: expected shapes {params.shapes} like params, got {grads.shapes}")
    p = params.flat
    return p, grads.flat.astype(p.dtype, copy=False)


def descend(p: np.ndarray, g: np.ndarray, lr: float, out: np.ndarray | None = None) -> np.ndarray:
    """``p - lr * g`` (``lr`` taken in ``p``'s dtype) into ``out`` (a vector like ``p``, not ``p``) or a fresh one."""
    step = np.multiply(g, scalar(lr, p.dtype), out=empty_like(p) if out is None else out)
    return np.subtract(p, step, out=step)
