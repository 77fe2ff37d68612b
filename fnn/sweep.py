"""Sweeps: ``sweep(fn, configs, executor)`` maps ``fn`` over configs on any ``concurrent.futures.Executor``.

One machine: the default process pool, one worker per available core. A Dask cluster:
``distributed.Client(address).get_executor()``. Each config is submitted as its own task and the
results are gathered in config order, whatever order the workers finish in:

- a worker that dies mid-task (killed, out of memory) does not lose the sweep: Dask reschedules its
  tasks on the other workers; the default pool, which breaks when one of its processes dies, is
  rebuilt and the unfinished configs submitted again (at most ``RETRIES`` times);
- a config whose ``fn`` raises becomes a ``SweepError`` carrying its ``index``, ``config``, the
  ``exception`` and the worker's ``traceback`` text; ``errors="raise"`` raises the first one in
  config order (later configs not yet started are cancelled, the others finish first),
  ``errors="return"`` puts it in the results in place of the failed config's result.
"""
from __future__ import annotations

import os
import traceback as tb
from concurrent.futures import BrokenExecutor, CancelledError, Executor, Future, ProcessPoolExecutor, wait
from typing import Any, Callable, Iterable

import attrs

RETRIES = 3
"""How many times the default pool is rebuilt after one of its processes died."""


class SweepError(Exception):
    """``fn(config)`` raised ``exception`` for the config at ``index``; ``traceback`` is the text of the
    traceback where it was raised (in the worker), ``exception`` also the ``__cause__``."""

    def __init__(self, index: int, config: Any, exception: BaseException, traceback: str):
        self.index, self.config, self.exception, self.traceback = index, config, exception, traceback
        shown = repr(config)
        shown = shown if len(shown) <= 200 else shown[:197] + "..."
        super().__init__(
            f"config {index} ({shown}) raised {type(exception).__name__}: {exception}\n"
            f"traceback in the worker:\n{traceback.rstrip()}"
        )
        self.__cause__ = exception

    def __reduce__(self):
        return type(self), (self.index, self.config, self.exception, self.traceback)


@attrs.frozen
class Failed:
    """What a worker sends back instead of a result when ``fn`` raised: the exception and its
    traceback text (formatted where it happened, since a traceback object does not travel)."""

    exception: BaseException
    traceback: str


@attrs.frozen
class Call:
    """``fn`` run on one config in a worker: its result, or a ``Failed`` when it raised."""

    fn: Callable[[Any], Any]

    def __call__(self, config: Any) -> Any:
        try:
            return self.fn(config)
        except Exception as err:
            return Failed(err, tb.format_exc())


def cores() -> int:
    """The number of cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def sweep(fn: Callable[[Any], Any], configs: Iterable[Any], executor: Executor | None = None, errors: str = "raise") -> list:
    """``[fn(c) for c in configs]``, computed on ``executor`` (default: a local process pool).

    ``fn`` and the configs must pickle when the executor runs in other processes. A passed
    executor is left open; the default pool is shut down before returning. ``errors="raise"``
    raises the ``SweepError`` of the first config (in config order) whose ``fn`` raised;
    ``errors="return"`` returns it in that config's place.

    >>> from concurrent.futures import ThreadPoolExecutor
    >>> with ThreadPoolExecutor(2) as pool:
    ...     sweep(abs, [-3, 1, -2], pool), sweep(abs, [-3, "a"], pool, errors="return")[1].index
    ([3, 1, 2], 1)
    """
    if not callable(fn):
        raise TypeError(f"fn: expected a callable config -> result, got {type(fn).__name__}")
    if executor is not None and not isinstance(executor, Executor):
        raise TypeError(
            f"executor: expected a concurrent.futures.Executor (or None for a process pool), got {type(executor).__name__}"
        )
    if errors not in ("raise", "return"):
        raise ValueError(f"errors: expected 'raise' or 'return', got {errors!r}")
    configs = list(configs)
    results: dict[int, Any] = {}
    todo = list(range(len(configs)))
    for attempt in range(RETRIES + 1):
        if not todo:
            break
        if executor is not None:
            _gather(executor, Call(fn), configs, todo, results, errors, retry=False)
            break
        with ProcessPoolExecutor(max_workers=min(cores(), len(todo))) as pool:
            todo = _gather(pool, Call(fn), configs, todo, results, errors, retry=attempt < RETRIES)
    failures = sorted(i for i, value in results.items() if isinstance(value, SweepError))
    if errors == "raise" and failures:
        raise results[failures[0]]
    return [results[i] for i in range(len(configs))]


def _gather(executor: Executor, call: Call, configs: list, todo: list[int], results: dict, errors: str,
            retry: bool) -> list[int]:
    """Submit ``call(configs[i])`` for each ``i`` in ``todo`` and put each outcome (a result or a
    ``SweepError``) in ``results[i]``; returns the indices to run again on a new pool (``retry``:
    those lost when the executor broke; otherwise they fail with its ``BrokenExecutor``).

    With ``errors="raise"``, the first failure cancels the later configs not yet started."""
    futures: dict[Future, int] = {executor.submit(call, configs[i]): i for i in todo}
    broken: list[int] = []
    pending = set(futures)
    while pending:
        done, pending = wait(pending, return_when="FIRST_COMPLETED")
        for future in done:
            i = futures[future]
            try:
                value = future.result()
            except CancelledError:
                continue
            except Exception as err:  # the executor could not run it or send it back (a dead worker, no pickle)
                if retry and isinstance(err, BrokenExecutor):
                    broken.append(i)
                    continue
                value = Failed(err, "".join(tb.format_exception(err)))
            if isinstance(value, Failed):
                value = SweepError(i, configs[i], value.exception, value.traceback)
                if errors == "raise":
                    for other in pending:
                        if futures[other] > i:
                            other.cancel()
            results[i] = value
    return sorted(broken)
