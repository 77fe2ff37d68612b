"""FNNClassifier / FNNRegressor: sklearn's estimator checks, defaults, warm start, partial_fit, labels."""
import pickle

import numpy as np
import pytest
from sklearn.datasets import make_blobs, make_moons
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import fnn
from fnn.estimators import FNNClassifier, FNNRegressor

X, y = make_moons(120, noise=0.2, random_state=0)
SMALL = dict(hidden_layer_sizes=(8,), learning_rate=1e-2, batch_size=32, random_state=0)


@parametrize_with_checks([FNNClassifier(), FNNRegressor()])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def same_params(a, b):
    assert np.array_equal(a.state_.params.flat, b.state_.params.flat)


def test_defaults_are_sklearn_mlp_defaults():
    expected = dict(hidden_layer_sizes=(100,), activation="relu", optimizer="adam", learning_rate=1e-3, epochs=200,
                    batch_size="auto", l2=1e-4, init="he", random_state=None, warm_start=False)
    for cls in (FNNClassifier, FNNRegressor):
        assert expected.items() <= cls().get_params().items()


def test_classifier_is_fnn_fit_with_those_settings():
    clf = FNNClassifier(hidden_layer_sizes=(8, 4), epochs=20, random_state=4).fit(X, y)
    net = fnn.network([2, 8, 4, 1], hidden="relu", output="sigmoid", l2=1e-4)
    result = fnn.fit(net, X, y, fnn.adam(1e-3), epochs=20, batch_size=120, seed=4)
    assert np.array_equal(clf.state_.params.flat, result.state.params.flat)
    assert clf.n_iter_ == 20 and np.array_equal(clf.loss_curve_, result.losses)
    assert clf.seed_ == 4 and clf.net_ == net


def test_warm_start_continues_the_state_exactly():
    long = FNNClassifier(epochs=10, **SMALL).fit(X, y)
    warm = FNNClassifier(epochs=4, warm_start=True, **SMALL).fit(X, y)
    warm.set_params(epochs=6).fit(X, y)
    same_params(long, warm)
    assert warm.n_iter_ == 10 and warm.state_.step == long.state_.step
    np.testing.assert_array_equal(warm.loss_curve_, long.loss_curve_)
    cold = FNNClassifier(epochs=4, **SMALL).fit(X, y).fit(X, y)
    assert cold.n_iter_ == 4


def test_partial_fit_is_one_epoch_each():
    long = FNNRegressor(epochs=3, **SMALL).fit(X, y * 2.0)
    inc = FNNRegressor(**SMALL)
    for _ in range(3):
        inc.partial_fit(X, y * 2.0)
    same_params(long, inc)
    assert inc.n_iter_ == 3 and len(inc.loss_curve_) == 3
    inc.partial_fit(X[:50], y[:50] * 2.0)  # another size: epochs still counted on
    assert inc.n_iter_ == 4 and inc.state_.step == 3 * 4 + 2


def test_partial_fit_takes_classes_on_the_first_call():
    clf = FNNClassifier(**SMALL).partial_fit(X[:10], np.zeros(10, int), classes=[0, 1, 2])
    assert clf.classes_.tolist() == [0, 1, 2] and clf.predict_proba(X[:3]).shape == (3, 3)
    with pytest.raises(ValueError, match=r"y: expected labels among classes_ \[0, 1, 2\], got 5"):
        clf.partial_fit(X[:2], [0, 5])


@pytest.mark.parametrize("labels", [np.array(["no", "yes"]), np.array([3, 7]), np.array(["a", "b", "c"]), np.array([-1, 0, 9])])
def test_string_and_integer_labels(labels):
    Xb, yb = make_blobs(90, centers=len(labels), random_state=1)
    clf = FNNClassifier(epochs=80, **SMALL).fit(Xb, labels[yb])
    proba = clf.predict_proba(Xb)
    assert clf.classes_.tolist() == sorted(labels.tolist())
    assert proba.shape == (90, len(labels)) and np.allclose(proba.sum(axis=1), 1.0)
    assert np.array_equal(clf.predict(Xb), clf.classes_[proba.argmax(axis=1)])
    assert clf.score(Xb, labels[yb]) > 0.9
    assert clf.net_.layers[-1].activation == ("sigmoid" if len(labels) == 2 else "softmax")


def test_regressor_multi_output():
    Y = np.column_stack([X[:, 0], X[:, 0] - X[:, 1]])
    reg = FNNRegressor(epochs=150, **SMALL).fit(X, Y)
    assert reg.predict(X).shape == (120, 2) and reg.score(X, Y) > 0.9


def test_early_stopping_keeps_the_best_state():
    clf = FNNClassifier(epochs=500, early_stopping=True, n_iter_no_change=5, **dict(SMALL, learning_rate=0.1)).fit(X, y)
    h = clf.history_
    assert clf.n_iter_ == len(h) < 500 and h.stopped_early
    assert h.best_epoch == int(np.argmin(h.val_loss)) and clf.state_.step == (h.best_epoch + 1) * 4  # 108 rows, 32 a batch


def test_verbose_shows_progress(capsys):
    FNNClassifier(epochs=3, verbose=True, **SMALL).fit(X, y)
    assert "3/3" in capsys.readouterr().err


def test_pickle_round_trip_predicts_and_continues_alike():
    clf = FNNClassifier(epochs=4, warm_start=True, **SMALL).fit(X, y)
    again = pickle.loads(pickle.dumps(clf))
    assert np.array_equal(again.predict_proba(X), clf.predict_proba(X))
    same_params(again.fit(X, y), clf.fit(X, y))


def test_pipeline_in_grid_search():
    pipe = make_pipeline(StandardScaler(), FNNClassifier(epochs=30, **SMALL))
    grid = GridSearchCV(pipe, {"fnnclassifier__hidden_layer_sizes": [(4,), (16,)]}, cv=2).fit(X, y)
    assert grid.best_score_ > 0.8 and set(grid.cv_results_["param_fnnclassifier__hidden_layer_sizes"]) == {(4,), (16,)}


@pytest.mark.parametrize(
    "kw, error, words",
    [
        (dict(optimizer="adamw"), ValueError, ["optimizer", "adam", "adamw"]),
        (dict(batch_size=0), ValueError, ["batch_size", ">= 1"]),
        (dict(batch_size="big"), TypeError, ["batch_size", "int"]),
        (dict(activation="softmax"), ValueError, ["activation", "softmax"]),
        (dict(random_state=1.5), ValueError, ["random_state"]),
    ],
)
def test_bad_settings_name_the_argument(kw, error, words):
    with pytest.raises(error) as info:
        FNNClassifier(epochs=1, **kw).fit(X, y)
    assert all(w in str(info.value) for w in words)


def test_one_class_is_refused():
    with pytest.raises(ValueError, match="at least 2 classes, got 1 class"):
        FNNClassifier(epochs=1).fit(X, np.ones(120, int))
