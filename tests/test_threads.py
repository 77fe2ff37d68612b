"""Thread safety: one compiled step or one estimator used from several threads at once gives the
results of sequential use, bit for bit (the engine's workspaces, batch cache and array pool are
shared by the threads)."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_moons

import fnn
from fnn.estimators import FNNClassifier, FNNRegressor

from conftest import assert_same

X, y = make_moons(240, noise=0.3, random_state=1)
y_reg = np.c_[X[:, 0] - X[:, 1] ** 2, np.sin(X[:, 0])]
THREADS = 4


def in_threads(tasks):
    """``[task() for task in tasks]``, run by ``THREADS`` threads at once (started together)."""
    barrier = threading.Barrier(THREADS)

    def run(task):
        if threading.current_thread().name not in started:
            started.add(threading.current_thread().name)
            barrier.wait(timeout=30)
        return task()

    started: set = set()
    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(run, tasks))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_one_fitted_estimator_predicts_from_several_threads_as_sequentially():
    clf = FNNClassifier(hidden_layer_sizes=(32, 16), learning_rate_init=1e-2, max_iter=20, random_state=0).fit(X, y)
    reg = FNNRegressor(hidden_layer_sizes=(16,), learning_rate_init=1e-2, max_iter=20, random_state=0).fit(X, y_reg)
    rng = np.random.default_rng(0)
    inputs = [rng.standard_normal((n, 2)) for n in (1, 7, 64, 500, 240)] + [X, X.astype(np.float32)]
    calls = [(clf.predict, x) for x in inputs] + [(clf.predict_proba, x) for x in inputs] + [(reg.predict, x) for x in inputs]
    calls += [(lambda x, e=est, t=t: e.score(x[:240], t), X) for est, t in ((clf, y), (reg, y_reg))]
    tasks = [lambda f=f, x=x: f(x) for f, x in calls] * 12
    alone = [task() for task in tasks]
    together = in_threads(tasks)
    for a, b in zip(alone, together, strict=True):
        np.testing.assert_array_equal(a, b)
        assert np.asarray(a).dtype == np.asarray(b).dtype


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_clones_fitted_in_several_threads_equal_sequential_fits(tmp_path):
    base = FNNClassifier(hidden_layer_sizes=(16,), learning_rate_init=1e-2, batch_size=32, max_iter=8)
    settings = [dict(random_state=0), dict(random_state=1, solver="sgd", learning_rate="adaptive", tol=0.05, n_iter_no_change=1),
                dict(random_state=2, early_stopping=True, n_iter_no_change=3), dict(random_state=3, dropout=0.2, alpha=0.1),
                dict(random_state=4, batch_size=240), dict(random_state=5, backup=str(tmp_path / "clone.backup"))]
    clones = [clone(base).set_params(**kw) for kw in settings for _ in range(2)]
    clones[-1].set_params(backup=str(tmp_path / "other.backup"))  # a backup path per estimator
    alone = [clone(est).fit(X, y) for est in clones]
    together = in_threads([lambda est=est: est.fit(X, y) for est in clones])
    for a, b in zip(alone, together, strict=True):
        for W, V in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=True):
            np.testing.assert_array_equal(W, V)
        assert (a.n_iter_, a.loss_curve_, a.validation_scores_, a._learning_rate) == \
               (b.n_iter_, b.loss_curve_, b.validation_scores_, b._learning_rate)
        np.testing.assert_array_equal(a.state_.opt_state.mu if hasattr(a.state_.opt_state, "mu") else a.state_.opt_state.velocity,
                                      b.state_.opt_state.mu if hasattr(b.state_.opt_state, "mu") else b.state_.opt_state.velocity)
    assert not list(tmp_path.iterdir())


def test_one_step_folds_and_steps_from_several_threads_as_sequentially():
    """Different states (float64 and float32), batch shapes (row- and column-ordered workspaces),
    weighted and unweighted batches, dropout and L2: folds mixed with single calls."""
    net = fnn.network([2, 12, 3], "tanh", output="softmax", l2=0.1, dropout=0.25)
    opt = fnn.momentum(0.05)
    step = fnn.train_step(net, opt, seed=5)
    Y = fnn.targets(net, np.arange(240) % 3)
    w = np.random.default_rng(1).uniform(0.5, 2.0, 240)
    data = {
        "small": list(fnn.batches(X, Y, batch_size=10, epochs=2)),
        "tall": list(fnn.batches(X, Y, batch_size=120, epochs=3)),  # m >= 4 * widest: column order
        "weighted": list(fnn.batches(X, Y, batch_size=25, epochs=2, sample_weight=w)),
    }
    starts = [fnn.init_state(fnn.init_params(net, seed=s, dtype=dtype), opt)
              for s in range(4) for dtype in (np.float64, np.float32)]
    tasks = []
    for i, s in enumerate(starts):
        for name, batches in data.items():
            tasks.append(lambda s=s, b=batches: fnn.fold(step, b, s))
            tasks.append(lambda s=s, b=batches[i % 3]: step(s, b))
    alone = [task() for task in tasks]
    for _ in range(3):
        together = in_threads(tasks[::-1])[::-1]
        for a, b in zip(alone, together, strict=True):
            assert_same(a.params, b.params)
            np.testing.assert_array_equal(a.opt_state.velocity, b.opt_state.velocity)
            assert (a.step, a.loss) == (b.step, b.loss)
