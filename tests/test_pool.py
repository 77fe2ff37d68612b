"""The buffer pool: fresh arrays are never shared with anything alive, dead ones are reused."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from fnn.engine import pool as buffers

F64 = np.dtype(np.float64)
BIG = (64, 64)  # 32 KiB: pooled


def test_small_and_big_arrays_are_writable_with_the_asked_shape():
    for shape in [(3,), (2, 2), BIG, (5000,)]:
        a = buffers.empty(shape, F64)
        assert a.shape == shape and a.dtype == F64 and a.flags.writeable and a.flags.c_contiguous


def test_a_live_array_or_a_live_view_of_it_is_never_handed_out_again():
    a = buffers.empty(BIG, F64)
    view = a[1:, ::2]
    del a
    fresh = [buffers.empty(BIG, F64) for _ in range(3)]
    assert all(not np.shares_memory(f, view) for f in fresh)


def test_a_dead_array_is_reused_even_after_a_record_froze_it():
    a = buffers.empty(BIG, F64)
    a.flags.writeable = False
    address = a.__array_interface__["data"][0]
    del a
    b = buffers.empty(BIG, F64)
    assert b.__array_interface__["data"][0] == address
    assert b.flags.writeable


def test_threads_never_get_the_same_array():
    held, errors = [], []

    def grab():
        mine = [buffers.empty(BIG, F64) for _ in range(200)]
        for i, arr in enumerate(mine):
            arr.fill(i)
        held.append(mine)
        if not all((arr == i).all() for i, arr in enumerate(mine)):
            errors.append("an array was written by two threads")

    threads = [threading.Thread(target=grab) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [id(a) for mine in held for a in mine]
    assert not errors and len(set(ids)) == len(ids)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_ones_is_a_cached_read_only_vector(dtype):
    from fnn.activations import ones

    v = ones(7, dtype)
    assert v.dtype == dtype and v.tolist() == [1.0] * 7 and not v.flags.writeable
    assert ones(7, dtype) is v


def test_the_pool_holds_at_most_its_byte_budget(monkeypatch):
    monkeypatch.setattr(buffers, "MAX_POOL_BYTES", 0)
    buffers.clear()
    held = [buffers.empty(BIG, F64) for _ in range(2)]
    assert buffers._held[0] == 0 and buffers._pool[(BIG, F64)] == []
    assert all(h.flags.writeable and h.shape == BIG for h in held)


def test_huge_arrays_are_not_pooled():
    shape = (buffers.LARGEST_POOLED // 8 + 1,)
    a = buffers.empty(shape, F64)
    assert a.shape == shape and (shape, F64) not in buffers._pool
