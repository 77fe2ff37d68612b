"""Fresh arrays that do not depend on the allocator's mood: a pool that recycles dead buffers.

A pure step returns new arrays every time. glibc serves large blocks with ``mmap`` and gives
them back to the kernel on free, so a step that allocates and frees arrays of a few hundred KiB
can page-fault on every one of them, or not, depending on what ran before. ``empty(shape, dtype)``
takes arrays of ``POOLED_BYTES`` or more from a pool of raw buffers instead: a buffer is handed
out again only when no array refers to it any more (its reference count is back to the pool's
own; every NumPy view keeps its owner alive), exactly as the allocator reuses freed memory, but
without returning it to the kernel. Smaller arrays come from ``np.empty`` (the heap serves them
without faults). The pool keeps at most ``PER_SIZE`` buffers of each byte size.
"""
from __future__ import annotations

import math
import sys
import threading

import numpy as np

POOLED_BYTES = 1 << 14
PER_SIZE = 8

_pool: dict[int, list[np.ndarray]] = {}
_lock = threading.Lock()


def _first_free(raws: list[np.ndarray], free_refs: int) -> np.ndarray | None:
    """The first buffer in ``raws`` that nothing outside the pool refers to."""
    for raw in raws:
        if sys.getrefcount(raw) <= free_refs:
            return raw
    return None


def _calibrate() -> int:
    """The reference count ``_first_free`` sees for a buffer that only the pool holds."""
    raws, refs = [np.empty(1, np.uint8)], 1
    while _first_free(raws, refs) is None:
        refs += 1
    return refs


_FREE_REFS = _calibrate()


def empty(shape, dtype) -> np.ndarray:
    """A fresh, writable, C-contiguous array; from the pool when it has ``POOLED_BYTES`` or more.

    >>> a = empty((3, 4), np.float64); a.shape, a.dtype, a.flags.writeable
    ((3, 4), dtype('float64'), True)
    """
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize if isinstance(shape, tuple) else shape * dtype.itemsize
    if nbytes < POOLED_BYTES:
        return np.empty(shape, dtype)
    with _lock:
        raws = _pool.setdefault(nbytes, [])
        raw = _first_free(raws, _FREE_REFS)
        if raw is None:
            raw = np.empty(nbytes, np.uint8)
            if len(raws) < PER_SIZE:
                raws.append(raw)
        raw.flags.writeable = True
        arr = raw.view(dtype).reshape(shape)
        raw.flags.writeable = False  # the view stays writable; read-only views of it cannot be unfrozen
    return arr


def clear() -> None:
    """Forget every pooled buffer (arrays still in use keep theirs)."""
    with _lock:
        _pool.clear()


_ONES: dict[tuple[int, np.dtype], np.ndarray] = {}


def ones(n: int, dtype) -> np.ndarray:
    """A read-only vector of ``n`` ones (cached): ``Z @ ones`` sums rows, ``ones @ Z`` columns.

    >>> ones(3, np.float32).tolist()
    [1.0, 1.0, 1.0]
    """
    key = (n, np.dtype(dtype))
    vec = _ONES.get(key)
    if vec is None:
        vec = _ONES.setdefault(key, np.ones(n, dtype))
        vec.flags.writeable = False
    return vec
