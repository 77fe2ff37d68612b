"""FNNClassifier / FNNRegressor(backup=path): a fit interrupted anywhere (a step, between epochs, by
SIGTERM) and run again ends as the uninterrupted fit, bit for bit, its bookkeeping included."""
from __future__ import annotations

import os
import signal
import warnings

import attrs
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_moons
from sklearn.exceptions import ConvergenceWarning

import fnn
from fnn.engine.step import Step
from fnn.estimators import FNNClassifier, FNNRegressor

X, y = make_moons(120, noise=0.3, random_state=0)
y_reg = X[:, 0] * 2 - X[:, 1] ** 2
SMALL = dict(hidden_layer_sizes=(8,), batch_size=32, random_state=0)
FITS = {
    "adam": (FNNClassifier, dict(solver="adam", learning_rate_init=1e-2, max_iter=12)),
    "adam early stopping": (FNNClassifier, dict(solver="adam", learning_rate_init=1e-2, max_iter=30, early_stopping=True,
                                                n_iter_no_change=3)),
    "sgd adaptive": (FNNClassifier, dict(solver="sgd", learning_rate="adaptive", learning_rate_init=0.5, tol=0.05,
                                         n_iter_no_change=1, max_iter=14)),
    "sgd adaptive early stopping": (FNNClassifier, dict(solver="sgd", learning_rate="adaptive", learning_rate_init=0.5,
                                                        tol=0.05, n_iter_no_change=1, max_iter=14, early_stopping=True)),
    "regressor invscaling dropout": (FNNRegressor, dict(solver="sgd", learning_rate="invscaling", learning_rate_init=0.05,
                                                        dropout=0.2, max_iter=10)),
}


def fit(est, target=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y if target is None else target)


def make(name, path=None, **kw):
    cls, settings = FITS[name]
    return cls(**{**SMALL, **settings, **kw}, backup=None if path is None else str(path))


def target_of(est):
    return y_reg if isinstance(est, FNNRegressor) else y


def assert_same_fit(a, b):
    """Every fitted attribute and everything the epoch loop carries, bit for bit."""
    for name in ("n_iter_", "n_epochs_", "t_", "loss_", "loss_curve_", "_no_improvement_count", "_learning_rate", "best_loss_",
                 "validation_scores_", "best_validation_score_", "_best_epoch", "seed_", "n_outputs_", "out_activation_"):
        assert (name in a.__dict__) == (name in b.__dict__), name
        mine, theirs = (np.asarray(getattr(e, name, 0), dtype=object) for e in (a, b))
        np.testing.assert_array_equal(mine, theirs, name)
    for W, V in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=True):
        np.testing.assert_array_equal(W, V)
    for s, t in ((a.state_, b.state_), (a._best_state, b._best_state)):
        np.testing.assert_array_equal(s.params.flat, t.params.flat)
        assert (s.step, np.isnan(s.loss) or s.loss) == (t.step, np.isnan(t.loss) or t.loss)
        assert type(s.opt_state) is type(t.opt_state)
        for f in attrs.fields(type(s.opt_state)):
            np.testing.assert_array_equal(getattr(s.opt_state, f.name), getattr(t.opt_state, f.name))
    for field in ("epoch", "train_loss", "val_loss", "val_accuracy", "learning_rate"):
        np.testing.assert_array_equal(getattr(a.history_, field), getattr(b.history_, field))
    assert (a.history_.best_epoch, a.history_.stopped_early) == (b.history_.best_epoch, b.history_.stopped_early)


def interrupt_at_step(monkeypatch, k, exc=KeyboardInterrupt):
    """Make the ``k``-th step from now (1-based, counting every compiled step) raise ``exc`` instead of running."""
    advance, count = Step.advance, [0]

    def hooked(self, *args, **kw):
        count[0] += 1
        if count[0] == k:
            if exc is signal.SIGTERM:
                os.kill(os.getpid(), signal.SIGTERM)  # the fit's guard turns it into fnn.backup.Terminated here
            else:
                raise exc
        return advance(self, *args, **kw)

    monkeypatch.setattr(Step, "advance", hooked)


def interrupt_at_epoch_end(monkeypatch, cls, n, exc=KeyboardInterrupt):
    """Make the ``n``-th epoch's bookkeeping (after its steps) raise ``exc``."""
    record, count = cls._record_epoch, [0]

    def hooked(self, *args, **kw):
        count[0] += 1
        if count[0] == n:
            raise exc
        return record(self, *args, **kw)

    monkeypatch.setattr(cls, "_record_epoch", hooked)


@pytest.mark.parametrize("name", list(FITS))
@pytest.mark.parametrize("where", [("step", (1,)), ("step", (6, 5, 9)), ("epoch", (3,)), ("epoch", (1, 4))],
                         ids=["first step", "three steps", "epoch end", "two epoch ends"])
def test_an_interrupted_fit_run_again_is_the_uninterrupted_fit(tmp_path, monkeypatch, name, where):
    clean = make(name)
    fit(clean, target_of(clean))
    if "adaptive" in name:
        assert clean._learning_rate < clean.learning_rate_init  # the rate changed on the way
    path = tmp_path / "fit.backup"
    est = make(name, path)
    for n in where[1]:
        with monkeypatch.context() as m:
            if where[0] == "step":
                interrupt_at_step(m, n)
            else:
                interrupt_at_epoch_end(m, type(est), n)
            with pytest.raises(KeyboardInterrupt):
                fit(est, target_of(est))
        assert path.exists() and not hasattr(est, "coefs_")  # the estimator stays as it was before the fit
    fit(est, target_of(est))
    assert_same_fit(est, clean)
    assert os.listdir(tmp_path) == []  # a completed fit removes the backup and its best-state files


