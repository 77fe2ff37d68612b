import h5py
import numpy as np
import pytest

import fnn
from fnn.data import ImageSet, digits_task, flatten_images, load_h5, xor


def write_catvnoncat(folder, m_train=6, m_test=4, size=4, seed=0):
    """A small pair of HDF5 files in the documents' catvnoncat layout; returns the raw arrays."""
    rng = np.random.default_rng(seed)
    raw = {
        "train_set_x": rng.integers(0, 256, (m_train, size, size, 3), dtype=np.uint8),
        "train_set_y": rng.integers(0, 2, m_train),
        "test_set_x": rng.integers(0, 256, (m_test, size, size, 3), dtype=np.uint8),
        "test_set_y": rng.integers(0, 2, m_test),
    }
    with h5py.File(folder / "train_catvnoncat.h5", "w") as f:
        f["train_set_x"], f["train_set_y"] = raw["train_set_x"], raw["train_set_y"]
        f["list_classes"] = np.array([b"non-cat", b"cat"])
    with h5py.File(folder / "test_catvnoncat.h5", "w") as f:
        f["test_set_x"], f["test_set_y"] = raw["test_set_x"], raw["test_set_y"]
        f["list_classes"] = np.array([b"non-cat", b"cat"])
    return raw


def test_xor_table_is_the_documents():
    X, y = xor()
    assert X.shape == (4, 3) and (X[:, 2] == 1).all()
    assert (y == np.logical_xor(X[:, 0], X[:, 1])).all()
    assert not X.flags.writeable and not y.flags.writeable


def test_flatten_images_rows_and_scale():
    images = np.arange(2 * 2 * 3, dtype=np.uint8).reshape(2, 2, 3)
    flat = flatten_images(images, scale=0.5)
    assert flat.shape == (2, 6) and flat.dtype == np.float64 and not flat.flags.writeable
    np.testing.assert_array_equal(flat, images.reshape(2, -1) * 0.5)


@pytest.mark.parametrize(
    "images, scale, error, words",
    [
        (np.zeros(3), 1.0, ValueError, ["images", "(m, d1, ...)", "(3,)"]),
        (np.zeros((0, 2)), 1.0, ValueError, ["images", "non-empty", "(0, 2)"]),
        (np.array([["a"]]), 1.0, TypeError, ["images", "dtype"]),
        (np.zeros((2, 2)), 0.0, ValueError, ["scale", "> 0", "0.0"]),
    ],
)
def test_flatten_images_rejects_bad_input(images, scale, error, words):
    with pytest.raises(error) as info:
        flatten_images(images, scale)
    assert all(w in str(info.value) for w in words)


def test_load_h5_reads_the_catvnoncat_layout(tmp_path):
    raw = write_catvnoncat(tmp_path)
    data = load_h5(tmp_path)
    assert isinstance(data, ImageSet)
    assert data.X_train.shape == (6, 48) and data.X_test.shape == (4, 48)
    np.testing.assert_allclose(data.X_train, raw["train_set_x"].reshape(6, -1) / 255)
    np.testing.assert_allclose(data.X_test, raw["test_set_x"].reshape(4, -1) / 255)
    np.testing.assert_array_equal(data.y_train, raw["train_set_y"])
    np.testing.assert_array_equal(data.y_test, raw["test_set_y"])
    assert data.classes == ("non-cat", "cat")
    assert data.y_train.dtype.kind == "i" and not data.y_train.flags.writeable and not data.X_train.flags.writeable
    assert 0.0 <= data.X_train.min() and data.X_train.max() <= 1.0


def test_load_h5_feeds_a_network(tmp_path):
    write_catvnoncat(tmp_path)
    data = load_h5(str(tmp_path))
    net = fnn.network([data.X_train.shape[1], 5, 5, 1], hidden="relu", output="sigmoid")
    result = fnn.fit(net, data.X_train, data.y_train, optimizer=fnn.sgd(0.01), epochs=3)
    assert result.losses.shape == (3,) and np.isfinite(result.losses).all()


def test_load_h5_names_a_missing_file_or_dataset(tmp_path):
    with pytest.raises(FileNotFoundError, match="train_catvnoncat.h5"):
        load_h5(tmp_path)
    write_catvnoncat(tmp_path)
    with h5py.File(tmp_path / "test_catvnoncat.h5", "a") as f:
        del f["list_classes"]
    with pytest.raises(ValueError, match="test_catvnoncat.h5: expected datasets .*missing \\['list_classes'\\]"):
        load_h5(tmp_path)


def test_digits_task_is_a_seeded_balanced_binary_split():
    a, b = digits_task(seed=0), digits_task(seed=0)
    assert a.X_train.shape == (1347, 64) and a.X_test.shape == (450, 64)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    assert set(np.unique(a.y_train)) == {0, 1} and abs(a.y_train.mean() - 0.5) < 0.05
    assert a.X_train.max() == 1.0 and a.classes == ("even", "odd")
    assert not np.array_equal(digits_task(seed=1).y_test, a.y_test)


def test_image_set_rejects_non_integer_labels():
    with pytest.raises(ValueError, match="y_train: expected integer labels"):
        ImageSet(np.zeros((2, 3)), [0.5, 1.0], np.zeros((1, 3)), [1], ("a", "b"))
