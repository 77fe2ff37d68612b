"""The benchmark's smoke mode runs every workload and contender with its trajectory checks."""
from __future__ import annotations

import importlib.util
import pathlib
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]


def load_benchmark():
    spec = importlib.util.spec_from_file_location("benchmark", ROOT / "scripts" / "benchmark.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_quick_run_checks_and_times_every_workload(capsys):
    bench = load_benchmark()
    rows = bench.main(["--quick"])
    assert [r["workload"].name for r in rows] == ["W1", "W2", "W3", "W4", "W5", "W1 f32", "W4 f32"]
    for row in rows:
        assert {"tutorial", "fit", "fold"} <= set(row["times"]) and all(t > 0 for t in row["times"].values())
        assert all(t["first"] > 0 and t["faults"] >= 0 for t in row["timing"].values())
        assert ("hand" in row["times"]) == (row["workload"].id == "W5")
    assert rows[3]["floor"] > 0
    out = capsys.readouterr().out
    assert "| W4 f32 | s/epoch |" in out and "GEMM floor" in out and "this machine's GEMM:" in out
    assert "| fold / fit (warm) |" in out
    assert out.count("These timings mean nothing") == 2  # the smoke-run banner, before the runs and above the table
    floor_rate, machine, n = rows[3]["gflops"]
    assert floor_rate > 0 and machine > 0 and n == 256


def test_the_hand_written_w5_step_ends_where_fnn_does_bit_for_bit():
    bench = load_benchmark()
    w = bench.WORKLOADS[4]
    X, y = bench.load(w)
    hand = bench.run_hand(w, X, y, bench.initial_pairs(w), 50)
    ours = bench.run_fnn(w, X, y, bench.initial_pairs(w), 50)
    folded = bench.run_fold(w, X, y, bench.initial_pairs(w), 50)
    assert all(np.array_equal(a, b) for pa, pb in zip(folded, ours) for a, b in zip(pa, pb))
    assert all(np.array_equal(a, b) for pa, pb in zip(hand, ours) for a, b in zip(pa, pb))
    assert not np.array_equal(hand[0][0], bench.initial_pairs(w)[0][0])  # it trained


def test_epoch_flops_count_the_floors_products():
    bench = load_benchmark()
    w = bench.replace(bench.WORKLOADS[3], sizes=(3, 5, 2))
    # per row: layer 1 forward and dW (2 products of 3x5), layer 2 forward, dW and dA (3 of 5x2)
    assert bench.epoch_flops(w, 10) == 2 * 10 * (2 * 15 + 3 * 10)


def test_the_check_catches_a_contender_that_does_different_math():
    bench = load_benchmark()
    w = bench.WORKLOADS[0]
    X, y = bench.load(w)
    end = bench.run_fnn(w, X, y, bench.initial_pairs(w), 3)
    wrong = lambda w_, X_, y_, pairs, epochs: bench.run_fnn(bench.replace(w_, lr=w_.lr * 1.5), X_, y_, pairs, epochs)  # noqa: E731
    try:
        bench.check(w, "wrong", wrong, X, y, end, 3, 1e-6)
    except AssertionError as err:
        assert "W1 wrong" in str(err)
    else:
        raise AssertionError("a different learning rate passed the trajectory check")
    assert bench.check(w, "tutorial", bench.run_tutorial, X, y, end, 3, 1e-6) < 1e-6
    assert np.isfinite(bench.gemm_floor(bench.replace(bench.WORKLOADS[3], rows=512), 512, reps=1))


def test_profile_shows_where_fnns_time_goes(capsys):
    bench = load_benchmark()
    assert bench.main(["--quick", "--only", "W5", "--profile"]) == []
    out = capsys.readouterr().out
    assert "## W5" in out and "advance" in out and "| W5 |" not in out


def test_a_contender_is_measured_in_a_fresh_process():
    bench = load_benchmark()
    got = bench.timed_fresh(bench.WORKLOADS[4], ["fold"], 1, 1)
    assert set(got) == {"fold"} and got["fold"]["warm"] > 0 and got["fold"]["first"] > 0 and got["fold"]["faults"] >= 0


def test_the_memmap_case_trains_an_epoch_in_a_fresh_process(tmp_path):
    bench = load_benchmark()
    m = bench.memmap_run(str(tmp_path / "x.f32"), 1, rows=20000, cols=32)
    assert m["rows"] == 20000 and m["seconds"] > 0 and np.isfinite(m["final_loss"])
    assert m["peak_anon_mib"] < m["data_mib"]  # no full-size temporary
    assert "| 20000 x 32 float32 memmap" in bench.memmap_table(m)
