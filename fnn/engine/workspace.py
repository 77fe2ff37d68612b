"""``Workspace``: every array a training step writes for one batch shape and dtype, reused step after step."""
from __future__ import annotations

import numpy as np

from fnn.activations import ones
from fnn.engine.program import Program, bind


def weight_mask(pl, dtype: np.dtype) -> np.ndarray:
    """``(n_params,)``: 1 at the ``W`` entries of the flat layout, 0 at the ``b`` entries."""
    mask = np.zeros(pl.n_params, dtype)
    for start, end_w, _, _ in pl.spans:
        mask[start:end_w] = 1
    return mask


def decay_rates(mask: np.ndarray, rate, out: np.ndarray | None = None) -> np.ndarray:
    """``mask * rate``: ``rate = l2/m`` at every ``W`` entry, 0 at every ``b``, so that ``rates * flat``
    is the gradient of the L2 term ``l2/(2m) sum ||W||^2`` (``m`` is ``sum(w)`` with sample weights)."""
    return np.multiply(mask, mask.dtype.type(rate), out=out)


def outputs(pl, m: int, dtype: np.dtype) -> tuple[list[np.ndarray], list[np.ndarray | None]]:
    """Activation arrays ``A[l]`` in ``pl.order(m)``, and per ``augmented`` layer ``l`` its input
    block ``blocks[l]``, the F-ordered ``(m, n_in + 1)`` array ``[A[l - 1], 1]`` (``[X, 1]`` for the
    first, into which the forward pass copies ``X``), whose first ``n_in`` columns ``A[l - 1]`` is."""
    layout, aug = pl.order(m), pl.augmented(m)
    blocks = [None] * len(aug)
    for l, (w, _) in enumerate(pl.shapes):
        if aug[l]:
            blocks[l] = np.empty((m, w[0] + 1), dtype, order="F")
            blocks[l][:, -1] = 1
    As = [np.empty((m, w[1]), dtype, order=layout) if l + 1 == len(aug) or not aug[l + 1] else blocks[l + 1][:, :-1]
          for l, (w, _) in enumerate(pl.shapes)]
    return As, blocks


class Workspace:
    """The arrays of a step of ``m`` rows of ``dtype`` through the layers of a plan.

    Per layer ``l`` of width ``n``: ``Z[l]``, ``A[l]``, ``dA[l]``, all ``(m, n)`` in the memory order
    ``pl.order(m)``; ``blocks[l]``, its input block when it is ``augmented`` (``aug``, see
    ``outputs``); ``aux[l]``, the activation's scratch. ``grad``: the flat gradient (zero where
    nothing writes) and ``grads``, its per-layer ``(dW, db, [dW; db])`` views; with ``l2 > 0``,
    ``rates`` (``decay_rates``) and ``decay``, the L2 term's scratch. ``slots``: two params vectors
    a step reads its params from, each with its ``Program`` (``program(i)``, bound on first use);
    ``unit``, ones like them (a finiteness check's dot product).
    ``weighted``: for batches with sample weights, ``factor`` (m,), each sample's share of the
    output delta, and ``mask`` (``weight_mask``), from which each step's ``rates`` are made.
    Per layer with dropout: ``G[l]``, its activation ``g(Z)`` before the dropout mask ``M[l]``
    (drawn each step), ``A[l] = G[l] * M[l]``; ``None`` for the others.
    """

    __slots__ = ("pl", "m", "dtype", "weighted", "Z", "A", "blocks", "aug", "aux", "dA", "rates", "decay", "grad", "grads",
                 "slots", "programs", "factor", "mask", "G", "M", "unit")

    def __init__(self, pl, m: int, dtype: np.dtype, weighted: bool = False):
        self.pl, self.m, self.dtype, self.weighted = pl, m, dtype, weighted
        layout = pl.order(m)
        widths = [w[1] for w, _ in pl.shapes]
        self.Z, self.dA = ([np.empty((m, n), dtype, order=layout) for n in widths] for _ in range(2))
        self.A, self.blocks = outputs(pl, m, dtype)
        self.aug = pl.augmented(m)
        self.aux = [act.scratch((m, n), dtype, order=layout) for act, n in zip(pl.acts, widths)]
        self.G, self.M = ([np.empty((m, n), dtype, order=layout) if p else None for p, n in zip(pl.drops, widths)] for _ in range(2))
        self.factor = np.empty(m, dtype) if weighted else None
        self.mask = weight_mask(pl, dtype) if pl.l2 else None
        self.rates = decay_rates(self.mask, pl.l2 / m) if pl.l2 else None
        self.decay = np.empty(pl.n_params, dtype) if pl.l2 else None
        self.grad = np.zeros(pl.n_params, dtype)
        self.grads = pl.views(self.grad)
        self.slots = (np.empty(pl.n_params, dtype), np.empty(pl.n_params, dtype))
        self.unit = ones(pl.n_params, dtype)
        self.programs: list[Program | None] = [None, None]

    def program(self, i: int) -> Program:
        """The ``Program`` bound to this workspace and ``slots[i]``."""
        prog = self.programs[i]
        if prog is None:
            prog = self.programs[i] = bind(self.pl, self, self.slots[i])
        return prog

    def slot_of(self, flat: np.ndarray) -> int:
        """The slot holding ``flat``: ``0`` or ``1`` when ``flat`` is one, else ``flat`` is copied into slot 0."""
        if flat is self.slots[1]:
            return 1
        if flat is not self.slots[0]:
            np.copyto(self.slots[0], flat)
        return 0


class Workspaces:
    """The free workspaces of one plan, by ``(m, dtype, weighted)``; ``take`` makes one when none is
    free. ``take`` and ``give`` are atomic list operations, so steps in several threads never share one."""

    def __init__(self, pl):
        self.pl = pl
        self.free: dict[tuple, list[Workspace]] = {}

    def take(self, m: int, dtype: np.dtype, weighted: bool = False) -> Workspace:
        try:
            return self.free[(m, dtype, weighted)].pop()
        except (KeyError, IndexError):
            return Workspace(self.pl, m, dtype, weighted)

    def give(self, ws: Workspace) -> None:
        self.free.setdefault((ws.m, ws.dtype, ws.weighted), []).append(ws)
