"""Full-batch L-BFGS: ``fit_lbfgs`` minimises ``fnn.cost`` over the flat parameter vector.

``scipy.optimize.minimize(method="L-BFGS-B", jac=True)`` asks for ``(J(theta), dJ/dtheta)``;
each call runs the public stages on the whole set::

    params = Params.from_flat(theta); A, cache = forward(net, params, X)
    J = cost(net, params, cache, Y);  g = backward(net, params, cache, Y).flat

as scikit-learn's ``MLP*(solver="lbfgs")`` does: ``maxiter = max_iter``, ``maxfun = max_fun``,
``gtol = tol`` (``ftol`` stays scipy's). scipy is imported when this runs; the core does not need it.
"""
from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from fnn import checks
from fnn.init import init_params
from fnn.labels import targets
from fnn.records import FitResult, Network, Params, TrainState
from fnn.stages import backward, check_net, check_params, check_targets, cost, forward


@attrs.frozen
class LbfgsState:
    """Where L-BFGS stopped: ``n_iter`` iterations, ``n_fev`` cost evaluations, scipy's ``status``
    (0 converged, 1 ``max_iter`` or ``max_fun`` reached, 2 stopped otherwise) and ``message``."""

    n_iter: int
    n_fev: int
    status: int
    message: str

    @property
    def converged(self) -> bool:
        return self.status == 0


def fit_lbfgs(net: Network, X: Any, y: Any, params: Params | None = None, max_iter: int = 200, max_fun: int = 15000,
              tol: float = 1e-4, sample_weight: Any = None, seed: int = 0, init: str = "he") -> FitResult:
    """Minimise ``cost`` over all of ``(X, y)`` with L-BFGS-B from ``params`` (``None``:
    ``init_params(net, seed=seed, scheme=init)``).

    Returns ``FitResult(state, losses)``: ``state.params`` the minimiser found (in the params'
    dtype), ``state.step`` the iterations run, ``state.loss`` its cost, ``state.opt_state`` a
    ``LbfgsState`` (``status != 0``: not converged), ``state.optimizer`` None; ``losses`` the cost
    after each iteration. ``sample_weight`` (m,) weighs each row's term (the weighted stages).

    >>> from fnn.records import network
    >>> X = np.linspace(-1, 1, 20).reshape(-1, 1)
    >>> r = fit_lbfgs(network([1, 1], output="identity"), X, 3 * X, tol=1e-10)
    >>> round(float(r.state.params.layers[0].W[0, 0]), 6), r.state.opt_state.converged
    (3.0, True)
    """
    import scipy.optimize

    check_net(net)
    params = init_params(net, seed=seed, scheme=init) if params is None else params
    dtype = check_params(net, params)
    X = checks.matrix("X", X, net.layers[0].n_in, " (one row per sample, n_in columns for the first layer)", dtype)
    Y = targets(net, y)
    Y = check_targets(net, Y, Y.shape, dtype, "y")
    checks.same_rows(("X", "y"), X, Y)
    max_iter = checks.integer("max_iter", max_iter, minimum=1)
    max_fun = checks.integer("max_fun", max_fun, minimum=1)
    tol = checks.real("tol", tol, minimum=0.0)
    w = None if sample_weight is None else checks.weights("sample_weight", sample_weight, X.shape[0], dtype, positive_sum=True)

    def cost_and_grad(theta: np.ndarray) -> tuple[float, np.ndarray]:
        p = Params.from_flat(theta.astype(dtype), net.shapes)
        _, cache = forward(net, p, X)
        J = cost(net, p, cache, Y, sample_weight=w)
        return float(J), backward(net, p, cache, Y, sample_weight=w).flat.astype(np.float64)

    losses: list[float] = []
    with np.errstate(over="ignore", invalid="ignore"):
        res = scipy.optimize.minimize(
            cost_and_grad, params.flat.astype(np.float64), method="L-BFGS-B", jac=True,
            options={"maxfun": max_fun, "maxiter": max_iter, "gtol": tol},
            callback=lambda intermediate_result: losses.append(float(intermediate_result.fun)),
        )
    final = Params.from_flat(res.x.astype(dtype), net.shapes)
    message = res.message.decode("latin1") if isinstance(res.message, bytes) else str(res.message)
    info = LbfgsState(int(res.nit), int(res.nfev), int(res.status), message)
    return FitResult(TrainState(final, info, int(res.nit), float(res.fun)), np.asarray(losses, dtype=np.float64))
