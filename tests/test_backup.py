"""Backups (issue 14): the training state and the run's fingerprint in one atomic file; resuming
checks the fingerprint; an interruption writes the last completed state; and a run killed with
SIGKILL at random moments, saves included, and restarted each time ends bit for bit where an
uninterrupted run does."""
import math
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import attrs
import numpy as np
import pytest

import fnn
import resumable
from fnn.backup import CUSTOM, Terminated, fingerprint, guard, read_backup, resume, write_backup
from fnn.checkpoint import stale_temporaries

ROOT = Path(__file__).resolve().parents[1]
RNG = np.random.default_rng(5)
X = RNG.standard_normal((40, 3))
y = (X[:, 0] > 0).astype(int)
NET = fnn.network([3, 5, 1])


def trained(optimizer, epochs=2, net=NET):
    return fnn.fit(net, X, y, optimizer, epochs=epochs, batch_size=8).state


def assert_same_state(a, b):
    np.testing.assert_array_equal(a.params.flat, b.params.flat)
    assert a.params.flat.dtype == b.params.flat.dtype and a.step == b.step
    assert a.loss.tobytes() == b.loss.tobytes() if hasattr(a.loss, "tobytes") else a.loss == b.loss
    assert type(a.opt_state) is type(b.opt_state)
    for f in attrs.fields(type(a.opt_state)):
        np.testing.assert_array_equal(getattr(a.opt_state, f.name), getattr(b.opt_state, f.name))


@attrs.frozen(eq=False)
class SignState:
    count: int
    last: np.ndarray


def sign_descent(lr):
    """A custom optimizer (not one fnn can rebuild by name), with a state record of its own."""

    def init(params):
        return SignState(0, np.zeros_like(params.flat))

    def update(params, grads, state):
        flat = params.flat - lr * np.sign(grads.flat)
        return fnn.Params.from_flat(flat, params.shapes), SignState(state.count + 1, grads.flat.copy())

    return fnn.Optimizer(init, update, "sign_descent", {"learning_rate": lr})


OPTIMIZERS = {
    "sgd": lambda: fnn.sgd(0.1),
    "momentum schedule": lambda: fnn.momentum(fnn.schedules.step_decay(0.1, 0.5, 3)),
    "rmsprop": lambda: fnn.rmsprop(0.01),
    "adam custom rate": lambda: fnn.adam(lambda k: 0.01 / (1 + k)),
    "custom optimizer": lambda: sign_descent(0.01),
}


