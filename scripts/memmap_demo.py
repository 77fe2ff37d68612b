"""Training on data larger than memory: one epoch of ``fnn.fit`` on a float32 ``numpy.memmap``.

    python scripts/memmap_demo.py --path /tmp/x.f32 [--rows 2097152] [--cols 256] [--batch-size 256]
                                  [--mode r] [--limit-mb 0]

Writes a ``(rows, cols)`` float32 memmap at ``--path`` (2 GiB by default; kept if it is already
there with that size), trains a ``cols-64-1`` network (float64 params) on it for one epoch with
Adam, and prints one JSON line: the data size, the time, and memory growth over the fit:

- ``peak_anon_mib``: the peak of the process's anonymous memory (``RssAnon``, sampled every
  millisecond) over its level before ``fit``: what fnn allocates (batches, the model, the labels'
  targets column, the buffer pool). A full-size temporary would show as the data's size;
- ``hwm_mib``: the growth of ``VmHWM``, which also counts the file's pages mapped in as they are
  read (page cache the kernel drops under pressure, not fnn's memory): about the data's size.

``--limit-mb N`` also caps the private memory (``RLIMIT_DATA``) at its level before ``fit`` plus
N MiB, so that a full-size temporary fails with ``MemoryError`` instead of being measured.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import threading
import time

import numpy as np

if __name__ == "__main__":  # the repository's fnn, even beside a folder named fnn (see scripts/common.py)
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import fnn  # noqa: E402

CHUNK_ROWS = 1 << 14


def write_memmap(path: str, rows: int, cols: int, seed: int = 0) -> None:
    """A ``(rows, cols)`` float32 memmap at ``path`` of standard normal values, written in chunks
    (no full-size array in memory); kept as it is when a file of that size is already there."""
    if os.path.exists(path) and os.path.getsize(path) == rows * cols * 4:
        return
    X = np.memmap(path, dtype=np.float32, mode="w+", shape=(rows, cols))
    rng = np.random.default_rng(seed)
    for lo in range(0, rows, CHUNK_ROWS):
        X[lo : lo + CHUNK_ROWS] = rng.standard_normal((min(CHUNK_ROWS, rows - lo), cols), dtype=np.float32)
    X.flush()
    del X


def labels(X: np.ndarray) -> np.ndarray:
    """``X[:, 0] > X[:, 1]`` as int8 labels, read in chunks."""
    return np.concatenate([(X[lo : lo + CHUNK_ROWS, 0] > X[lo : lo + CHUNK_ROWS, 1]).astype(np.int8)
                           for lo in range(0, X.shape[0], CHUNK_ROWS)])


def status_kib(field: str) -> int:
    """A ``kB`` field of ``/proc/self/status`` (``VmHWM``, ``RssAnon``, ``VmData``)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


class PeakAnon:
    """The peak of ``RssAnon`` while the block runs, sampled by a thread every ``every`` seconds."""

    def __init__(self, every: float = 0.001):
        self.every, self.peak, self._stop = every, 0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, status_kib("RssAnon"))
            time.sleep(self.every)

    def __enter__(self) -> "PeakAnon":
        self.peak = status_kib("RssAnon")
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, status_kib("RssAnon"))


def memmap_case(path: str, rows: int, cols: int, batch_size: int = 256, mode: str = "r", hidden: int = 64,
                limit_mb: int = 0) -> dict:
    """Write the memmap (see ``write_memmap``), train one epoch on it and return the measures:
    ``data_mib``, ``seconds``, ``peak_anon_mib``, ``hwm_mib``, ``labels_mib`` (the targets column
    fit holds in memory), ``model_kib`` and ``final_loss`` (see the module docstring)."""
    write_memmap(path, rows, cols)
    X = np.memmap(path, dtype=np.float32, mode=mode, shape=(rows, cols))
    y = labels(X)
    net = fnn.network([cols, hidden, 1])
    params = fnn.init_params(net, seed=0)
    opt = fnn.adam(1e-3)
    warm = fnn.fit(net, np.asarray(X[:batch_size], np.float64), y[:batch_size], opt, 1, batch_size, params=params)  # imports, pools
    del warm
    if limit_mb:
        data = status_kib("VmData") * 1024 + limit_mb * 2**20
        resource.setrlimit(resource.RLIMIT_DATA, (data, resource.getrlimit(resource.RLIMIT_DATA)[1]))
    anon0, hwm0, start = status_kib("RssAnon"), status_kib("VmHWM"), time.perf_counter()
    with PeakAnon() as peak:
        result = fnn.fit(net, X, y, opt, epochs=1, batch_size=batch_size, params=params)
    return {
        "rows": rows, "cols": cols, "batch_size": batch_size, "mode": mode,
        "data_mib": round(rows * cols * 4 / 2**20, 1),
        "seconds": round(time.perf_counter() - start, 2),
        "peak_anon_mib": round((peak.peak - anon0) / 1024, 1),
        "hwm_mib": round((status_kib("VmHWM") - hwm0) / 1024, 1),
        "labels_mib": round(rows * 8 / 2**20, 1),
        "model_kib": round(params.flat.nbytes * 4 / 1024, 1),  # params, two Adam moments, the new params
        "final_loss": float(result.losses[-1]),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", required=True)
    parser.add_argument("--rows", type=int, default=2**21)
    parser.add_argument("--cols", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--mode", default="r", choices=["r", "r+", "c"])
    parser.add_argument("--limit-mb", type=int, default=0)
    args = parser.parse_args(argv)
    out = memmap_case(args.path, args.rows, args.cols, args.batch_size, args.mode, limit_mb=args.limit_mb)
    print(json.dumps(out), flush=True)
    return out


if __name__ == "__main__":
    main(sys.argv[1:])
