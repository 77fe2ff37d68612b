"""The frozen records that flow through fnn, and the converter that freezes their arrays.

Every array a record holds is read-only. ``freeze`` copies a writable array before
marking the copy read-only, so a caller's array is never flagged or aliased, and
keeps float32/float64 while turning any other real numeric dtype into float64.

Parameters and gradients live in one contiguous flat vector each (layer by layer,
``W`` row-major then ``b``); the per-layer ``W``/``b`` and ``dW``/``db`` are read-only
views into it. That makes an optimizer update a handful of array operations,
whatever the depth. A ``Params`` built by hand from separate arrays is packed into a
flat vector on first use of ``.flat``.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Iterable

import attrs
import numpy as np

from fnn import checks
from fnn.activations import ACTIVATIONS
from fnn.losses import DEFAULT_LOSS, LOSSES

def freeze(value: Any, name: str = "array") -> np.ndarray:
    """Return a read-only array for ``value``: float32/float64 kept, other real numbers as float64.

    >>> a = np.ones(2); f = freeze(a); f.flags.writeable, a.flags.writeable, f is a
    (False, True, False)
    """
    arr = np.asarray(value)
    if arr.dtype not in checks.FLOATS:
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"{name}: expected a real numeric array, got dtype {arr.dtype}")
        arr = arr.astype(np.float64)
    elif arr.flags.writeable:
        arr = arr.copy()
    arr.flags.writeable = False
    return arr


def frozen_array(name: str) -> Any:
    """An attrs field whose value is frozen by ``freeze`` (errors name the field)."""
    return attrs.field(converter=lambda value: freeze(value, name))


def readonly(arr: np.ndarray) -> np.ndarray:
    """Mark a freshly computed array read-only in place and return it (no copy)."""
    arr.flags.writeable = False
    return arr


def _rebuild(cls: type, kwargs: dict) -> Any:
    return cls(**kwargs)


class Refrozen:
    """Mixin: pickling and ``copy.deepcopy`` rebuild the record through its constructor, so its
    arrays come back frozen (plain pickling of an array drops the read-only flag)."""

    __slots__ = ()

    def __reduce__(self):
        return _rebuild, (type(self), {f.alias: getattr(self, f.name) for f in attrs.fields(type(self)) if f.init})


def _as_tuple(value: Any) -> tuple:
    return tuple(value)


# --- the network ---------------------------------------------------------------------------


@attrs.frozen
class Dense:
    """A dense layer ``Z = A_prev @ W + b``, ``A = g(Z)``; ``W``: (n_in, n_out), ``b``: (n_out,).

    ``dropout``: the probability of dropping each output unit in training, ``0 <= dropout < 1``
    (inverted dropout: ``A = g(Z) * keep / (1 - dropout)``, see ``fnn.forward``'s ``key``).
    """

    n_in: int
    n_out: int
    activation: str = "relu"
    use_bias: bool = True
    dropout: float = 0.0

    def __attrs_post_init__(self) -> None:
        checks.width("n_in", self.n_in)
        checks.width("n_out", self.n_out)
        checks.known("activation", self.activation, ACTIVATIONS)
        checks.flag("use_bias", self.use_bias)
        p = checks.real("dropout", self.dropout, minimum=0.0)
        if p >= 1:
            raise ValueError(f"dropout: expected a probability 0 <= dropout < 1, got {self.dropout!r}")


@attrs.frozen
class Network:
    """A stack of dense layers with a loss and an L2 coefficient (``l2 >= 0``)."""

    layers: tuple = attrs.field(converter=_as_tuple)
    loss: str = "mean_squared_error"
    l2: float = 0.0

    def __attrs_post_init__(self) -> None:
        _check_network(self)

    @property
    def shapes(self) -> tuple[tuple[tuple[int, int], tuple[int]], ...]:
        """``((W shape, b shape), ...)`` layer by layer."""
        return tuple(((d.n_in, d.n_out), (d.n_out,)) for d in self.layers)

    @property
    def n_params(self) -> int:
        """Number of entries in the flat parameter vector (biases of bias-free layers included)."""
        return sum(d.n_in * d.n_out + d.n_out for d in self.layers)


def _check_network(net: Network) -> None:
    layers = net.layers
    if not layers or not all(isinstance(d, Dense) for d in layers):
        raise TypeError(f"layers: expected a non-empty tuple of Dense, got {layers!r}")
    for i, (a, b) in enumerate(zip(layers, layers[1:])):
        if a.n_out != b.n_in:
            raise ValueError(f"layers[{i + 1}].n_in: expected {a.n_out} (layers[{i}].n_out), got {b.n_in}")
    for i, d in enumerate(layers[:-1]):
        if d.activation == "softmax":
            raise ValueError(f"layers[{i}].activation: expected softmax on the output layer only, got it on hidden layer {i}")
    out = layers[-1]
    if out.dropout:
        raise ValueError(f"layers[-1].dropout: expected 0 on the output layer (dropout is for hidden layers), got {out.dropout!r}")
    if out.activation == "softmax" and out.n_out < 2:
        raise ValueError(f"layers[-1].n_out: expected >= 2 units for softmax, got {out.n_out}; use sigmoid for one unit")
    loss = checks.known("loss", net.loss, LOSSES)
    if out.activation not in loss.allowed:
        raise ValueError(
            f"loss: expected a loss allowed for a {out.activation} output "
            f"({sorted(n for n, l in LOSSES.items() if out.activation in l.allowed)}), got {net.loss!r}"
        )
    checks.real("l2", net.l2, minimum=0.0)


def network(sizes, hidden: str = "relu", output: str = "sigmoid", loss: str | None = None, l2: float = 0.0,
            dropout: float = 0.0) -> Network:
    """A ``Network`` from widths ``[n_x, n_1, ..., n_out]``: ``hidden`` everywhere but the last layer.

    ``loss=None`` picks binary cross-entropy for sigmoid, categorical cross-entropy for softmax,
    mean squared error otherwise. ``dropout`` is every hidden layer's.

    >>> net = network([2, 3, 1]); [(d.n_in, d.n_out, d.activation) for d in net.layers], net.loss
    ([(2, 3, 'relu'), (3, 1, 'sigmoid')], 'binary_cross_entropy')
    """
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Iterable):
        raise TypeError(f"sizes: expected a list of widths such as [2, 25, 1], got {type(sizes).__name__} {sizes!r}")
    sizes = list(sizes)
    if len(sizes) < 2:
        raise ValueError(f"sizes: expected a list of at least two widths such as [2, 25, 1], got {sizes!r}")
    for i, n in enumerate(sizes):
        checks.width(f"sizes[{i}]", n)
    checks.known("hidden", hidden, ACTIVATIONS)
    checks.known("output", output, ACTIVATIONS)
    if loss is None:
        loss = DEFAULT_LOSS.get(output, "mean_squared_error")
    acts = [hidden] * (len(sizes) - 2) + [output]
    rates = [dropout] * (len(sizes) - 2) + [0.0]
    return Network(tuple(Dense(a, b, g, dropout=p) for a, b, g, p in zip(sizes, sizes[1:], acts, rates)), loss, l2)


# --- parameters and gradients: per-layer views into one flat vector -------------------------


def spans(shapes) -> tuple[tuple[int, int, int, tuple[int, int]], ...]:
    """``(start, end of W, end of b, W shape)`` of each layer in the flat vector, for
    ``shapes = ((W shape, b shape), ...)``: ``W`` row-major, then ``b``.

    >>> spans((((2, 3), (3,)), ((3, 1), (1,))))
    ((0, 6, 9, (2, 3)), (9, 12, 13, (3, 1)))
    """
    out, pos = [], 0
    for w_shape, (n_b,) in shapes:
        end = pos + w_shape[0] * w_shape[1]
        out.append((pos, end, end + n_b, w_shape))
        pos = end + n_b
    return tuple(out)


def views(flat: np.ndarray, layer_spans) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``(W, b, Wb)`` views of ``flat`` at ``layer_spans`` (see ``spans``), writable if ``flat`` is;
    ``Wb`` is the ``(n_in + 1, n_out)`` block ``[W; b]`` that the layout stores."""
    out = []
    for start, _, end, (n_in, n_out) in layer_spans:
        Wb = flat[start:end].reshape(n_in + 1, n_out)
        out.append((Wb[:-1], Wb[-1], Wb))
    return out


def split(flat: np.ndarray, shapes) -> list[tuple[np.ndarray, np.ndarray]]:
    """Read-only ``(W, b)`` views of ``flat`` for ``shapes = ((W shape, b shape), ...)``."""
    if flat.flags.writeable:
        flat = readonly(flat.view())
    return [(W, b) for W, b, _ in views(flat, spans(shapes))]


def _pack(pairs: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    dtype = np.result_type(*(a for pair in pairs for a in pair))
    return readonly(np.concatenate([a.ravel() for pair in pairs for a in pair]).astype(dtype, copy=False))


def _optional_tuple(value: Any) -> tuple | None:
    return None if value is None else tuple(value)


def _layers_field() -> Any:
    """``layers``: given, or built on first use from ``flat`` and ``shapes`` (``from_flat``)."""
    return attrs.field(default=None, alias="layers", converter=_optional_tuple, repr=False)


def _flat_field(alias: str) -> Any:
    return attrs.field(default=None, kw_only=True, alias=alias, repr=False)


class _Flat(Refrozen):
    """Mixin for a tuple of per-layer pairs that can be viewed as one flat vector.

    A record made by ``from_flat`` holds only the vector and the shapes; its per-layer records
    are built on first use of ``layers``, so a training step builds none that nobody reads.
    """

    __slots__ = ()
    _layer_type: type
    _names: tuple[str, str]

    def __attrs_post_init__(self) -> None:
        if self._layers is not None:  # given layers win (attrs.evolve passes the old vector along)
            object.__setattr__(self, "_flat", None)
            object.__setattr__(self, "_shapes", None)
        elif self._flat is None or self._shapes is None:
            raise TypeError(f"layers: expected a tuple of {self._layer_type.__name__}, got None")

    @property
    def layers(self) -> tuple:
        if self._layers is None:
            layer = self._layer_type
            object.__setattr__(self, "_layers", tuple(layer(a, b) for a, b in split(self._flat, self._shapes)))
        return self._layers

    @property
    def is_flat(self) -> bool:
        """True when built from a flat vector (``from_flat``): ``pairs`` are then views of it."""
        return self._shapes is not None

    def pairs(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """``[(W, b), ...]`` (or ``(dW, db)``) layer by layer."""
        if self._shapes is not None:
            return split(self._flat, self._shapes)
        w, b = self._names
        return [(getattr(layer, w), getattr(layer, b)) for layer in self._layers]

    @property
    def flat(self) -> np.ndarray:
        """All arrays as one read-only vector, layer by layer (``W`` row-major, then ``b``)."""
        if self._flat is None:
            object.__setattr__(self, "_flat", _pack(self.pairs()))
        return self._flat

    @property
    def dtype(self) -> np.dtype:
        return self._flat.dtype if self._flat is not None else self.pairs()[0][0].dtype

    @property
    def shapes(self) -> tuple:
        if self._shapes is not None:
            return self._shapes
        return tuple((a.shape, b.shape) for a, b in self.pairs())

    def __repr__(self) -> str:
        return f"{type(self).__name__}(layers={self.layers!r})"

    def __reduce__(self):
        if self._layers is None:
            return owning, (type(self), self._flat, self._shapes)
        return _rebuild, (type(self), {"layers": self._layers})

    @classmethod
    def from_flat(cls, flat: Any, shapes) -> Any:
        """Build the record from a flat vector laid out like ``flat`` (``W`` row-major, then ``b``,
        layer by layer) and the per-layer ``shapes``; a writable ``flat`` is copied, never flagged.

        >>> p = Params.from_flat(np.arange(3.0), (((2, 1), (1,)),)); p.layers[0].W.tolist(), p.layers[0].b.tolist()
        ([[0.0], [1.0]], [2.0])
        """
        flat = freeze(flat, "flat")
        shapes = tuple(tuple(map(tuple, pair)) for pair in shapes)
        size = sum(w[0] * w[1] + b[0] for w, b in shapes)
        if flat.shape != (size,):
            raise ValueError(f"flat: expected shape ({size},) for shapes {shapes}, got {flat.shape}")
        return owning(cls, flat, shapes)


def owning(cls: type, flat: np.ndarray, shapes: tuple) -> Any:
    """A ``Params`` or ``Grads`` that owns ``flat``, a fresh vector nobody else holds (made
    read-only, not copied): what a step builds per update, set slot by slot (attrs' ``__init__``
    and its converters would be most of its cost)."""
    flat.flags.writeable = False
    rec = object.__new__(cls)
    _set(rec, "_layers", None)
    _set(rec, "_flat", flat)
    _set(rec, "_shapes", shapes)
    return rec


_set = object.__setattr__


@attrs.frozen(eq=False)
class LayerParams(Refrozen):
    """``W``: (n_in, n_out), ``b``: (n_out,)."""

    W: np.ndarray = frozen_array("W")
    b: np.ndarray = frozen_array("b")


@attrs.frozen(eq=False, slots=True, repr=False)
class Params(_Flat):
    """The parameters of a network, one ``LayerParams`` per layer."""

    _layer_type = LayerParams
    _names = ("W", "b")
    _layers: tuple | None = _layers_field()
    _flat: np.ndarray | None = _flat_field("flat")
    _shapes: tuple | None = _flat_field("shapes")


@attrs.frozen(eq=False)
class LayerGrads(Refrozen):
    """``dW``, ``db``: the gradient of the cost, shaped like ``W`` and ``b``."""

    dW: np.ndarray = frozen_array("dW")
    db: np.ndarray = frozen_array("db")


@attrs.frozen(eq=False, slots=True, repr=False)
class Grads(_Flat):
    """The gradient of the cost, one ``LayerGrads`` per layer."""

    _layer_type = LayerGrads
    _names = ("dW", "db")
    _layers: tuple | None = _layers_field()
    _flat: np.ndarray | None = _flat_field("flat")
    _shapes: tuple | None = _flat_field("shapes")


def _optional_frozen(name: str) -> Any:
    return attrs.field(default=None, converter=lambda value: None if value is None else freeze(value, name))


@attrs.frozen(eq=False)
class LayerCache(Refrozen):
    """What backward needs of one layer: ``A_prev`` (m, n_in), ``Z`` and ``A`` (m, n_out); ``mask``
    (m, n_out), when the layer dropped units: ``keep / (1 - dropout)``, and then ``A = g(Z) * mask``."""

    A_prev: np.ndarray = frozen_array("A_prev")
    Z: np.ndarray = frozen_array("Z")
    A: np.ndarray = frozen_array("A")
    mask: np.ndarray | None = _optional_frozen("mask")


@attrs.frozen(eq=False)
class Cache(Refrozen):
    """The forward pass, one ``LayerCache`` per layer."""

    layers: tuple = attrs.field(converter=_as_tuple)


# --- optimizers and training -------------------------------------------------------------


@attrs.frozen
class Optimizer:
    """A pure pair: ``init(params) -> opt_state``, ``update(params, grads, opt_state) -> (params, opt_state)``.

    ``name`` and ``hyperparams`` describe how it was built (``fnn.adam(1e-3)`` has
    ``name="adam"``), so that it can be stored and rebuilt.
    """

    init: Callable
    update: Callable
    name: str = "custom"
    hyperparams: tuple = attrs.field(default=(), converter=lambda d: tuple(dict(d).items()))

    def __reduce__(self):
        """Pickle a built-in optimizer by ``name`` and ``hyperparams`` (its functions are closures)."""
        from fnn.optimizers import OPTIMIZERS

        if self.name not in OPTIMIZERS:
            return super().__reduce__()
        return _optimizer_by_name, (self.name, self.hyperparams)


def _optimizer_by_name(name: str, hyperparams: tuple) -> Optimizer:
    from fnn.optimizers import OPTIMIZERS

    return OPTIMIZERS[name](**dict(hyperparams))


@attrs.frozen(eq=False)
class TrainState(Refrozen):
    """``params``; ``opt_state``; ``step`` (updates applied so far); ``loss`` (cost of the last batch, nan when fresh).

    ``optimizer`` (keyword only) is the ``Optimizer`` that made ``opt_state``, when known, so
    that ``fit(..., state=state)`` and checkpoints can continue with the same one.
    """

    params: Params
    opt_state: Any
    step: int = 0
    loss: float = math.nan
    optimizer: Optimizer | None = attrs.field(default=None, kw_only=True, repr=False)


@attrs.frozen(eq=False)
class FitResult(Refrozen):
    """The final ``state`` and ``losses``, one float per step (read-only float64 array).

    ``history`` (keyword only) is the per-epoch ``fnn.History`` when ``fit`` ran by epochs
    (validation, early stopping or progress), else ``None``.
    """

    state: TrainState
    losses: np.ndarray = frozen_array("losses")
    history: Any = attrs.field(default=None, kw_only=True)