@pytest.mark.parametrize("make", OPTIMIZERS.values(), ids=OPTIMIZERS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_backup_resumes_exactly_with_any_optimizer(tmp_path, make, dtype):
    opt = make()
    params = fnn.init_params(NET, dtype=dtype)
    fp = fingerprint(NET, X, y, opt, 8, 0, dtype)
    half = fnn.fit(NET, X, y, opt, epochs=2, batch_size=8, params=params).state
    write_backup(tmp_path / "b", NET, half, fp)
    again = make()  # a new optimizer object from the same arguments, as a restarted run makes
    state = read_backup(tmp_path / "b", NET, again, fp)
    assert_same_state(state, half)
    assert state.optimizer is again and not state.params.flat.flags.writeable
    resumed = fnn.fit(NET, X, y, again, epochs=3, batch_size=8, state=state).state
    assert_same_state(resumed, fnn.fit(NET, X, y, make(), epochs=5, batch_size=8, params=params).state)
    assert os.listdir(tmp_path) == ["b"]


def test_a_fresh_state_with_nan_loss_round_trips(tmp_path):
    opt = fnn.adam()
    fp = fingerprint(NET, X, y, opt)
    write_backup(tmp_path / "b", NET, fnn.init_state(fnn.init_params(NET), opt), fp)
    state = read_backup(tmp_path / "b", NET, opt, fp)
    assert state.step == 0 and math.isnan(state.loss)


FP = dict(net=NET, X=X, y=y, optimizer=fnn.adam(fnn.schedules.step_decay(0.1, 0.5, 3)), batch_size=8, seed=0, dtype=np.float64)
OTHER_RUNS = {
    "network": (dict(net=fnn.network([3, 6, 1])), "network: the backup's run had"),
    "l2": (dict(net=fnn.network([3, 5, 1], l2=0.1)), "network"),
    "dtype": (dict(dtype=np.float32), "dtype: the backup's run had 'float64', this run has 'float32'"),
    "batch size": (dict(batch_size=16), "batch_size: the backup's run had 8, this run has 16"),
    "seed": (dict(seed=1), "seed: the backup's run had 0, this run has 1"),
    "more rows": (dict(X=X[:30], y=y[:30]), r"X_shape: the backup's run had \[40, 3\], this run has \[30, 3\]"),
    "y shape": (dict(y=fnn.targets(NET, y)), r"y_shape: the backup's run had \[40\], this run has \[40, 1\]"),
    "optimizer": (dict(optimizer=fnn.rmsprop(0.1)), "optimizer: the backup's run had 'adam', this run has 'rmsprop'"),
    "beta1": (dict(optimizer=fnn.adam(fnn.schedules.step_decay(0.1, 0.5, 3), beta1=0.8)),
              "optimizer hyperparameter 'beta1': the backup's run had 0.9, this run has 0.8"),
    "schedule": (dict(optimizer=fnn.adam(fnn.schedules.step_decay(0.1, 0.5, 4))), "optimizer hyperparameter 'learning_rate': the backup's run had .*'every': 3"),
    "custom rate": (dict(optimizer=fnn.adam(lambda k: 0.1)), "optimizer hyperparameter 'learning_rate'.*this run has 'custom"),
}


@pytest.mark.parametrize("change, words", OTHER_RUNS.values(), ids=OTHER_RUNS)
def test_a_backup_of_another_run_is_refused_naming_the_difference(tmp_path, change, words):
    mine = fingerprint(*FP.values())
    path = tmp_path / "b"
    write_backup(path, NET, trained(FP["optimizer"]), mine)
    other = {**FP, **change}
    with pytest.raises(fnn.CheckpointError, match=f"{path}: a backup of another run: {words}") as info:
        read_backup(path, other["net"], other["optimizer"], fingerprint(*other.values()))
    assert info.value.path == str(path)


def test_custom_functions_are_taken_as_given(tmp_path):
    """Two runs with custom learning-rate functions match: the function cannot be compared."""
    write_backup(tmp_path / "b", NET, trained(fnn.adam(lambda k: 0.01)), fingerprint(NET, X, y, fnn.adam(lambda k: 0.01), 8))
    later = fnn.adam(lambda k: 0.02)
    state = read_backup(tmp_path / "b", NET, later, fingerprint(NET, X, y, later, 8))
    assert state.step == 10 and fingerprint(NET, X, y, later).hyperparams["learning_rate"] == CUSTOM


def test_backups_and_checkpoints_are_not_confused(tmp_path):
    opt = fnn.adam()
    state, fp = trained(opt), fingerprint(NET, X, y, opt, 8)
    fnn.save(tmp_path / "c.npz", NET, state)
    write_backup(tmp_path / "b", NET, state, fp)
    with pytest.raises(fnn.CheckpointError, match="header.format: expected 'fnn-backup', got 'fnn-checkpoint'"):
        read_backup(tmp_path / "c.npz", NET, opt, fp)
    with pytest.raises(fnn.CheckpointError, match="header.format: expected 'fnn-checkpoint', got 'fnn-backup'"):
        fnn.load(tmp_path / "b")


def test_damaged_or_missing_backups(tmp_path):
    opt = fnn.adam()
    fp = fingerprint(NET, X, y, opt, 8)
    with pytest.raises(FileNotFoundError):
        read_backup(tmp_path / "none", NET, opt, fp)
    write_backup(tmp_path / "b", NET, trained(opt), fp)
    data = (tmp_path / "b").read_bytes()
    (tmp_path / "b").write_bytes(data[: len(data) // 2])
    with pytest.raises(fnn.CheckpointError, match="not a valid fnn checkpoint: damaged or unreadable"):
        read_backup(tmp_path / "b", NET, opt, fp)


TUPLE_STATE = fnn.Optimizer(lambda params: (0,), lambda params, grads, state: (params, state), "tuples")


@pytest.mark.parametrize("call, error, words", [
    (lambda p: write_backup(p, NET, trained(fnn.sgd(0.1)), {"seed": 0}), TypeError, "fingerprint: expected a Fingerprint"),
    (lambda p: write_backup(p, NET, attrs.evolve(trained(fnn.sgd(0.1)), optimizer=None), fingerprint(NET, X, y, fnn.sgd(0.1))),
     ValueError, "state.optimizer: expected the Optimizer"),
    (lambda p: write_backup(p, fnn.network([3, 4, 1]), trained(fnn.sgd(0.1)), fingerprint(NET, X, y, fnn.sgd(0.1))), ValueError, "state.params"),
    (lambda p: read_backup(p, NET, "adam", fingerprint(NET, X, y, fnn.sgd(0.1))), TypeError, "optimizer: expected an Optimizer"),
    (lambda p: fingerprint(NET, X, y, "adam"), TypeError, "optimizer: expected an Optimizer"),
    (lambda p: write_backup(p, NET, fnn.init_state(fnn.init_params(NET), TUPLE_STATE), fingerprint(NET, X, y, TUPLE_STATE)),
     TypeError, "state.opt_state: expected an attrs record of ints and arrays .*, got tuple from tuples's init"),
])
def test_bad_arguments(tmp_path, call, error, words):
    with pytest.raises(error, match=words):
        call(tmp_path / "b")
    assert not (tmp_path / "b").exists()


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_the_next_write_removes_the_temporaries_of_killed_saves_only(tmp_path):
    opt = fnn.sgd(0.1)
    fp, path = fingerprint(NET, X, y, opt), tmp_path / "run.b"
    stale = tmp_path / f".run.b.{dead_pid()}-00aa11.tmp"
    live = tmp_path / f".run.b.{os.getpid()}-00bb22.tmp"  # a save in progress (here: this process's)
    other = tmp_path / f".other.b.{dead_pid()}-00cc33.tmp"
    for p in (stale, live, other):
        p.write_bytes(b"PK\x03\x04 half")
    assert stale_temporaries(str(path)) == [str(stale)]
    write_backup(path, NET, trained(opt), fp)
    assert sorted(os.listdir(tmp_path)) == sorted([live.name, other.name, "run.b"])
    fnn.save(tmp_path / "other.b", NET, trained(opt))  # checkpoints share the rule
    assert sorted(os.listdir(tmp_path)) == sorted([live.name, "other.b", "run.b"])


# --- the interruption guard


def guarded(path, fp, interrupt, states=3):
    """Complete ``states`` states in a guard, then ``interrupt()``; the last completed state."""
    opt = fnn.sgd(0.1)
    state = fnn.init_state(fnn.init_params(NET), opt)
    with guard(path, NET, fp) as g:
        for _ in range(states):
            state = fnn.fit(NET, X, y, opt, epochs=1, batch_size=8, state=state).state
            g.completed(state)
        interrupt()
    return state


def raise_(err):
    raise err


def test_ctrl_c_writes_the_last_completed_state(tmp_path):
    fp = fingerprint(NET, X, y, fnn.sgd(0.1), 8)
    with pytest.raises(KeyboardInterrupt):
        guarded(tmp_path / "b", fp, lambda: raise_(KeyboardInterrupt()))
    assert read_backup(tmp_path / "b", NET, fnn.sgd(0.1), fp).step == 15


def test_sigterm_becomes_an_exception_that_writes_the_last_completed_state(tmp_path):
    fp = fingerprint(NET, X, y, fnn.sgd(0.1), 8)
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Terminated) as info:
        guarded(tmp_path / "b", fp, lambda: (os.kill(os.getpid(), signal.SIGTERM), time.sleep(5)))
    assert isinstance(info.value, SystemExit) and info.value.code == 128 + signal.SIGTERM
    assert read_backup(tmp_path / "b", NET, fnn.sgd(0.1), fp).step == 15
    assert signal.getsignal(signal.SIGTERM) is before


def test_other_exceptions_and_normal_ends_write_nothing(tmp_path):
    fp = fingerprint(NET, X, y, fnn.sgd(0.1), 8)
    with pytest.raises(ValueError):
        guarded(tmp_path / "b", fp, lambda: raise_(ValueError("bug")))
    guarded(tmp_path / "b", fp, lambda: None)
    assert not (tmp_path / "b").exists()


def test_outside_the_main_thread_no_handler_is_set_and_ctrl_c_still_writes(tmp_path):
    fp = fingerprint(NET, X, y, fnn.sgd(0.1), 8)
    seen = {}

    def run():
        try:
            guarded(tmp_path / "b", fp, lambda: (seen.update(handler=signal.getsignal(signal.SIGTERM)), raise_(KeyboardInterrupt())))
        except KeyboardInterrupt:
            seen["raised"] = True

    before = signal.getsignal(signal.SIGTERM)
    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    assert seen == {"handler": before, "raised": True} and (tmp_path / "b").exists()


def test_save_writes_each_state_once(tmp_path, monkeypatch):
    fp = fingerprint(NET, X, y, fnn.sgd(0.1), 8)
    writes = []
    monkeypatch.setattr("fnn.backup.write_backup", lambda *args: writes.append(args[2].step))
    g = guard(tmp_path / "b", NET, fp)
    g.save()
    state = fnn.init_state(fnn.init_params(NET), fnn.sgd(0.1))
    g.completed(state)
    g.save()
    g.save()
    with pytest.raises(KeyboardInterrupt), g:
        raise KeyboardInterrupt
    assert writes == [0]


# --- real kills


def start(tmp_path, name, epochs, every=1):
    argv = [sys.executable, str(ROOT / "scripts" / "resumable.py"), "--backup", str(tmp_path / f"{name}.backup"),
            "--out", str(tmp_path / f"{name}.out"), "--epochs", str(epochs), "--every", str(every)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def final(tmp_path, name):
    """The final state and losses a run wrote to ``<name>.out``."""
    net, X_, y_, opt = resumable.problem()
    state, record = resume(tmp_path / f"{name}.out", net, opt, fingerprint(net, X_, y_, opt, resumable.BATCH_SIZE, resumable.SEED))
    return state, record["losses"]


def wait_for(proc, word, count):
    """Read the child's lines until the ``count``-th that starts with ``word``; False if it ended first."""
    seen = 0
    for line in proc.stdout:
        seen += line.startswith(word)
        if seen == count:
            return True
    return False


def saving(directory, base) -> bool:
    """Whether a save of ``base`` is in progress in ``directory`` (its temporary file exists)."""
    return any(n.startswith(f".{base}.") and n.endswith(".tmp") for n in os.listdir(directory))


def kill_and_restart(tmp_path, kills, epochs, seed):
    """Run the script with a backup every epoch, SIGKILLing it ``kills`` times and restarting it:
    at a random moment while it starts, up to 20 ms after its k-th epoch marker (k <= 4), or as soon
    as a save's temporary file appears (in the middle of a save; every third kill); after each kill
    the backup must read whole. Returns ``(final state, losses, kills that left a save's temporary)``."""
    rng = np.random.default_rng(seed)
    backup, mid_save = tmp_path / "killed.backup", 0
    for n in range(kills):
        proc = start(tmp_path, "killed", epochs)
        if n % 3 == 2:
            assert wait_for(proc, "epoch", 1)
            deadline = time.monotonic() + 30
            while not saving(tmp_path, backup.name):
                assert proc.poll() is None and time.monotonic() < deadline, "the run ended before it was killed"
        elif rng.integers(3) == 0:  # starting, reading the backup, or in its first epoch
            time.sleep(rng.uniform(0.0, 0.6))
        else:
            assert wait_for(proc, "epoch", int(rng.integers(1, 5))), "the run ended before it was killed: give it more epochs"
            time.sleep(rng.uniform(0, 0.02))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close(), proc.stderr.close()
        assert proc.returncode == -signal.SIGKILL, "the run ended before it was killed: give it more epochs"
        mid_save += bool(stale_temporaries(str(backup)))
        if backup.exists():
            net, X_, y_, opt = resumable.problem()
            read_backup(backup, net, opt, fingerprint(net, X_, y_, opt, resumable.BATCH_SIZE, resumable.SEED))
    proc = start(tmp_path, "killed", epochs)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-2000:]
    assert sorted(os.listdir(tmp_path)) == ["killed.out"]  # the backup removed, no temporary left
    return (*final(tmp_path, "killed"), mid_save)


def uninterrupted(tmp_path, epochs):
    proc = start(tmp_path, "clean", epochs)
    assert proc.communicate(timeout=120)[0].splitlines()[-1] == f"done {epochs * resumable.PER_EPOCH}"
    state = final(tmp_path, "clean")
    os.remove(tmp_path / "clean.out")
    return state


@pytest.mark.parametrize("kills, epochs, seed", [
    (12, 40, 14),
    pytest.param(40, 150, 41, marks=pytest.mark.slow),  # the soak
])
def test_a_run_killed_many_times_ends_as_an_uninterrupted_one(tmp_path, kills, epochs, seed):
    clean, clean_losses = uninterrupted(tmp_path, epochs)
    state, losses, mid_save = kill_and_restart(tmp_path, kills=kills, epochs=epochs, seed=seed)
    assert_same_state(state, clean)
    assert losses == clean_losses and mid_save >= 1
    print(f"kills: {kills} survived; {mid_save} of them in a save")


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 128 + signal.SIGTERM), (signal.SIGINT, None)])
def test_a_terminated_run_writes_its_last_step_and_resumes(tmp_path, signum, code):
    """No periodic saves (every 1000 epochs): the backup is the one written on the way out, mid-epoch."""
    clean, clean_losses = uninterrupted(tmp_path, 12)
    proc = start(tmp_path, "stopped", 12, every=1000)
    assert wait_for(proc, "epoch 4", 1)
    time.sleep(0.002)
    proc.send_signal(signum)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode in ((code,) if code else (-signal.SIGINT, 128 + signal.SIGINT, 1))
    net, X_, y_, opt = resumable.problem()
    step = read_backup(tmp_path / "stopped.backup", net, opt, fingerprint(net, X_, y_, opt, 32, 0)).step
    assert 4 * resumable.PER_EPOCH <= step < 12 * resumable.PER_EPOCH
    done = start(tmp_path, "stopped", 12, every=1000)
    assert done.communicate(timeout=60)[0].splitlines()[-1] == f"done {12 * resumable.PER_EPOCH}"
    state, losses = final(tmp_path, "stopped")
    assert_same_state(state, clean)
    assert losses == clean_losses
