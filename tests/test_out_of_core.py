"""Data larger than memory (issue 14): ``fit`` and ``batches`` take a ``numpy.memmap`` or any array-like
with ``shape``, ``dtype`` and NumPy indexing (an h5py dataset) and read it a block or a batch at a
time: the same results bit for bit as the array in memory, no full-size temporary, no copy."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fnn
from fnn import checks
from fnn.training import read_only

ROOT = Path(__file__).resolve().parents[1]
RNG = np.random.default_rng(7)
X32 = RNG.standard_normal((3000, 6)).astype(np.float32)
Y = (X32[:, 0] > X32[:, 1]).astype(int)
NET = fnn.network([6, 8, 1])


def memmap(tmp_path, mode, arr=X32):
    path = tmp_path / "x.dat"
    if not path.exists():
        out = np.memmap(path, dtype=arr.dtype, mode="w+", shape=arr.shape)
        out[:] = arr
        out.flush()
        del out
    return np.memmap(path, dtype=arr.dtype, mode=mode, shape=arr.shape)


class Rows:
    """An array-like that is not an ndarray: ``shape``, ``dtype`` and indexing, recording how many
    rows each read takes; reading it whole (``np.asarray``) fails."""

    def __init__(self, arr):
        self.arr, self.shape, self.dtype, self.reads = arr, arr.shape, arr.dtype, []

    def __getitem__(self, index):
        out = self.arr[index]
        self.reads.append(len(out))
        return out

    def __array__(self, *args, **kwargs):
        raise AssertionError("read whole")


def fits(X, **kw):
    return fnn.fit(NET, X, Y, fnn.adam(0.01), epochs=2, batch_size=kw.pop("batch_size", 64), **kw)


def assert_same_fit(a, b):
    np.testing.assert_array_equal(a.state.params.flat, b.state.params.flat)
    np.testing.assert_array_equal(a.losses, b.losses)


@pytest.mark.parametrize("mode", ["r", "r+", "c"])
@pytest.mark.parametrize("kw", [{}, {"batch_size": None}, {"validation": (X32[:50], Y[:50])}])
def test_a_memmap_fits_as_the_array_in_memory(tmp_path, mode, kw):
    assert_same_fit(fits(memmap(tmp_path, mode), **dict(kw)), fits(X32, **dict(kw)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float32_params_on_a_memmap(tmp_path, dtype):
    params = fnn.init_params(NET, dtype=np.float32)
    X = memmap(tmp_path, "r", X32.astype(dtype))
    a = fnn.fit(NET, X, Y, epochs=1, batch_size=100, params=params)
    assert a.state.params.flat.dtype == np.float32
    assert_same_fit(a, fnn.fit(NET, X32.astype(dtype), Y, epochs=1, batch_size=100, params=params))


@pytest.mark.parametrize("mode", ["r", "r+", "c"])
def test_batches_of_a_memmap_are_those_of_the_array(tmp_path, mode):
    X = memmap(tmp_path, mode)
    got, want = list(fnn.batches(X, X, batch_size=700, epochs=2)), list(fnn.batches(X32, X32, batch_size=700, epochs=2))
    assert len(got) == len(want) == 10
    for (a, b), (c, _) in zip(got, want):
        np.testing.assert_array_equal(a, c)
        assert type(a) is np.ndarray and not a.flags.writeable and not np.shares_memory(a, X) and a.dtype == np.float32


@pytest.mark.parametrize("mode", ["r+", "c"])
def test_a_writable_memmap_is_never_copied(tmp_path, mode):
    X = memmap(tmp_path, mode)
    frozen = read_only(X)
    assert np.shares_memory(frozen, X) and not frozen.flags.writeable and X.flags.writeable
    whole, _ = next(fnn.batches(X, X))
    assert np.shares_memory(whole, X) and not whole.flags.writeable
    mine = X32.copy()
    view = read_only(mine)  # an array in memory is read in place too, never flagged
    assert np.shares_memory(view, mine) and not view.flags.writeable and mine.flags.writeable


def test_an_array_like_is_read_a_block_or_a_batch_at_a_time():
    X = Rows(X32)
    assert_same_fit(fits(X), fits(X32))
    assert max(X.reads) <= max(64, checks.BLOCK // 6) and sum(X.reads) == 3000 + 2 * 3000  # one scan, two epochs
    assert [b.shape for b, _ in fnn.batches(Rows(X32), X32, batch_size=1000)] == [(1000, 6)] * 3


def test_an_h5py_dataset_fits_as_the_array_in_memory(tmp_path):
    h5py = pytest.importorskip("h5py")
    with h5py.File(tmp_path / "x.h5", "w") as f:
        f["X"] = X32
    with h5py.File(tmp_path / "x.h5", "r") as f:
        assert_same_fit(fits(f["X"]), fits(X32))
        assert_same_fit(fits(f["X"], batch_size=None), fits(X32, batch_size=None))


def test_bad_values_in_a_memmap_are_found_by_the_scan(tmp_path):
    bad = X32.copy()
    bad[2500, 3] = np.nan
    with pytest.raises(ValueError, match=r"X: expected finite values, got nan at index \(2500, 3\)"):
        fits(memmap(tmp_path, "r", bad))


def demo(tmp_path, rows, limit_mb, mode="r"):
    """``scripts/memmap_demo.py`` in a subprocess (its own memory), with private memory capped at its
    level before ``fit`` plus ``limit_mb``: a full-size temporary raises MemoryError there."""
    argv = [sys.executable, str(ROOT / "scripts" / "memmap_demo.py"), "--path", str(tmp_path / "x.f32"),
            "--rows", str(rows), "--cols", "256", "--mode", mode, "--limit-mb", str(limit_mb)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("mode", ["r", "c"])
def test_one_epoch_on_a_memmap_makes_no_full_size_temporary(tmp_path, mode):
    """64 MiB of float32 trained by float64 params with the private memory capped at +24 MiB: the
    old whole cast to float64 (128 MiB) or a copy (64 MiB) would fail."""
    out = demo(tmp_path, 65536, 24, mode)
    assert out["data_mib"] == 64.0 and out["peak_anon_mib"] < 16 and np.isfinite(out["final_loss"])


@pytest.mark.slow
def test_one_epoch_on_a_200_mb_memmap_grows_by_a_few_batches(tmp_path):
    out = demo(tmp_path, 204800, 32)
    assert out["data_mib"] == 200.0 and out["peak_anon_mib"] < 24
