"""fnn.sweep: results in config order on a process pool, any Executor, and a Dask LocalCluster on loopback;
failed configs reported with their config and traceback; a worker killed mid-sweep loses nothing."""
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import fnn

from scripts import sweep as script  # by name, so that worker processes can import train too

CONFIGS = script.grid([2, 4], [0.01, 0.1], seeds=2, epochs=3)


def bounded(fn, *args, seconds=60):
    """``fn(*args)``, failing the test instead of hanging when a cluster does not answer in time."""
    with ThreadPoolExecutor(1) as runner:
        return runner.submit(fn, *args).result(timeout=seconds)


def slow_square(x):
    """Later configs finish first, so order must come from the configs, not from completion."""
    time.sleep(0.02 * (5 - x))
    return x * x


def diverge(lr):
    net = fnn.network([2, 1], output="identity")
    return fnn.fit(net, np.ones((4, 2)) * 1e3, np.ones(4) * 1e3, fnn.sgd(lr), epochs=50).losses[-1]


def test_default_pool_keeps_config_order():
    assert fnn.sweep(slow_square, range(6)) == [x * x for x in range(6)]


def test_training_configs_equal_the_local_loop():
    assert fnn.sweep(script.train, CONFIGS) == [script.train(c) for c in CONFIGS]


def test_a_passed_executor_is_used_and_left_open():
    with ThreadPoolExecutor(3) as pool:
        assert fnn.sweep(slow_square, [4, 1, 3], pool) == [16, 1, 9]
        assert pool.submit(abs, -1).result() == 1


def test_empty_configs():
    assert fnn.sweep(abs, []) == []


def test_an_error_in_a_worker_is_raised_with_its_config_state_and_traceback():
    with pytest.raises(fnn.SweepError) as info:
        fnn.sweep(diverge, [1e-9, 10.0])
    err = info.value
    assert (err.index, err.config) == (1, 10.0) and isinstance(err.__cause__, fnn.DivergenceError)
    assert err.exception.state.optimizer.name == "sgd" and np.isfinite(err.exception.state.params.flat).all()
    assert "in diverge" in err.traceback and "DivergenceError" in err.traceback and "config 1 (10.0)" in str(err)


def fail_odd(x):
    """Odd configs raise; the slower the smaller, so the first failure in config order finishes last."""
    time.sleep(0.01 * (6 - x))
    if x % 2:
        raise KeyError(f"odd {x}")
    return x


@pytest.mark.parametrize("executor", [None, "threads"])
def test_errors_return_puts_each_failure_in_its_place(executor):
    with ThreadPoolExecutor(3) as pool:
        out = fnn.sweep(fail_odd, range(6), pool if executor else None, errors="return")
    assert [v for v in out[::2]] == [0, 2, 4]
    assert [(e.index, e.config, type(e.exception)) for e in out[1::2]] == [(i, i, KeyError) for i in (1, 3, 5)]
    assert all(f"KeyError: 'odd {e.config}'" in e.traceback for e in out[1::2])


def test_errors_raise_raises_the_first_failure_in_config_order():
    with ThreadPoolExecutor(6) as pool, pytest.raises(fnn.SweepError) as info:
        fnn.sweep(fail_odd, range(6), pool)
    assert info.value.index == 1 and info.value.exception.args == ("odd 1",)


def test_errors_raise_cancels_later_configs_not_started():
    ran = []

    def record(x):
        ran.append(x)
        if x == 1:
            raise ValueError("one")
        time.sleep(0.05)
        return x

    with ThreadPoolExecutor(1) as pool, pytest.raises(fnn.SweepError, match="ValueError: one"):
        fnn.sweep(record, range(8), pool)
    assert ran[:2] == [0, 1] and len(ran) < 8


def test_errors_must_be_raise_or_return():
    with pytest.raises(ValueError, match="errors: expected 'raise' or 'return', got 'ignore'"):
        fnn.sweep(abs, [1], errors="ignore")


