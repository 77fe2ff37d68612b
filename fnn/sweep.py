"""Sweeps: ``sweep(fn, configs, executor)`` maps ``fn`` over configs on any ``concurrent.futures.Executor``.

One machine: the default process pool, one worker per available core. A Dask cluster:
``distributed.Client(address).get_executor()``. Results come back in config order whatever
order the workers finish in; an exception raised by ``fn`` is raised here.
"""
from __future__ import annotations

import os
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Any, Callable, Iterable


def cores() -> int:
    """The number of cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def sweep(fn: Callable[[Any], Any], configs: Iterable[Any], executor: Executor | None = None) -> list:
    """``[fn(c) for c in configs]``, computed on ``executor`` (default: a local process pool).

    ``fn`` and the configs must pickle when the executor runs in other processes. A passed
    executor is left open; the default pool is shut down before returning.

    >>> from concurrent.futures import ThreadPoolExecutor
    >>> with ThreadPoolExecutor(2) as pool:
    ...     sweep(abs, [-3, 1, -2], pool)
    [3, 1, 2]
    """
    if not callable(fn):
        raise TypeError(f"fn: expected a callable config -> result, got {type(fn).__name__}")
    if executor is not None and not isinstance(executor, Executor):
        raise TypeError(
            f"executor: expected a concurrent.futures.Executor (or None for a process pool), got {type(executor).__name__}"
        )
    configs = list(configs)
    if executor is not None:
        return list(executor.map(fn, configs))
    if not configs:
        return []
    with ProcessPoolExecutor(max_workers=min(cores(), len(configs))) as pool:
        return list(pool.map(fn, configs))
