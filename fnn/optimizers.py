"""Optimizers as pure pairs, as in optax: ``init(params) -> state``, ``update(params, grads, state)``.

All arithmetic runs on the flat parameter and gradient vectors, so an update is a handful of
array operations whatever the depth. ``count`` is the number of updates applied; the learning
rate of an update is ``schedule(count)`` (``k = 0`` first) and Adam's ``t = count + 1``::

    sgd:      p -= lr * g
    momentum: v = beta*v + (1-beta)*g;            p -= lr * v
    rmsprop:  s = beta*s + (1-beta)*g^2;          p -= lr * g / (sqrt(s) + eps)
    adam:     m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2;
              p -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)
"""
from __future__ import annotations

import attrs
import numpy as np

from fnn import checks
from fnn.records import Grads, Optimizer, Params, frozen_array, readonly
from fnn.schedules import as_schedule, rate_at


@attrs.frozen(eq=False)
class SgdState:
    count: int = 0


@attrs.frozen(eq=False)
class MomentumState:
    count: int
    velocity: np.ndarray = frozen_array("velocity")


@attrs.frozen(eq=False)
class RmspropState:
    count: int
    square: np.ndarray = frozen_array("square")


@attrs.frozen(eq=False)
class AdamState:
    count: int
    mu: np.ndarray = frozen_array("mu")
    nu: np.ndarray = frozen_array("nu")


def _zeros(params: Params) -> np.ndarray:
    return readonly(np.zeros_like(params.flat))


def _checked(params, grads, state, state_type) -> tuple[np.ndarray, np.ndarray]:
    """The flat params and grads (grads in the params' dtype), after checking the arguments."""
    if not isinstance(params, Params):
        raise TypeError(f"params: expected a Params, got {type(params).__name__}")
    if not isinstance(grads, Grads):
        raise TypeError(f"grads: expected a Grads, got {type(grads).__name__}")
    if not isinstance(state, state_type):
        raise TypeError(f"opt_state: expected a {state_type.__name__} from this optimizer's init, got {type(state).__name__}")
    p, g = params.flat, grads.flat
    if g.shape != p.shape:
        raise ValueError(f"grads: expected {p.size} entries like params, got {g.size}")
    return p, g.astype(p.dtype, copy=False)


def _new(params: Params, flat: np.ndarray) -> Params:
    return Params.from_flat(flat, params.shapes)


def sgd(learning_rate) -> Optimizer:
    """Plain gradient descent: ``p -= lr * g``."""
    schedule = as_schedule(learning_rate)

    def init(params):
        return SgdState(0)

    def update(params, grads, state):
        p, g = _checked(params, grads, state, SgdState)
        lr = p.dtype.type(rate_at(schedule, state.count))
        return _new(params, p - lr * g), SgdState(state.count + 1)

    return Optimizer(init, update, "sgd", {"learning_rate": schedule})


def momentum(learning_rate, beta: float = 0.9) -> Optimizer:
    """``v = beta*v + (1-beta)*g; p -= lr*v``."""
    schedule = as_schedule(learning_rate)
    beta = checks.real("beta", beta, minimum=0.0)

    def init(params):
        return MomentumState(0, _zeros(params))

    def update(params, grads, state):
        p, g = _checked(params, grads, state, MomentumState)
        lr = p.dtype.type(rate_at(schedule, state.count))
        v = beta * state.velocity + (1 - beta) * g
        return _new(params, p - lr * v), MomentumState(state.count + 1, readonly(v))

    return Optimizer(init, update, "momentum", {"learning_rate": schedule, "beta": beta})


def rmsprop(learning_rate, beta: float = 0.9, eps: float = 1e-8) -> Optimizer:
    """``s = beta*s + (1-beta)*g^2; p -= lr*g/(sqrt(s)+eps)``."""
    schedule = as_schedule(learning_rate)
    beta = checks.real("beta", beta, minimum=0.0)
    eps = checks.real("eps", eps, positive=True)

    def init(params):
        return RmspropState(0, _zeros(params))

    def update(params, grads, state):
        p, g = _checked(params, grads, state, RmspropState)
        lr = p.dtype.type(rate_at(schedule, state.count))
        s = beta * state.square + (1 - beta) * (g * g)
        return _new(params, p - lr * g / (np.sqrt(s) + eps)), RmspropState(state.count + 1, readonly(s))

    return Optimizer(init, update, "rmsprop", {"learning_rate": schedule, "beta": beta, "eps": eps})


def adam(learning_rate=1e-3, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8) -> Optimizer:
    """Adam with bias correction; ``t = 1`` at the first update."""
    schedule = as_schedule(learning_rate)
    beta1 = checks.real("beta1", beta1, minimum=0.0)
    beta2 = checks.real("beta2", beta2, minimum=0.0)
    eps = checks.real("eps", eps, positive=True)

    def init(params):
        zeros = _zeros(params)
        return AdamState(0, zeros, zeros)

    def update(params, grads, state):
        p, g = _checked(params, grads, state, AdamState)
        lr = p.dtype.type(rate_at(schedule, state.count))
        t = state.count + 1
        mu = beta1 * state.mu + (1 - beta1) * g
        nu = beta2 * state.nu + (1 - beta2) * (g * g)
        step = (mu / (1 - beta1**t)) / (np.sqrt(nu / (1 - beta2**t)) + eps)
        return _new(params, p - lr * step), AdamState(t, readonly(mu), readonly(nu))

    return Optimizer(init, update, "adam", {"learning_rate": schedule, "beta1": beta1, "beta2": beta2, "eps": eps})


OPTIMIZERS = {f.__name__: f for f in (sgd, momentum, rmsprop, adam)}
