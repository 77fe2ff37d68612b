"""``Plan``: what the engine needs of a network, looked up once, and the layout it picks per batch size."""
from __future__ import annotations

import attrs
import numpy as np

from fnn.activations import ACTIVATIONS, Activation
from fnn.losses import LOSSES, Loss
from fnn.records import Network, spans, views


@attrs.frozen
class Plan:
    """Per layer the ``Activation``, bias flag and dropout rate; the ``Loss``, ``l2``, the params'
    ``shapes`` and ``n_params``; ``spans`` of each layer in the flat vector; ``widest``, the widest layer."""

    acts: tuple[Activation, ...]
    bias: tuple[bool, ...]
    drops: tuple[float, ...]
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

    def order(self, m: int) -> str:
        """The memory order of the ``(m, n)`` intermediates of ``m`` rows: ``"F"`` (each unit's column
        contiguous, the tutorials' samples-in-columns layout) when ``m`` is at least ``4 *`` the
        widest layer, else ``"C"``. Along a long contiguous column, bias adds and row-wise reductions
        of narrow layers stream, and the products of a tall batch with small weights run faster."""
        return "F" if m >= 4 * self.widest else "C"

    def augmented(self, m: int) -> tuple[bool, ...]:
        """Per layer: whether it reads its input with a column of ones appended, ``Z = [A_prev, 1] @
        [W; b]`` (``[W; b]``, ``(n_in + 1, n_out)``, is how the flat vector stores a layer), which
        spares the bias add and makes ``[dW; db]`` one product. In column order only (the first ``n``
        columns of an F-ordered ``(m, n + 1)`` array are contiguous), for layers with a bias: every
        later layer, whose input is written there in place, and the first when ``n_in <= n_out``,
        as copying ``X`` there then costs less than the bias add it spares."""
        col = self.order(m) == "F"
        return tuple(col and bias and (i > 0 or w[0] <= w[1]) for i, (bias, (w, _)) in enumerate(zip(self.bias, self.shapes)))


def plan(net: Network) -> Plan:
    """The ``Plan`` of ``net``."""
    return Plan(
        tuple(ACTIVATIONS[d.activation] for d in net.layers),
        tuple(d.use_bias for d in net.layers),
        tuple(float(d.dropout) for d in net.layers),
        LOSSES[net.loss],
        float(net.l2),
        net.shapes,
        net.n_params,
    )
