import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import fnn  # noqa: E402
from fnn.plot import boundary_grid, decision_boundary, learning_curve  # noqa: E402

X = np.array([[0.0, 0.0], [1.0, 2.0], [2.0, 1.0], [3.0, 3.0]])
y = np.array([0, 1, 1, 0])


def above_diagonal(G):
    return (G[:, 1] > G[:, 0]).astype(int)


def new_axes():
    return Figure().subplots()


def test_decision_boundary_draws_the_predicted_regions_and_the_points():
    calls = []

    def predict(G):
        calls.append(G.shape)
        return above_diagonal(G)

    ax = new_axes()
    assert decision_boundary(predict, X, y, ax=ax, resolution=30) is ax
    assert calls == [(900, 2)]
    assert len(ax.collections) >= 2  # the filled contour and the scatter
    assert ax.get_xlim() == (-0.5, 3.5) and ax.get_ylim() == (-0.5, 3.5)
    points = ax.collections[-1].get_offsets()
    np.testing.assert_array_equal(points, X)


def test_decision_boundary_accepts_fnn_predict_and_column_labels():
    net = fnn.network([2, 3, 1], hidden="tanh")
    params = fnn.init_params(net, seed=0)
    ax = decision_boundary(lambda G: fnn.predict(net, params, G), X, y[:, None], ax=new_axes(), resolution=10)
    assert ax.collections


def test_decision_boundary_without_ax_uses_pyplot():
    ax = decision_boundary(above_diagonal, X, y, resolution=5)
    try:
        assert ax.figure is plt.gcf()
    finally:
        plt.close(ax.figure)


@pytest.mark.parametrize(
    "args, error, words",
    [
        ((None, X, y), TypeError, ["predict", "function"]),
        ((above_diagonal, X[:, :1], y), ValueError, ["X", "(m, 2)", "(4, 1)"]),
        ((above_diagonal, X, y[:3]), ValueError, ["y", "4 labels", "(3,)"]),
        ((lambda G: G[:2, 0], X, y), ValueError, ["predict", "labels", "(2,)"]),
    ],
)
def test_decision_boundary_rejects_bad_input(args, error, words):
    with pytest.raises(error) as info:
        decision_boundary(*args, ax=new_axes(), resolution=4)
    assert all(w in str(info.value) for w in words)


def test_decision_boundary_rejects_a_one_point_grid():
    with pytest.raises(ValueError, match="resolution: expected an int >= 2"):
        decision_boundary(above_diagonal, X, y, ax=new_axes(), resolution=1)


def test_learning_curve_plots_one_point_per_step():
    ax = new_axes()
    assert learning_curve(np.array([3.0, 2.0, 1.5]), ax=ax) is ax
    line = ax.lines[0]
    assert line.get_xdata().tolist() == [0, 1, 2] and line.get_ydata().tolist() == [3.0, 2.0, 1.5]
    assert ax.get_xlabel() == "step" and ax.get_ylabel() == "loss"


def test_learning_curve_takes_fit_losses():
    net = fnn.network([2, 3, 1])
    result = fnn.fit(net, X, y, epochs=4)
    assert learning_curve(result.losses, ax=new_axes()).lines[0].get_ydata().tolist() == result.losses.tolist()


@pytest.mark.parametrize("losses", [[], [[1.0, 2.0]]])
def test_learning_curve_rejects_non_sequences(losses):
    with pytest.raises(ValueError, match="losses: expected a non-empty 1-D sequence"):
        learning_curve(losses, ax=new_axes())


def test_boundary_grid_one_panel_per_predict():
    panels = {f"h={h}": (lambda G, h=h: (G[:, 0] > h).astype(int)) for h in (0, 1, 2, 3, 4)}
    fig = boundary_grid(panels, X, y, ncols=2, resolution=8)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(fig.axes) == 6 and [ax.get_title() for ax in visible] == list(panels)


def test_boundary_grid_needs_panels():
    with pytest.raises(ValueError, match="panels: expected at least one"):
        boundary_grid({}, X, y)


def test_decision_boundary_labels_its_axes_and_names_the_classes():
    ax = decision_boundary(above_diagonal, X, y, ax=new_axes(), resolution=10)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x1", "x2")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["class 0", "class 1"]
    fig = boundary_grid({"a": above_diagonal, "b": above_diagonal}, X, y, resolution=10)
    assert all(a.get_legend() is not None and a.get_xlabel() == "x1" for a in fig.axes)
