"""Optimizers as pure pairs, as in optax: ``init(params) -> state``, ``update(params, grads, state)``.

All arithmetic runs on the flat parameter and gradient vectors (an optimizer's ``update`` is a
``FlatUpdate``), so an update is a handful of array operations whatever the depth. ``count`` is the number of updates applied; the learning
rate of an update is ``schedule(count)`` (``k = 0`` first) and Adam's ``t = count + 1``::

    sgd:      p -= lr * g;   with momentum mu > 0 (PyTorch's SGD): v = mu*v + g;  p -= lr * v
              (nesterov: p -= lr * (g + mu*v), with the new v)
    momentum: v = beta*v + (1-beta)*g;            p -= lr * v
    rmsprop:  s = beta*s + (1-beta)*g^2;          p -= lr * g / (sqrt(s) + eps)
    adam:     m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2;
              p -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)

For stacked members (``fnn.members``) the same updates run on ``(K, n_params)`` vectors; a
hyperparameter may then be per member, a 1-D array of ``K`` numbers (``adam(np.array([1e-3, 1e-2]))``),
applied to member ``k``'s row as its ``(K, 1)`` column broadcasts. A number keeps the single path.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import attrs
import numpy as np

from fnn import checks
from fnn.engine.pool import empty_like
from fnn.records import Optimizer, Params, Refrozen, frozen_array, owning, readonly
from fnn.schedules import as_schedule, constant, rate_at
from fnn.activations import scalar
from fnn.stages import flat_pair


@attrs.frozen(eq=False)
class SgdState(Refrozen):
    count: int = 0


@attrs.frozen(eq=False)
class SgdMomentumState(Refrozen):
    count: int
    velocity: np.ndarray = frozen_array("velocity")


@attrs.frozen(eq=False)
class MomentumState(Refrozen):
    count: int
    velocity: np.ndarray = frozen_array("velocity")


@attrs.frozen(eq=False)
class RmspropState(Refrozen):
    count: int
    square: np.ndarray = frozen_array("square")


@attrs.frozen(eq=False)
class AdamState(Refrozen):
    count: int
    mu: np.ndarray = frozen_array("mu")
    nu: np.ndarray = frozen_array("nu")


def _zeros(params: Params) -> np.ndarray:
    return readonly(np.zeros_like(params.flat))


@attrs.frozen
class FlatUpdate:
    """An optimizer's update as arithmetic on flat vectors: ``apply(p, g, state, out=None) -> (new p,
    new state)``, with ``p`` and ``g`` of one dtype; ``new p`` is written into ``out`` (a writable
    vector like ``p``, not ``p`` itself) or a fresh vector, and ``new state`` is a fresh
    ``state_type`` record that holds no reference to ``g``. Called with records it is the pure
    ``update(params, grads, state) -> (params, state)``; the engine calls ``apply`` directly."""

    state_type: type
    apply: Callable[..., tuple[np.ndarray, Any]]

    def check(self, state: Any) -> Any:
        if not isinstance(state, self.state_type):
            raise TypeError(
                f"opt_state: expected a {self.state_type.__name__} from this optimizer's init, got {type(state).__name__}"
            )
        return state

    def __call__(self, params: Params, grads: Any, state: Any) -> tuple[Params, Any]:
        p, g = flat_pair(params, grads)
        flat, state = self.apply(p, g, self.check(state))
        return owning(Params, flat, params.shapes), state


def _optimizer(name: str, hyperparams: dict, init: Callable, state_type: type, apply: Callable) -> Optimizer:
    """An ``Optimizer`` whose ``update`` is the ``FlatUpdate`` of ``apply``."""
    return Optimizer(init, FlatUpdate(state_type, apply), name, hyperparams)


def descend(p: np.ndarray, g: np.ndarray, lr: Any, out: np.ndarray | None = None) -> np.ndarray:
    """``p - lr * g`` (``lr`` taken in ``p``'s dtype, or a ``(K, 1)`` column of per-member rates for
    stacked ``(K, n)`` vectors) into ``out`` (a vector like ``p``, not ``p``) or a fresh one."""
    lr = lr if isinstance(lr, np.ndarray) else scalar(lr, p.dtype)  # an array: one rate per member, (K, 1)
    step = np.multiply(g, lr, out=empty_like(p) if out is None else out)
    return np.subtract(p, step, out=step)


def per_member(value: Any) -> bool:
    """Whether a hyperparameter is given per member: a 1-D array (or list, tuple) of numbers."""
    return isinstance(value, (np.ndarray, list, tuple))


def _hyper(name: str, value: Any, minimum: float | None = None, positive: bool = False) -> tuple[Any, Any]:
    """``(stored, used)``: a number checked by ``checks.real`` (both the same float), or per member a
    read-only ``(K,)`` float64 array (stored in ``Optimizer.hyperparams``) and its ``(K, 1)`` column
    (what ``apply`` broadcasts over the member axis of stacked ``(K, n_params)`` vectors)."""
    if not per_member(value):
        value = checks.real(name, value, minimum=minimum, positive=positive)
        return value, value
    arr = checks.numeric(name, value).astype(np.float64)
    low = 0.0 if positive else minimum
    if arr.ndim != 1 or arr.size == 0 or not np.isfinite(arr).all() or (low is not None and (arr < low).any()) \
            or (positive and (arr == 0).any()):
        bound = "> 0" if positive else f">= {minimum}" if minimum is not None else "finite"
        raise ValueError(f"{name}: expected a number or a 1-D array of them, one per member, each {bound}, got {value!r}")
    return readonly(arr), readonly(arr[:, None].copy())


def _learning_rate(learning_rate: Any) -> tuple[Any, Callable[[int], Any]]:
    """``(stored, k -> rate)``: a schedule (a float becomes ``constant``) or per-member rates, constant."""
    if per_member(learning_rate):
        stored, column = _hyper("learning_rate", learning_rate, minimum=0.0)
        return stored, lambda k: column
    schedule = as_schedule(learning_rate)
    return schedule, _rate(schedule)


def _rate(schedule) -> Callable[[int], float]:
    """``k -> schedule(k)``, checked (a ``constant`` is checked once)."""
    if isinstance(schedule, constant):
        lr = rate_at(schedule, 0)
        return lambda k: lr
    return lambda k: rate_at(schedule, k)


def _average(beta: float, old: np.ndarray, new: np.ndarray, scratch: np.ndarray) -> np.ndarray:
    """``beta * old + (1 - beta) * new``, fresh and read-only; ``scratch`` (shaped like ``old``, may be ``new``)
    is overwritten."""
    avg = np.multiply(old, beta, out=empty_like(old))
    avg += np.multiply(new, 1 - beta, out=scratch)
    return readonly(avg)


def sgd(learning_rate, momentum: float = 0.0, nesterov: bool = False) -> Optimizer:
    """Gradient descent ``p -= lr * g``; with ``momentum`` ``mu > 0``, PyTorch's SGD (no dampening):
    ``v = mu*v + g; p -= lr*v``, or with ``nesterov`` ``p -= lr*(g + mu*v)`` (the new ``v``).

    ``momentum=0`` keeps the state a ``SgdState(count)`` (and the hyperparameters
    ``{learning_rate}``), as before momentum existed; ``mu > 0`` keeps ``SgdMomentumState(count, velocity)``.

    >>> opt = sgd(0.1, momentum=0.9); opt.name, dict(opt.hyperparams)["momentum"]
    ('sgd', 0.9)
    """
    schedule, rate = _learning_rate(learning_rate)
    mu = checks.real("momentum", momentum, minimum=0.0)
    nesterov = checks.flag("nesterov", nesterov)
    if nesterov and mu == 0:
        raise ValueError("nesterov: expected False when momentum is 0 (Nesterov needs a momentum > 0), got True")
    if mu == 0:

        def apply(p, g, state, out=None):
            return descend(p, g, rate(state.count), out), SgdState(state.count + 1)

        return _optimizer("sgd", {"learning_rate": schedule}, lambda params: SgdState(0), SgdState, apply)

    def apply_momentum(p, g, state, out=None):
        v = np.multiply(state.velocity, mu, out=empty_like(g))
        v += g
        v = readonly(v)
        if not nesterov:
            return descend(p, v, rate(state.count), out), SgdMomentumState(state.count + 1, v)
        step = np.multiply(v, mu, out=empty_like(g))
        step += g
        return descend(p, step, rate(state.count), out), SgdMomentumState(state.count + 1, v)

    init = lambda params: SgdMomentumState(0, _zeros(params))  # noqa: E731
    hyper = {"learning_rate": schedule, "momentum": mu, "nesterov": nesterov}
    return _optimizer("sgd", hyper, init, SgdMomentumState, apply_momentum)


def momentum(learning_rate, beta: float = 0.9) -> Optimizer:
    """``v = beta*v + (1-beta)*g; p -= lr*v``."""
    schedule, rate = _learning_rate(learning_rate)
    stored_beta, beta = _hyper("beta", beta, minimum=0.0)

    def apply(p, g, state, out=None):
        v = _average(beta, state.velocity, g, empty_like(g))
        return descend(p, v, rate(state.count), out), MomentumState(state.count + 1, v)

    init = lambda params: MomentumState(0, _zeros(params))  # noqa: E731
    return _optimizer("momentum", {"learning_rate": schedule, "beta": stored_beta}, init, MomentumState, apply)


def rmsprop(learning_rate, beta: float = 0.9, eps: float = 1e-8) -> Optimizer:
    """``s = beta*s + (1-beta)*g^2; p -= lr*g/(sqrt(s)+eps)``."""
    schedule, rate = _learning_rate(learning_rate)
    stored_beta, beta = _hyper("beta", beta, minimum=0.0)
    stored_eps, eps = _hyper("eps", eps, positive=True)

    def apply(p, g, state, out=None):
        step = np.multiply(g, g, out=empty_like(g))
        s = _average(beta, state.square, step, step)
        np.sqrt(s, out=step)
        step += eps
        np.divide(g, step, out=step)
        return descend(p, step, rate(state.count), out), RmspropState(state.count + 1, s)

    init = lambda params: RmspropState(0, _zeros(params))  # noqa: E731
    hyper = {"learning_rate": schedule, "beta": stored_beta, "eps": stored_eps}
    return _optimizer("rmsprop", hyper, init, RmspropState, apply)


def adam(learning_rate=1e-3, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8) -> Optimizer:
    """Adam with bias correction; ``t = 1`` at the first update.

    Computed as ``p - lr_t * m / (sqrt(v) + eps_t)`` with ``lr_t = lr * sqrt(1-b2^t) / (1-b1^t)`` and
    ``eps_t = eps * sqrt(1-b2^t)``: the same number as the formula above, in five array operations.
    """
    schedule, rate = _learning_rate(learning_rate)
    stored_beta1, beta1 = _hyper("beta1", beta1, minimum=0.0)
    stored_beta2, beta2 = _hyper("beta2", beta2, minimum=0.0)
    stored_eps, eps = _hyper("eps", eps, positive=True)
    sqrt = np.sqrt if per_member(beta2) else math.sqrt

    def apply(p, g, state, out=None):
        t = state.count + 1
        step = empty_like(g)  # the intermediates, one after the other
        mu = _average(beta1, state.mu, g, step)
        nu = _average(beta2, state.nu, np.multiply(g, g, out=step), step)
        root = sqrt(1 - beta2**t)
        np.sqrt(nu, out=step)
        step += eps * root
        np.divide(mu, step, out=step)
        return descend(p, step, rate(state.count) * root / (1 - beta1**t), out), AdamState(t, mu, nu)

    def init(params):
        zeros = _zeros(params)
        return AdamState(0, zeros, zeros)

    hyper = {"learning_rate": schedule, "beta1": stored_beta1, "beta2": stored_beta2, "eps": stored_eps}
    return _optimizer("adam", hyper, init, AdamState, apply)


OPTIMIZERS = {f.__name__: f for f in (sgd, momentum, rmsprop, adam)}
