"""fnn.sweep: results in config order on a process pool, any Executor, and a Dask LocalCluster on loopback."""
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


def test_an_error_in_a_worker_is_raised_with_its_state():
    with pytest.raises(fnn.DivergenceError) as info:
        fnn.sweep(diverge, [1e-9, 10.0])
    assert info.value.state.optimizer.name == "sgd" and np.isfinite(info.value.state.params.flat).all()


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
