"""Data sets of the seed documents, with samples as rows.

``xor()`` is the XOR table with its constant third input; ``flatten_images`` turns images
``(m, ...)`` into rows ``(m, n_x)`` scaled to [0, 1]; ``load_h5`` reads the catvnoncat HDF5 pair
(``train_set_x``, ``train_set_y``, ``test_set_x``, ``test_set_y``, ``list_classes``) and
``digits_task`` makes a binary image task from scikit-learn's ``load_digits``; both return an
``ImageSet``. h5py and scikit-learn (the ``data`` extra) are imported only when needed.
"""
from __future__ import annotations

import os
from typing import Any

import attrs
import numpy as np

from fnn import checks
from fnn.records import frozen_array, readonly

H5_FILES = ("train_catvnoncat.h5", "test_catvnoncat.h5")


def xor() -> tuple[np.ndarray, np.ndarray]:
    """The XOR table: ``X`` (4, 3) with a constant 1 in the last column, labels ``y`` (4,).

    >>> X, y = xor(); X.tolist(), y.tolist()
    ([[0.0, 0.0, 1.0], [0.0, 1.0, 1.0], [1.0, 0.0, 1.0], [1.0, 1.0, 1.0]], [0, 1, 1, 0])
    """
    X = np.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]], dtype=np.float64)
    return readonly(X), readonly(np.array([0, 1, 1, 0]))


def flatten_images(images: Any, scale: float = 1 / 255) -> np.ndarray:
    """Images ``(m, d1, d2, ...)`` as float64 rows ``(m, d1*d2*...)`` times ``scale``.

    >>> flatten_images(np.full((2, 2, 2, 3), 255, dtype=np.uint8)).shape
    (2, 12)
    """
    arr = checks.numeric("images", images)
    if arr.ndim < 2 or arr.shape[0] == 0:
        raise ValueError(f"images: expected a non-empty array of shape (m, d1, ...), got shape {arr.shape}")
    scale = checks.real("scale", scale, positive=True)
    return readonly(arr.reshape(arr.shape[0], -1).astype(np.float64) * scale)


def _labels(name: str, y: Any) -> np.ndarray:
    """Labels as a read-only int array ``(m,)`` (a trailing axis of 1 is dropped)."""
    arr = checks.numeric(name, y)
    arr = arr.reshape(arr.shape[0]) if arr.ndim == 2 and arr.shape[1] == 1 else arr
    if arr.ndim != 1 or (arr != np.round(arr)).any():
        raise ValueError(f"{name}: expected integer labels of shape (m,), got {arr.dtype} of shape {arr.shape}")
    return readonly(arr.astype(np.intp))


@attrs.frozen(eq=False)
class ImageSet:
    """A binary image task: rows ``X_train`` (m, n_x), labels ``y_train`` (m,), the same for test.

    ``classes`` names label 0 and label 1.
    """

    X_train: np.ndarray = frozen_array("X_train")
    y_train: np.ndarray = attrs.field(converter=lambda y: _labels("y_train", y))
    X_test: np.ndarray = frozen_array("X_test")
    y_test: np.ndarray = attrs.field(converter=lambda y: _labels("y_test", y))
    classes: tuple = attrs.field(converter=tuple)


def _read(path: str, names: tuple[str, ...]) -> list[np.ndarray]:
    import h5py

    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such file (expected the catvnoncat HDF5 layout)")
    with h5py.File(path, "r") as f:
        missing = [n for n in names if n not in f]
        if missing:
            raise ValueError(f"{path}: expected datasets {list(names)}, missing {missing} (found {sorted(f)})")
        return [np.asarray(f[n][()]) for n in names]


def load_h5(directory: Any, files: tuple[str, str] = H5_FILES) -> ImageSet:
    """The catvnoncat pair in ``directory``: images flattened and scaled by 1/255, labels ``(m,)``.

    ``files`` names the train and test files; the train file holds ``train_set_x``
    (m, h, w, c) and ``train_set_y`` (m,), the test file ``test_set_x``, ``test_set_y`` and
    ``list_classes`` (byte strings such as ``b'non-cat'``, ``b'cat'``).

    >>> import h5py, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> with h5py.File(os.path.join(folder, "train_catvnoncat.h5"), "w") as f:
    ...     f["train_set_x"], f["train_set_y"] = np.full((3, 2, 2, 3), 255, np.uint8), [0, 1, 1]
    >>> with h5py.File(os.path.join(folder, "test_catvnoncat.h5"), "w") as f:
    ...     f["test_set_x"], f["test_set_y"], f["list_classes"] = np.zeros((1, 2, 2, 3), np.uint8), [1], [b"non-cat", b"cat"]
    >>> data = load_h5(folder); data.X_train.shape, float(data.X_train.max()), data.y_train.tolist(), data.classes
    ((3, 12), 1.0, [0, 1, 1], ('non-cat', 'cat'))
    """
    train, test = (os.path.join(os.fspath(directory), name) for name in files)
    x_tr, y_tr = _read(train, ("train_set_x", "train_set_y"))
    x_te, y_te, classes = _read(test, ("test_set_x", "test_set_y", "list_classes"))
    names = tuple(c.decode() if isinstance(c, bytes) else str(c) for c in classes)
    return ImageSet(flatten_images(x_tr), y_tr.ravel(), flatten_images(x_te), y_te.ravel(), names)


def digits_task(test_size: float = 0.25, seed: int = 0) -> ImageSet:
    """scikit-learn's 8x8 digits as a binary task: label 1 for an odd digit, 0 for an even one.

    Pixels (0..16) are scaled by 1/16; the split is stratified, drawn with ``random_state=seed``.

    >>> data = digits_task(); data.X_train.shape, data.X_test.shape, data.classes
    ((1347, 64), (450, 64), ('even', 'odd'))
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    X = flatten_images(digits.images, 1 / 16)
    y = digits.target % 2
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=test_size, random_state=seed, stratify=y)
    return ImageSet(X_tr, y_tr, X_te, y_te, ("even", "odd"))
