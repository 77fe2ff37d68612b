"""Learning-rate schedules: frozen callables ``k -> lr`` of the update count ``k`` (0 at the first update).

Every rate is a finite number ``>= 0``.

They are records (name and numbers), so a checkpoint can store and rebuild them.

>>> step_decay(0.1, 0.5, 10)(25)
0.025
"""
from __future__ import annotations


import attrs

from fnn import checks


def _nonneg(name):
    return lambda inst, attr, value: checks.real(name, value, minimum=0.0)


def _every(inst, attr, value):
    checks.integer("every", value, minimum=1)


@attrs.frozen
class constant:
    """``lr``."""

    lr: float = attrs.field(validator=_nonneg("lr"))

    def __call__(self, k: int) -> float:
        return float(self.lr)


@attrs.frozen
class step_decay:
    """``lr0 * factor ** floor(k / every)``."""

    lr0: float = attrs.field(validator=_nonneg("lr0"))
    factor: float = attrs.field(validator=_nonneg("factor"))
    every: int = attrs.field(validator=_every)

    def __call__(self, k: int) -> float:
        return float(self.lr0) * float(self.factor) ** (k // self.every)


@attrs.frozen
class exponential_decay:
    """``lr0 * rate ** (k / every)``."""

    lr0: float = attrs.field(validator=_nonneg("lr0"))
    rate: float = attrs.field(validator=_nonneg("rate"))
    every: int = attrs.field(validator=_every)

    def __call__(self, k: int) -> float:
        return float(self.lr0) * float(self.rate) ** (k / self.every)


@attrs.frozen
class inverse_time_decay:
    """``lr0 / (1 + rate * floor(k / every))``."""

    lr0: float = attrs.field(validator=_nonneg("lr0"))
    rate: float = attrs.field(validator=_nonneg("rate"))
    every: int = attrs.field(validator=_every)

    def __call__(self, k: int) -> float:
        return float(self.lr0) / (1.0 + float(self.rate) * (k // self.every))


SCHEDULES = {cls.__name__: cls for cls in (constant, step_decay, exponential_decay, inverse_time_decay)}


def as_schedule(learning_rate) -> "callable":
    """A schedule for ``learning_rate``: a float ``>= 0`` becomes ``constant`` (0 is allowed, as in
    PyTorch and optax: a warm-up starts there); a callable is kept."""
    if callable(learning_rate):
        return learning_rate
    return constant(checks.real("learning_rate", learning_rate, minimum=0.0))


def rate_at(schedule, k: int) -> float:
    """``schedule(k)`` checked: a finite number ``>= 0``."""
    lr = schedule(k)
    try:
        return checks.real("learning_rate", lr, minimum=0.0)
    except (TypeError, ValueError) as err:
        raise type(err)(f"{err} (the schedule's value at update {k})") from None
