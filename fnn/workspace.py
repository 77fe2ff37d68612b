"""Scratch for the kernels: every intermediate array of one step, reused from step to step.

A training step's intermediates (``Z``, ``A``, the activations' scratch, ``dA``, the flat
gradient) never leave it: ``fnn.train_step`` keeps a ``Workspace`` per batch shape and dtype and
the kernels write into it in place, so a step allocates only what it returns (new params,
optimizer moments). The public stages pass no workspace and get fresh arrays, which the records
they return then own.

A workspace is lent to one step at a time (``Workspaces.take`` / ``give``, whose list
operations are atomic), so steps running at once in several threads never share one; ``fit``'s
fold takes one per batch size for all its steps and gives them back at its end.
"""
from __future__ import annotations

import numpy as np


def order(pl, m: int) -> str:
    """The memory order of the ``(m, n)`` intermediates of ``m`` rows: ``"F"`` (each unit's column
    contiguous, the tutorials' column layout) when ``m`` is at least ``4 *`` the widest layer, else
    ``"C"``. Along a long contiguous column, bias adds and row-wise reductions of narrow layers
    stream, and the products of a tall batch with small weights run faster in BLAS."""
    return "F" if m >= 4 * pl.widest else "C"


def augmented(pl, m: int) -> tuple[bool, ...]:
    """Per layer: whether it reads its input with a column of ones appended, ``Z = [A_prev, 1] @ [W; b]``
    (``[W; b]``, ``(n_in + 1, n_out)``, is how the flat vector stores a layer), which spares the
    bias add and makes ``[dW; db]`` one product. In column order only (the first ``n`` columns
    of an F-ordered ``(m, n + 1)`` array are contiguous), for layers with a bias: every later
    layer, whose input is written there in place, and the first when ``n_in <= n_out``, as its
    input ``X`` is copied there, which then costs less than the bias add it spares."""
    col = order(pl, m) == "F"
    return tuple(col and bias and (i > 0 or w[0] <= w[1]) for i, (bias, (w, _)) in enumerate(zip(pl.bias, pl.shapes)))


def outputs(pl, m: int, dtype: np.dtype) -> tuple[list[np.ndarray], list[np.ndarray | None]]:
    """Fresh activation arrays ``A[l]`` in ``order(pl, m)``, and per layer ``l`` that is ``augmented``
    its input block ``blocks[l]``, the ``(m, n_in + 1)`` array ``[A[l - 1], 1]`` (``[X, 1]`` for the
    first), whose first ``n_in`` columns ``A[l - 1]`` is (``X`` is copied in by the forward pass)."""
    layout, aug = order(pl, m), augmented(pl, m)
    blocks = [None] * len(aug)
    for l, (w, _) in enumerate(pl.shapes):
        if aug[l]:
            blocks[l] = np.empty((m, w[0] + 1), dtype, order="F")
            blocks[l][:, -1] = 1
    As = [np.empty((m, w[1]), dtype, order=layout) if l + 1 == len(aug) or not aug[l + 1] else blocks[l + 1][:, :-1]
          for l, (w, _) in enumerate(pl.shapes)]
    return As, blocks


def decay_rates(pl, m: int, dtype: np.dtype) -> np.ndarray:
    """``(n_params,)``, read-only: ``l2/m`` at the ``W`` entries of the flat layout, 0 at the ``b``
    entries, so that ``rates * flat`` is the gradient of the L2 term ``l2/(2m) sum ||W||^2``."""
    rates = np.zeros(pl.n_params, dtype)
    for start, end_w, _, _ in pl.spans:
        rates[start:end_w] = pl.l2 / m
    rates.flags.writeable = False
    return rates


def block(A: np.ndarray) -> np.ndarray:
    """``[A, 1]`` as a fresh F-ordered ``(m, n + 1)`` array."""
    full = np.empty((A.shape[0], A.shape[1] + 1), A.dtype, order="F")
    full[:, :-1] = A
    full[:, -1] = 1
    return full


class Workspace:
    """Arrays for ``m`` rows of ``dtype`` through the layers of a plan (``fnn.stages.Plan``).

    Per layer ``l`` of width ``n``: ``Z[l]``, ``A[l]`` and ``dA[l]``, all ``(m, n)`` in the memory
    order ``order`` picks for ``m``; ``blocks[l]``, layer ``l``'s input block when it is
    ``augmented`` (``aug``, see ``outputs``); ``aux[l]``, the activation's ``scratch``; when
    ``l2 > 0``, ``rates`` (``decay_rates`` for ``m``) and ``decay``, the L2 term's flat scratch;
    ``grad``, the flat gradient (zero where nothing writes), and ``grads``, its per-layer
    ``(dW, db, [dW; db])`` views.

    While lent to a training step it also carries that step from stage to stage: the ``carry``
    it started from (``fnn.training.Carry``) and the ``TrainState`` it was ``given``, if any, the
    batch ``X``, ``Y``, the ``passes`` bound to the params (``fnn.stages.step_passes``), the
    ``loss``, the gradient ``g`` the update reads and the vector ``out`` it may write the new params to.
    """

    __slots__ = ("m", "dtype", "Z", "A", "blocks", "aug", "aux", "dA", "rates", "decay", "grad", "grads",
                 "carry", "given", "X", "Y", "passes", "loss", "g", "out")

    def __init__(self, pl, m: int, dtype: np.dtype):
        self.m, self.dtype = m, dtype
        layout = order(pl, m)
        widths = [w[1] for w, _ in pl.shapes]
        self.Z, self.dA = ([np.empty((m, n), dtype, order=layout) for n in widths] for _ in range(2))
        self.A, self.blocks = outputs(pl, m, dtype)
        self.aug = augmented(pl, m)
        self.aux = [act.scratch((m, n), dtype, order=layout) for act, n in zip(pl.acts, widths)]
        self.rates = decay_rates(pl, m, dtype) if pl.l2 else None
        self.decay = np.empty(pl.n_params, dtype) if pl.l2 else None
        self.grad = np.zeros(pl.n_params, dtype)
        self.grads = pl.views(self.grad)
        self.release()

    def release(self) -> None:
        """Drop the step in flight: ``carry``, ``given``, the batch ``X``, ``Y``, ``passes``, ``loss``, ``g``, ``out``."""
        self.carry = self.given = self.X = self.Y = self.passes = self.loss = self.g = self.out = None


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
