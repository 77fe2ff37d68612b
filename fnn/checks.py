"""Argument checks for the public entry points.

Each check either returns the (possibly converted) value or raises ``ValueError`` /
``TypeError`` whose message names the argument, what was expected and what came, e.g.
``Y: expected shape (300, 1) like the network output, got (300,); use fnn.targets(net, y)``.
"""
from __future__ import annotations

import math
import numbers
from typing import Any, Iterator, Mapping

import numpy as np

FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def known(name: str, value: Any, registry: Mapping[str, Any]) -> Any:
    """``registry[value]``, or ``ValueError`` listing the known names."""
    if not isinstance(value, str):
        raise TypeError(f"{name}: expected a name (str), got {type(value).__name__} {value!r}")
    if value not in registry:
        raise ValueError(f"{name}: expected one of {sorted(registry)}, got {value!r}")
    return registry[value]


def integer(name: str, value: Any, minimum: int = 0) -> int:
    """``value`` as an int ``>= minimum``; bools and floats are refused."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an int >= {minimum}, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name}: expected an int >= {minimum}, got {value!r}")
    return int(value)


def width(name: str, value: Any) -> int:
    """A layer width: an int >= 1."""
    return integer(name, value, minimum=1)


def flag(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}: expected a bool, got {type(value).__name__} {value!r}")
    return bool(value)


def real(name: str, value: Any, minimum: float | None = None, positive: bool = False) -> float:
    """A finite real number (``> 0`` when ``positive``, ``>= minimum`` when given)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a finite real number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name}: expected a finite real number, got {value!r}")
    if positive and value <= 0:
        raise ValueError(f"{name}: expected a number > 0, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name}: expected a number >= {minimum}, got {value!r}")
    return value


def dtype(name: str, value: Any) -> np.dtype:
    """float32 or float64."""
    try:
        dt = np.dtype(value)
    except TypeError:
        dt = None
    if dt not in FLOATS:
        raise TypeError(f"{name}: expected float32 or float64, got {value!r}")
    return dt


def out_of_core(value: Any) -> bool:
    """Whether ``value`` is data that may not fit in memory, to be read a block of rows at a time:
    a ``numpy.memmap``, or an array-like that is not an ndarray but has ``shape``, ``dtype`` and
    NumPy indexing (``a[lo:hi]``, ``a[rows]``; an h5py or zarr dataset)."""
    if isinstance(value, np.memmap):
        return True
    if isinstance(value, np.ndarray) or not all(hasattr(value, a) for a in ("shape", "dtype", "__getitem__")):
        return False
    try:
        return isinstance(np.dtype(value.dtype), np.dtype) and all(isinstance(n, numbers.Integral) for n in value.shape)
    except TypeError:
        return False


def numeric(name: str, value: Any, bools: bool = False, lazy: bool = False) -> Any:
    """``np.asarray(value)`` if it is real numeric (ints or floats; no str, object, complex; bool only
    when ``bools``, then as 0/1 int8). ``lazy``: data ``out_of_core`` is returned as it is, unread."""
    if lazy and out_of_core(value):
        arr = value
    else:
        try:
            arr = np.asarray(value)
        except ValueError as err:
            raise ValueError(f"{name}: expected a rectangular real numeric array, got a ragged sequence ({err})") from None
    kind = np.dtype(arr.dtype).kind
    if bools and kind == "b" and isinstance(arr, np.ndarray):
        return arr.astype(np.int8)
    if kind not in "iuf":
        hint = "; convert with .astype(float)" if kind == "b" else ""
        raise TypeError(f"{name}: expected a real numeric array (int or float), got dtype {arr.dtype}{hint}")
    return arr


BLOCK = 1 << 16
"""Elements per block scanned by ``finite`` (512 KiB of float64): its only temporaries are of this size."""


