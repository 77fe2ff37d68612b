import numpy as np
import pytest

import fnn


def test_targets_one_hot_for_softmax():
    net = fnn.network([2, 3], output="softmax")
    np.testing.assert_array_equal(fnn.targets(net, [2, 0, 1]), np.eye(3)[[2, 0, 1]])
    np.testing.assert_array_equal(fnn.targets(net, np.array([1.0, 2.0])), np.eye(3)[[1, 2]])


def test_targets_column_for_one_sigmoid_or_linear_unit():
    assert fnn.targets(fnn.network([2, 1]), np.array([0, 1, 1])).tolist() == [[0.0], [1.0], [1.0]]
    assert fnn.targets(fnn.network([2, 1], output="identity"), [0.5, -2.0]).tolist() == [[0.5], [-2.0]]


def test_targets_pass_a_matrix_through_checked():
    net = fnn.network([2, 2])
    Y = np.array([[0.0, 1.0], [1.0, 1.0]])
    np.testing.assert_array_equal(fnn.targets(net, Y), Y)


@pytest.mark.parametrize(
    "net, y, error, message",
    [
        (fnn.network([2, 3], output="softmax"), [0, 3], ValueError, r"y: expected integer labels in \[0, 3\), got 3"),
        (fnn.network([2, 3], output="softmax"), [0.5, 1], ValueError, "non-integer 0.5"),
        (fnn.network([2, 3], output="softmax"), [-1, 1], ValueError, r"in \[0, 3\), got -1"),
        (fnn.network([2, 1]), [0, 2], ValueError, r"y: expected integer labels in \[0, 2\), got 2"),
        (fnn.network([2, 1]), [[0, 1]], ValueError, r"got shape \(1, 2\)"),
        (fnn.network([2, 2]), [0, 1], ValueError, r"expected a targets matrix \(m, 2\) for 2 sigmoid outputs"),
        (fnn.network([2, 1]), ["a", "b"], TypeError, "y: expected a real numeric array"),
        (fnn.network([2, 1], output="identity"), [np.nan, 1.0], ValueError, "y: expected finite values, got nan"),
        (fnn.network([2, 1]), [], ValueError, "y: expected a non-empty array"),
        (fnn.network([2, 1]), np.zeros((2, 2, 1)), ValueError, "y: expected labels"),
    ],
)
def test_targets_reject(net, y, error, message):
    with pytest.raises(error, match=message):
        fnn.targets(net, y)


def test_predict_per_output_kind():
    X = np.array([[1.0, 0.0], [0.0, 1.0]])
    eye = fnn.Params((fnn.LayerParams(np.array([[5.0, -5.0], [-5.0, 5.0]]), np.zeros(2)),))
    assert fnn.predict(fnn.network([2, 2], output="softmax"), eye, X).tolist() == [0, 1]
    assert fnn.predict(fnn.network([2, 2]), eye, X).tolist() == [[1, 0], [0, 1]]
    one = fnn.Params((fnn.LayerParams(np.array([[5.0], [-5.0]]), np.zeros(1)),))
    assert fnn.predict(fnn.network([2, 1]), one, X).tolist() == [1, 0]
    np.testing.assert_array_equal(fnn.predict(fnn.network([2, 1], output="identity"), one, X), [[5.0], [-5.0]])


def test_accuracy():
    assert fnn.accuracy([0, 1, 1, 0], [0, 1, 0, 0]) == 0.75
    assert fnn.accuracy(np.array([[1], [0]]), np.array([1, 1])) == 0.5
    assert fnn.accuracy([[1, 0], [0, 1]], [[1, 0], [1, 1]]) == 0.5
    with pytest.raises(ValueError, match=r"y_pred: expected shape \(3,\) like y_true, got \(2,\)"):
        fnn.accuracy([0, 1, 1], [0, 1])
