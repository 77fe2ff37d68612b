"""Scratch for the kernels: every intermediate array of one step, reused from step to step.

A training step's intermediates (``Z``, ``A``, the activations' scratch, ``dA``, the flat
gradient) never leave it: ``fnn.train_step`` keeps a ``Workspace`` per batch shape and dtype and
the kernels write into it in place, so a step allocates only what it returns (new params,
optimizer moments). The public stages pass no workspace and get fresh arrays, which the records
they return then own.

A workspace is lent to one step at a time (``Workspaces.take`` / ``give``, whose list
operations are atomic), so steps running at once in several threads never share one.
"""
from __future__ import annotations

import numpy as np


class Workspace:
    """Arrays for ``m`` rows of ``dtype`` through the layers of a plan (``fnn.stages.Plan``).

    Per layer ``l`` of width ``n``: ``Z[l]``, ``A[l]`` and ``dA[l]``, all ``(m, n)`` in the memory
    order ``fnn.stages.order`` picks for ``m``, and ``aux[l]``, the activation's ``scratch``; ``decay[l]`` shaped like ``W`` (the L2 term's scratch, only
    when ``l2 > 0``); ``grad``, the flat gradient (zero where nothing writes), and ``grads``,
    its per-layer ``(dW, db)`` views.

    While lent to a training step it also carries that step from stage to stage: the ``state``
    it started from, the batch ``X``, ``Y``, the params' ``pairs``, the ``loss`` and the
    gradient ``g`` the update reads.
    """

    __slots__ = ("m", "dtype", "Z", "A", "aux", "dA", "decay", "grad", "grads", "state", "X", "Y", "pairs", "loss", "g")

    def __init__(self, pl, m: int, dtype: np.dtype):
        from fnn.stages import order  # the kernels' module, which imports this one

        self.m, self.dtype = m, dtype
        layout = order(pl, m)
        widths = [w[1] for w, _ in pl.shapes]
        self.Z, self.A, self.dA = ([np.empty((m, n), dtype, order=layout) for n in widths] for _ in range(3))
        self.aux = [act.scratch((m, n), dtype, order=layout) for act, n in zip(pl.acts, widths)]
        self.decay = [np.empty(w, dtype) for w, _ in pl.shapes] if pl.l2 else None
        self.grad = np.zeros(pl.n_params, dtype)
        self.grads = pl.views(self.grad)
        self.release()

    def release(self) -> None:
        """Drop the step in flight: ``state``, the batch ``X``, ``Y``, the params' ``pairs``, ``loss``, ``g``."""
        self.state = self.X = self.Y = self.pairs = self.loss = self.g = None


class Workspaces:
    """The free workspaces of one plan, by ``(m, dtype)``; ``take`` makes one when none is free."""

    def __init__(self, pl):
        self.pl = pl
        self.free: dict[tuple[int, np.dtype], list[Workspace]] = {}

    def take(self, m: int, dtype: np.dtype) -> Workspace:
        try:
            return self.free[(m, dtype)].pop()
        except (KeyError, IndexError):
            return Workspace(self.pl, m, dtype)

    def give(self, ws: Workspace) -> None:
        """Hand ``ws`` back once nothing of the step refers to its arrays any more."""
        self.free.setdefault((ws.m, ws.dtype), []).append(ws)