def test_sigterm_backs_up_the_last_step_and_a_fresh_clone_resumes(tmp_path, monkeypatch):
    clean = fit(make("adam early stopping"))
    est = make("adam early stopping", tmp_path / "b")
    handler = signal.getsignal(signal.SIGTERM)
    with monkeypatch.context() as m:
        interrupt_at_step(m, 9, signal.SIGTERM)
        with pytest.raises(fnn.backup.Terminated):
            fit(est)
    assert signal.getsignal(signal.SIGTERM) is handler  # restored
    again = fit(clone(est))
    assert_same_fit(again, clean)


@pytest.mark.parametrize("name", ["adam early stopping", "sgd adaptive"])
def test_a_crash_that_writes_nothing_resumes_from_the_last_epochs_backup(tmp_path, monkeypatch, name):
    """A SIGKILL leaves no time to write: what remains is the backup written at the end of each epoch."""
    clean = fit(make(name))
    est = make(name, tmp_path / "b")
    with monkeypatch.context() as m:
        interrupt_at_epoch_end(m, type(est), 5, RuntimeError("killed"))
        with pytest.raises(RuntimeError, match="killed"):
            fit(est)
    header = fnn.checkpoint.read_archive(tmp_path / "b",
                                         lambda npz: fnn.checkpoint.read_header(npz, "fnn-backup", fnn.backup.HEADER_KEYS))
    assert header["step"] == 4 * 4 and header["progress"]["n_epochs_"] == 4  # 4 batches an epoch
    assert_same_fit(fit(clone(est)), clean)


def test_warm_start_fit_interrupted_and_run_again(tmp_path, monkeypatch):
    def first(path=None):
        return fit(make("sgd adaptive", path, warm_start=True, max_iter=4))

    clean = first()
    fit(clean)
    est = first(tmp_path / "b")
    before = {k: list(v) if isinstance(v, list) else v for k, v in est.__dict__.items()}
    with monkeypatch.context() as m:
        interrupt_at_step(m, 10)
        with pytest.raises(KeyboardInterrupt):
            fit(est)
    assert est.n_epochs_ == before["n_epochs_"] and est.state_ is before["state_"] and est.loss_curve_ == before["loss_curve_"]
    fit(est)
    assert_same_fit(est, clean)


def test_random_state_none_resumes_the_backed_up_runs_seed(tmp_path, monkeypatch):
    est = make("adam", tmp_path / "b").set_params(random_state=None)
    with monkeypatch.context() as m:
        interrupt_at_step(m, 7)
        with pytest.raises(KeyboardInterrupt):
            fit(est)
    fit(est)
    assert_same_fit(est, fit(make("adam").set_params(random_state=est.seed_)))


@pytest.mark.parametrize("change, words", [
    (dict(batch_size=16), "batch_size"),
    (dict(tol=1e-3), "tol: the backup's run had 0.0001, this fit has 0.001"),
    (dict(shuffle=False), "shuffle"),
    (dict(learning_rate_init=0.02), "'learning_rate'"),
    (dict(hidden_layer_sizes=(9,)), "network"),
    (dict(random_state=1), "seed"),
])
def test_a_backup_of_another_run_is_refused_naming_the_difference(tmp_path, monkeypatch, change, words):
    path = tmp_path / "b"
    with monkeypatch.context() as m:
        interrupt_at_step(m, 5)
        with pytest.raises(KeyboardInterrupt):
            fit(make("adam", path))
    with pytest.raises(fnn.CheckpointError, match=words):
        fit(make("adam", path, **change))
    assert path.exists()


def test_a_backup_of_other_data_or_another_start_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "b"
    with monkeypatch.context() as m:
        interrupt_at_step(m, 5)
        with pytest.raises(KeyboardInterrupt):
            fit(make("adam", path))
    with pytest.raises(fnn.CheckpointError, match="X_shape"):
        make("adam", path).fit(X[:100], y[:100])
    est = fit(make("adam", max_iter=2).set_params(warm_start=True))
    with pytest.raises(fnn.CheckpointError, match=r"started at \[step, epoch\] \[0, 0\]"):
        fit(est.set_params(backup=str(path)))


def test_backup_settings_are_checked():
    with pytest.raises(ValueError, match="backup: expected None with solver='lbfgs'"):
        FNNRegressor(solver="lbfgs", backup="x.backup").fit(X, y_reg)
    with pytest.raises(TypeError, match="backup: expected None or a file path"):
        FNNClassifier(backup=3).fit(X, y)
    assert FNNClassifier().backup is None and FNNRegressor().backup is None


def test_partial_fit_interrupted_mid_epoch_and_run_again(tmp_path, monkeypatch):
    def epochs(est, n):
        for _ in range(n):
            est.partial_fit(X, y, classes=[0, 1])
        return est

    clean = epochs(make("sgd adaptive"), 3)
    est = epochs(make("sgd adaptive", tmp_path / "b"), 1)
    with monkeypatch.context() as m:
        interrupt_at_step(m, 3)
        with pytest.raises(KeyboardInterrupt):
            est.partial_fit(X, y)
    assert est.n_epochs_ == 1 and (tmp_path / "b").exists()
    assert_same_fit(epochs(est, 2), clean)