def blocks(arr: Any) -> Iterator[tuple[int, np.ndarray]]:
    """``(lo, arr[lo:hi])`` for consecutive blocks of rows of about ``BLOCK`` elements, each an ndarray
    (a view of an ndarray or memmap, a read of an array-like)."""
    if len(arr.shape) == 0:
        yield 0, np.asarray(arr)
        return
    step = max(1, BLOCK // max(1, math.prod(arr.shape[1:])))
    for lo in range(0, arr.shape[0], step):
        yield lo, np.asarray(arr[lo : lo + step])


def finite(name: str, arr: Any) -> Any:
    """``arr`` if every entry is finite, scanned a block of rows at a time (see ``blocks``): one sum
    decides a block in the common case (a sum of finite numbers is finite unless it overflows, which
    the exact check of that block then sorts out), with no floating-point warning or error whatever
    ``numpy.errstate`` says."""
    if np.dtype(arr.dtype).kind != "f":
        return arr
    for lo, block in blocks(arr):
        with np.errstate(over="ignore", invalid="ignore"):
            total = np.add.reduce(block, axis=None)
        if not math.isfinite(total) and not np.isfinite(block).all():
            bad = np.argwhere(~np.isfinite(block))[0]
            index = (lo + int(bad[0]),) + tuple(int(i) for i in bad[1:]) if block.ndim else ()
            raise ValueError(f"{name}: expected finite values, got {block[tuple(bad)].item()!r} at index {index}")
    return arr


def matrix(name: str, value: Any, n_cols: int | None = None, what: str = "", dtype: Any = None, lazy: bool = False) -> Any:
    """A finite 2-D real array ``(m, n_cols)`` with ``m >= 1``, cast to ``dtype`` when given.

    ``lazy``: data ``out_of_core`` (a memmap, an h5py dataset) is scanned in blocks and returned
    as it is, neither read whole nor cast: its reader casts what it reads."""
    arr = numeric(name, value, lazy=lazy)
    shape = tuple(arr.shape)
    expected = f"(m, {n_cols})" if n_cols is not None else "(m, n)"
    if len(shape) != 2:
        hint = "; use X.reshape(-1, 1) for a single feature" if len(shape) == 1 and n_cols == 1 else ""
        raise ValueError(f"{name}: expected a 2-D array of shape {expected}{what}, got shape {shape}{hint}")
    if shape[0] == 0 or shape[1] == 0:
        raise ValueError(f"{name}: expected a non-empty array of shape {expected}{what}, got shape {shape}")
    if n_cols is not None and shape[1] != n_cols:
        hint = "; X looks transposed (samples must be rows)" if shape[0] == n_cols else ""
        raise ValueError(f"{name}: expected shape {expected}{what}, got {shape}{hint}")
    finite(name, arr)
    if dtype is not None and arr.dtype != dtype and not (lazy and out_of_core(arr)):
        arr = arr.astype(dtype)
    return arr


def targets(name: str, value: Any, shape: tuple[int, int], dtype: Any = None) -> np.ndarray:
    """A finite targets matrix of exactly ``shape`` (the network output's); never broadcast."""
    arr = numeric(name, value)
    if arr.shape != tuple(shape):
        raise ValueError(
            f"{name}: expected shape {tuple(shape)} like the network output, got {arr.shape}; "
            "use fnn.targets(net, y)"
        )
    finite(name, arr)
    if dtype is not None and arr.dtype != dtype:
        arr = arr.astype(dtype)
    return arr


def same_rows(names: tuple[str, str], a: np.ndarray, b: np.ndarray) -> None:
    if a.shape[0] != b.shape[0]:
        raise ValueError(
            f"{names[1]}: expected {a.shape[0]} rows like {names[0]}, got {b.shape[0]} "
            f"({names[0]} {a.shape}, {names[1]} {b.shape})"
        )


def weights(name: str, value: Any, m: int, dtype: Any = None, positive_sum: bool = False) -> np.ndarray:
    """Sample weights: a finite, non-negative ``(m,)`` real vector, cast to ``dtype`` when given;
    ``positive_sum``: not all zero (a whole data set needs some weight; a batch may have none)."""
    arr = numeric(name, value)
    if arr.shape != (m,):
        raise ValueError(f"{name}: expected one weight per sample, shape ({m},), got shape {arr.shape}")
    finite(name, arr)
    if (arr < 0).any():
        raise ValueError(f"{name}: expected weights >= 0, got {arr[arr < 0][0].item()!r} at index {int(np.argmax(arr < 0))}")
    if positive_sum and not arr.any():
        raise ValueError(f"{name}: expected at least one weight > 0, got all {m} weights zero")
    if dtype is not None and arr.dtype != dtype:
        arr = arr.astype(dtype)
    return arr