def die_once(args):
    """SIGKILL its own process the first time any config runs (a marker file says who went first)."""
    directory, x = args
    try:
        os.close(os.open(os.path.join(directory, "died"), os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        return x * x
    os.kill(os.getpid(), signal.SIGKILL)


def test_default_pool_is_rebuilt_when_a_process_dies(tmp_path):
    assert fnn.sweep(die_once, [(str(tmp_path), x) for x in range(5)]) == [x * x for x in range(5)]
    assert (tmp_path / "died").exists()


def test_a_broken_passed_pool_is_reported_not_retried(tmp_path):
    from concurrent.futures import BrokenExecutor, ProcessPoolExecutor

    with ProcessPoolExecutor(1) as pool:
        out = fnn.sweep(die_once, [(str(tmp_path), x) for x in range(3)], pool, errors="return")
    assert all(isinstance(e, fnn.SweepError) and isinstance(e.exception, BrokenExecutor) for e in out)


@pytest.mark.parametrize("fn, executor, words", [(3, None, ["fn", "callable"]), (abs, "pool", ["executor", "Executor"])])
def test_bad_arguments(fn, executor, words):
    with pytest.raises(TypeError) as info:
        fnn.sweep(fn, [1], executor)
    assert all(w in str(info.value) for w in words)


@pytest.fixture
def local_cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(host="127.0.0.1", n_workers=1, threads_per_worker=2, processes=False, protocol="tcp://",
                                  dashboard_address="127.0.0.1:0") as cluster:
        with distributed.Client(cluster, timeout=20) as client:
            yield client


def test_local_cluster_equals_the_local_run(local_cluster):
    assert local_cluster.scheduler.address.startswith("tcp://127.0.0.1:")
    executor = local_cluster.get_executor()
    assert bounded(fnn.sweep, script.train, CONFIGS, executor) == fnn.sweep(script.train, CONFIGS)
    assert bounded(fnn.sweep, slow_square, range(6), executor) == [x * x for x in range(6)]


@pytest.mark.slow
def test_script_on_a_two_process_cluster(tmp_path):
    distributed = pytest.importorskip("distributed")
    argv = ["--hidden", "4", "8", "--lr", "0.01", "0.1", "--seeds", "2", "--epochs", "20"]
    local = script.main(argv + ["--out", str(tmp_path / "local")])
    with distributed.LocalCluster(host="127.0.0.1", n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address="127.0.0.1:0") as cluster:
        remote = bounded(script.main, argv + ["--out", str(tmp_path / "dask"), "--scheduler", cluster.scheduler_address])
    assert remote == local and len(local) == 8
    assert (tmp_path / "dask" / "sweep.csv").read_text() == (tmp_path / "local" / "sweep.csv").read_text()
    assert (tmp_path / "dask" / "sweep.png").stat().st_size > 0


def test_the_script_reports_the_best_mean_cell_not_the_luckiest_seed():
    rows = [{"hidden": h, "learning_rate": lr, "test_accuracy": acc}
            for h, lr, acc in [(4, 0.001, 0.98), (4, 0.001, 0.83), (8, 0.01, 0.97), (8, 0.01, 0.99)]]
    stats = script.cells(rows)
    assert stats[4, 0.001] == pytest.approx((0.905, np.std([0.98, 0.83], ddof=1), 2))
    (best, (mean, sd, n)) = script.best_cell(stats)
    assert best == (8, 0.01) and mean == pytest.approx(0.98) and sd == pytest.approx(0.01414, abs=1e-5) and n == 2


def test_the_script_options_quick_grid_and_explicit_values():
    quick = script.options(["--quick"])
    assert (quick.hidden, quick.lr, quick.seeds, quick.epochs) == (
        script.QUICK["hidden"], script.QUICK["lr"], script.QUICK["seeds"], script.QUICK["epochs"])
    mixed = script.options(["--quick", "--epochs", "7"])
    assert mixed.epochs == 7 and mixed.seeds == script.QUICK["seeds"]
    assert script.options([]).hidden == script.DEFAULTS["hidden"]


def marked_train(args):
    """``script.train(config)`` after leaving a file named for this process in ``directory`` (so the
    test knows which worker runs a task) and a pause (so the task is still running when it is killed)."""
    directory, config = args
    open(os.path.join(directory, f"{os.getpid()}.{config['hidden']}.{config['learning_rate']}.{config['seed']}"), "w").close()
    time.sleep(0.3)
    return script.train(config)


def test_killing_a_dask_worker_mid_sweep_loses_nothing(tmp_path):
    """Two worker processes; one is SIGKILLed while it runs a task: Dask reschedules its tasks
    (its nanny starts a new process) and the results equal a clean run's, row for row."""
    distributed = pytest.importorskip("distributed")
    clean = fnn.sweep(script.train, CONFIGS)
    with distributed.LocalCluster(host="127.0.0.1", n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster, timeout=30) as client:
        victim = min(client.run(os.getpid).values())
        runner = ThreadPoolExecutor(1)
        running = runner.submit(fnn.sweep, marked_train, [(str(tmp_path), c) for c in CONFIGS], client.get_executor())
        deadline = time.monotonic() + 30
        while not any(p.name.startswith(f"{victim}.") for p in tmp_path.iterdir()):
            assert time.monotonic() < deadline and not running.done(), "the victim never started a task"
            time.sleep(0.01)
        os.kill(victim, signal.SIGKILL)
        results = running.result(timeout=60)
        runner.shutdown()
        assert victim not in client.run(os.getpid).values()
    assert results == clean
    assert len(list(tmp_path.iterdir())) > len(CONFIGS)  # the killed task ran again elsewhere


def test_member_tasks_equal_one_task_per_config():
    tasks = script.member_tasks(CONFIGS)
    assert [len(t) for t in tasks] == [4, 4] and {c["hidden"] for c in tasks[1]} == {4}
    members = script.run(CONFIGS, None)
    alone = [script.train(c) for c in CONFIGS]
    assert [{k: r[k] for k in ("hidden", "learning_rate", "seed")} for r in members] == \
           [{k: r[k] for k in ("hidden", "learning_rate", "seed")} for r in alone]
    for a, b in zip(members, alone):
        assert a["train_accuracy"] == b["train_accuracy"] and a["test_accuracy"] == b["test_accuracy"]
        assert a["final_loss"] == pytest.approx(b["final_loss"], rel=1e-10)
