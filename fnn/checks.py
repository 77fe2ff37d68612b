"""Argument checks for the public entry points.

Each check either returns the (possibly converted) value or raises ``ValueError`` /
``TypeError`` whose message names the argument, what was expected and what came, e.g.
``Y: expected shape (300, 1) like the network output, got (300,); use fnn.targets(net, y)``.
"""
from __future__ import annotations

import math
import numbers
from typing import Any, Mapping

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


def numeric(name: str, value: Any) -> np.ndarray:
    """``np.asarray(value)`` if it is real numeric (ints or floats; no bool, str, object, complex)."""
    try:
        arr = np.asarray(value)
    except ValueError as err:
        raise ValueError(f"{name}: expected a rectangular real numeric array, got a ragged sequence ({err})") from None
    if arr.dtype.kind not in "iuf":
        hint = "; convert with .astype(float)" if arr.dtype.kind == "b" else ""
        raise TypeError(f"{name}: expected a real numeric array (int or float), got dtype {arr.dtype}{hint}")
    return arr


def _finite_sum(arr: np.ndarray) -> bool:
    """Whether ``sum(arr)`` is finite (an overflow, which says nothing yet, raises no warning)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return math.isfinite(np.sum(arr))


def finite(name: str, arr: np.ndarray) -> np.ndarray:
    """``arr`` if every entry is finite; one sum decides in the common case (a sum of finite
    numbers is finite unless it overflows, which the exact check then sorts out)."""
    if arr.dtype.kind == "f" and not _finite_sum(arr) and not np.isfinite(arr).all():
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise ValueError(
            f"{name}: expected finite values, got {arr[tuple(bad)].item()!r} at index {tuple(int(i) for i in bad)}"
        )
    return arr


def matrix(name: str, value: Any, n_cols: int | None = None, what: str = "", dtype: Any = None) -> np.ndarray:
    """A finite 2-D real array ``(m, n_cols)`` with ``m >= 1``, cast to ``dtype`` when given."""
    arr = numeric(name, value)
    expected = f"(m, {n_cols})" if n_cols is not None else "(m, n)"
    if arr.ndim != 2:
        hint = "; use X.reshape(-1, 1) for a single feature" if arr.ndim == 1 and n_cols == 1 else ""
        raise ValueError(f"{name}: expected a 2-D array of shape {expected}{what}, got shape {arr.shape}{hint}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name}: expected a non-empty array of shape {expected}{what}, got shape {arr.shape}")
    if n_cols is not None and arr.shape[1] != n_cols:
        hint = "; X looks transposed (samples must be rows)" if arr.shape[0] == n_cols else ""
        raise ValueError(f"{name}: expected shape {expected}{what}, got {arr.shape}{hint}")
    finite(name, arr)
    if dtype is not None and arr.dtype != dtype:
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
