"""fit(..., backup=path): interrupted anywhere and run again, a run ends where it would have, bit for bit."""
from __future__ import annotations

import os

import numpy as np
import pytest

import fnn

from conftest import assert_same

rng = np.random.default_rng(8)
X = rng.standard_normal((60, 3))
y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(int)
X_val = rng.standard_normal((30, 3))
y_val = (X_val[:, 0] + X_val[:, 1] * X_val[:, 2] > 0).astype(int)
NET = fnn.network([3, 16, 1], "tanh", dropout=0.1)


class Rate:
    """A custom learning-rate function (which a checkpoint could not store) that raises
    ``KeyboardInterrupt`` when asked for the rate of update ``stop`` (once)."""

    def __init__(self, stop=None):
        self.stop = stop

    def __call__(self, k):
        if k == self.stop:
            self.stop = None
            raise KeyboardInterrupt
        return 0.05 / (1 + k / 50)


RUNS = {
    "minibatch": dict(batch_size=16),
    "full batch": dict(),
    "history": dict(batch_size=16, validation=(X_val, y_val)),
    "early stopping": dict(batch_size=8, validation=(X_val, y_val), early_stopping=fnn.Patience(3)),
}


def run(path, stop=None, **kw):
    opt = fnn.adam(Rate(stop))
    return fnn.fit(NET, X, y, opt, epochs=12, seed=3, params=fnn.init_params(NET, seed=1), backup=path, **kw)


@pytest.mark.parametrize("name", list(RUNS))
@pytest.mark.parametrize("stops", [(5,), (1, 7, 10), (0,), (4, 8)])
def test_a_run_interrupted_anywhere_ends_as_the_uninterrupted_one(tmp_path, name, stops):
    kw = RUNS[name]
    clean = run(tmp_path / "clean.backup", **kw)
    assert not os.listdir(tmp_path)  # removed at the end
    path = tmp_path / "run.backup"
    for stop in stops:
        with pytest.raises(KeyboardInterrupt):
            run(path, stop, **kw)
        assert path.exists()
    again = run(path, **kw)
    assert_same(again.state.params, clean.state.params)
    assert again.state.step == clean.state.step
    np.testing.assert_array_equal(again.losses, clean.losses)
    np.testing.assert_array_equal(again.state.opt_state.mu, clean.state.opt_state.mu)
    if clean.history is not None:
        for field in ("epoch", "train_loss", "val_loss", "val_accuracy", "learning_rate"):
            np.testing.assert_array_equal(getattr(again.history, field), getattr(clean.history, field))
        assert (again.history.best_epoch, again.history.stopped_early) == (clean.history.best_epoch, clean.history.stopped_early)
    else:
        assert again.history is None
    assert os.listdir(tmp_path) == []


def test_the_interrupted_state_is_the_last_completed_step(tmp_path):
    path = tmp_path / "b"
    with pytest.raises(KeyboardInterrupt):
        run(path, 7, batch_size=16)
    fp = fnn.backup.fingerprint(NET, X, y, fnn.adam(Rate()), 16, 3)
    state = fnn.backup.read_backup(path, NET, fnn.adam(Rate()), fp)
    assert state.step == 7
    head = fnn.fold(fnn.train_step(NET, fnn.adam(Rate()), seed=3),
                    list(fnn.batches(X, fnn.targets(NET, y), batch_size=16, epochs=2, seed=3))[:7],
                    fnn.init_state(fnn.init_params(NET, seed=1), fnn.adam(Rate())))
    assert_same(state.params, head.params)


def test_a_backup_of_another_run_is_refused_naming_the_difference(tmp_path):
    path = tmp_path / "b"
    with pytest.raises(KeyboardInterrupt):
        run(path, 5, batch_size=16)
    with pytest.raises(fnn.CheckpointError, match="batch_size: the backup's run had 16, this run has 8"):
        run(path, batch_size=8)
    with pytest.raises(fnn.CheckpointError, match="seed: the backup's run had 3, this run has 4"):
        fnn.fit(NET, X, y, fnn.adam(Rate()), epochs=12, batch_size=16, seed=4, params=fnn.init_params(NET, seed=1), backup=path)
    with pytest.raises(fnn.CheckpointError, match="it started at step 0 and reached 5, this run starts at step 3"):
        state = fnn.fit(NET, X, y, fnn.adam(Rate()), epochs=1, batch_size=20, seed=3, params=fnn.init_params(NET, seed=1)).state
        fnn.fit(NET, X, y, epochs=12, batch_size=16, seed=3, state=state, backup=path)


def test_backup_every_and_keep_backup(tmp_path, monkeypatch):
    writes = []
    real = fnn.backup.write_backup
    monkeypatch.setattr(fnn.backup, "write_backup", lambda *a: writes.append(a[2].step) or real(*a))
    result = run(tmp_path / "b", batch_size=20, backup_every=4, keep_backup=True)
    assert writes == [12, 24, 36]  # 3 steps an epoch, every 4 epochs
    kept = fnn.backup.read_backup(tmp_path / "b", NET, fnn.adam(Rate()), fnn.backup.fingerprint(NET, X, y, fnn.adam(Rate()), 20, 3))
    assert_same(kept.params, result.state.params)
    again = run(tmp_path / "b", batch_size=20, backup_every=4)  # a finished run's backup: nothing left to do
    assert_same(again.state.params, result.state.params) and not (tmp_path / "b").exists()
    with pytest.raises(ValueError, match="backup_every: expected an int >= 1, got 0"):
        run(tmp_path / "c", backup_every=0)


def test_an_interruption_after_an_epochs_last_step_keeps_the_epoch_whole(tmp_path):
    """Interrupted between an epoch's last step and its history row, the backup stays at the epoch
    before (the row is not lost: the epoch is run again)."""
    path = tmp_path / "b"
    kw = dict(batch_size=20, validation=(X_val, y_val))  # 3 steps an epoch
    clean = run(tmp_path / "clean", **kw)
    with pytest.raises(KeyboardInterrupt):
        run(path, 9, **kw)  # asked for the rate of update 9: epoch 3's first step, after epoch 2's last
    again = run(path, **kw)
    np.testing.assert_array_equal(again.losses, clean.losses)
    np.testing.assert_array_equal(again.history.train_loss, clean.history.train_loss)
