"""Fresh arrays that do not depend on the allocator's mood: a pool that recycles dead buffers.

A pure step returns new arrays every time. glibc serves large blocks with ``mmap`` and gives
them back to the kernel on free, so a step that allocates and frees arrays of a few hundred KiB
can page-fault on every one of them, or not, depending on what ran before. ``empty(shape, dtype)``
takes arrays of ``POOLED_BYTES`` or more from a pool instead: an array is handed out again only
when nothing refers to it any more (its reference count is back to the pool's own; every NumPy
view keeps its owner alive), exactly as the allocator reuses freed memory, but without returning
it to the kernel. Smaller arrays come from ``np.empty`` (the heap serves them without faults).
Arrays over ``LARGEST_POOLED`` bytes (a one-off forward pass over a big data set, whose page
faults are small beside its work) are not pooled either. The pool keeps at most ``PER_SIZE``
arrays of each shape and dtype and ``MAX_POOL_BYTES`` in all; ``clear()`` lets them go.
"""
from __future__ import annotations

import math
import sys
import threading

import numpy as np

POOLED_BYTES = 1 << 14
LARGEST_POOLED = 1 << 25
PER_SIZE = 8
MAX_POOL_BYTES = 1 << 28

_pool: dict[tuple, list[np.ndarray]] = {}
_held = [0]  # bytes the pool holds
_lock = threading.Lock()


def _first_free(arrays: list[np.ndarray], free_refs: int) -> np.ndarray | None:
    """The first array in ``arrays`` that nothing outside the pool refers to (no view either)."""
    for arr in arrays:
        if sys.getrefcount(arr) <= free_refs:
            return arr
    return None


def _calibrate() -> int:
    """The reference count ``_first_free`` sees for an array that only the pool holds."""
    arrays, refs = [np.empty(1)], 1
    while _first_free(arrays, refs) is None:
        refs += 1
    return refs


_FREE_REFS = _calibrate()


def empty(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """A fresh, writable, C-contiguous array; from the pool when it has ``POOLED_BYTES`` to ``LARGEST_POOLED``.

    >>> a = empty((3, 4), np.dtype(np.float64)); a.shape, a.dtype, a.flags.writeable
    ((3, 4), dtype('float64'), True)
    """
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes < POOLED_BYTES or nbytes > LARGEST_POOLED:
        return np.empty(shape, dtype)
    key = (shape, dtype)
    with _lock:
        arrays = _pool.get(key)
        if arrays is None:
            arrays = _pool[key] = []
        arr = _first_free(arrays, _FREE_REFS)
        if arr is None:
            arr = np.empty(shape, dtype)
            if len(arrays) < PER_SIZE and _held[0] + nbytes <= MAX_POOL_BYTES:
                arrays.append(arr)
                _held[0] += nbytes
        else:
            arr.flags.writeable = True  # a record froze it; nothing refers to it any more
    return arr


def empty_like(a: np.ndarray) -> np.ndarray:
    """A fresh writable array shaped like ``a``, in its memory order (from the pool when C-ordered):
    a kernel's temporaries follow its inputs' layout, so its reductions sum in the same order.

    >>> empty_like(np.zeros((3, 2), order="F")).flags.f_contiguous
    True
    """
    if a.nbytes < POOLED_BYTES or not a.flags.c_contiguous:
        return np.empty_like(a)
    return empty(a.shape, a.dtype)


def clear() -> None:
    """Forget every pooled buffer (arrays still in use keep theirs)."""
    with _lock:
        _pool.clear()
        _held[0] = 0
