"""FNNClassifier / FNNRegressor: scikit-learn's MLP parameters and attributes, the same trajectories
as MLPClassifier / MLPRegressor where the math is the same, exact resume, weights, checks."""
import inspect
import os
import pickle
import tempfile
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits, make_blobs, make_moons, make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.estimator_checks import parametrize_with_checks

import fnn
from fnn.estimators import FNNClassifier, FNNRegressor, sample_weights

X, y = make_moons(120, noise=0.2, random_state=0)
X_digits, y_digits = load_digits(n_class=3, return_X_y=True)
X_digits, y_digits = X_digits[:150] / 16, y_digits[:150]
SMALL = dict(hidden_layer_sizes=(8,), learning_rate_init=1e-2, batch_size=32, random_state=0)
@parametrize_with_checks([FNNClassifier(), FNNRegressor()])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def quiet_fit(est, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(*args, **kw)


@pytest.mark.parametrize("ours, theirs", [(FNNClassifier, MLPClassifier), (FNNRegressor, MLPRegressor)])
def test_scikit_learns_parameters_names_order_and_defaults_then_fnns(ours, theirs):
    mine = list(inspect.signature(ours).parameters.values())
    ref = list(inspect.signature(theirs).parameters.values())
    assert [(p.name, p.default, p.kind) for p in mine[: len(ref)]] == [(p.name, p.default, p.kind) for p in ref]
    extras = ["class_weight", "init", "dropout", "backup"] if ours is FNNClassifier else ["init", "dropout", "backup"]
    assert [p.name for p in mine[len(ref):]] == extras and ours().init == "auto" and ours().dropout == 0.0 and ours().backup is None


@pytest.mark.parametrize(
    "kw",
    [
        dict(solver="sgd"),
        dict(solver="sgd", nesterovs_momentum=False, tol=1e-3),
        dict(solver="sgd", momentum=0.0, learning_rate="invscaling", learning_rate_init=0.1),
        dict(solver="sgd", momentum=0.0, learning_rate="adaptive", learning_rate_init=0.5, tol=0.01),
        dict(solver="sgd", early_stopping=True, tol=1e-3),
        dict(solver="lbfgs", max_iter=50),
    ],
    ids=["sgd-nesterov", "sgd-momentum", "invscaling", "adaptive", "early-stopping", "lbfgs"],
)
def test_same_trajectory_as_scikit_learn_where_the_math_is_the_same(kw):
    """Full batches (150 rows <= 200), so shuffling changes nothing but the order of a sum."""
    kw = dict(kw, hidden_layer_sizes=(20,), random_state=0, max_iter=kw.get("max_iter", 300))
    ours, theirs = quiet_fit(FNNClassifier(**kw), X_digits, y_digits), quiet_fit(MLPClassifier(**kw), X_digits, y_digits)
    assert ours.n_iter_ == theirs.n_iter_ and ours.n_layers_ == theirs.n_layers_ == 3
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-9)
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-9)
    if kw["solver"] != "lbfgs":
        np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-9)
        assert ours.t_ == theirs.t_ and (ours.best_loss_ is None) == (theirs.best_loss_ is None)
        assert ours.best_loss_ is None or ours.best_loss_ == pytest.approx(theirs.best_loss_, rel=1e-9)
        assert ours.validation_scores_ == theirs.validation_scores_
        assert ours._no_improvement_count == theirs._no_improvement_count


def test_adam_follows_scikit_learns_closely():
    """Only epsilon's place differs (fnn adds it to the bias-corrected root, as the Adam paper)."""
    kw = dict(hidden_layer_sizes=(20,), random_state=0, max_iter=50)
    ours, theirs = quiet_fit(FNNClassifier(**kw), X_digits, y_digits), quiet_fit(MLPClassifier(**kw), X_digits, y_digits)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-3)


def test_fitted_attributes():
    clf = quiet_fit(FNNClassifier(max_iter=7, **SMALL), X, y)
    assert clf.n_iter_ == 7 and clf.n_epochs_ == 7 and clf.t_ == 7 * 120 and len(clf.loss_curve_) == 7
    assert clf.n_outputs_ == 1 and clf.out_activation_ == "logistic" and clf.n_features_in_ == 2
    assert [c.shape for c in clf.coefs_] == [(2, 8), (8, 1)] and [b.shape for b in clf.intercepts_] == [(8,), (1,)]
    assert all(c.flags.writeable for c in clf.coefs_)
    np.testing.assert_array_equal(clf.coefs_[0], clf.state_.params.layers[0].W)
    assert clf.loss_ == clf.loss_curve_[-1] and clf.best_loss_ == min(clf.loss_curve_)
    assert clf.validation_scores_ is None and clf.best_validation_score_ is None
    assert clf.net_.layers[0].activation == "relu" and clf.net_.l2 == clf.alpha
    h = clf.history_
    assert h.epoch.tolist() == list(range(7)) and np.array_equal(h.train_loss, clf.loss_curve_)
    assert np.all(h.learning_rate == 1e-2)


def test_an_epoch_is_train_step_over_the_batches_and_loss_weighs_them_by_size():
    clf = quiet_fit(FNNClassifier(max_iter=1, shuffle=False, warm_start=True, **SMALL), X, y)
    state = clf.state_
    step = fnn.train_step(clf.net_, state.optimizer)
    Y = y.reshape(-1, 1).astype(float)
    costs = []
    for lo in range(0, 120, 32):  # shuffle=False: the rows in order
        state = step(state, (X[lo:lo + 32], Y[lo:lo + 32]))
        costs.append(state.loss * len(X[lo:lo + 32]))
    quiet_fit(clf, X, y)
    np.testing.assert_array_equal(clf.state_.params.flat, state.params.flat)
    assert clf.loss_ == pytest.approx(sum(costs) / 120, rel=1e-12) and clf.state_.step == 8


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_warm_start_and_partial_fit_resume_exactly(solver):
    kw = dict(SMALL, solver=solver, n_iter_no_change=np.inf)
    long = quiet_fit(FNNClassifier(max_iter=10, **kw), X, y)
    warm = quiet_fit(FNNClassifier(max_iter=5, warm_start=True, **kw), X, y)
    quiet_fit(warm, X, y)
    np.testing.assert_array_equal(warm.state_.params.flat, long.state_.params.flat)
    np.testing.assert_array_equal(warm.loss_curve_, long.loss_curve_)
    assert warm.n_iter_ == 5 and warm.n_epochs_ == 10 and warm.t_ == long.t_
    inc = FNNClassifier(**kw)
    for _ in range(10):
        inc.partial_fit(X, y, classes=[0, 1])
    np.testing.assert_array_equal(inc.state_.params.flat, long.state_.params.flat)
    cold = quiet_fit(quiet_fit(FNNClassifier(max_iter=5, **kw), X, y), X, y)
    np.testing.assert_array_equal(cold.state_.params.flat, quiet_fit(FNNClassifier(max_iter=5, **kw), X, y).state_.params.flat)


def test_checkpoint_of_the_estimators_state_continues_it():
    clf = quiet_fit(FNNClassifier(max_iter=3, solver="sgd", warm_start=True, n_iter_no_change=np.inf, **SMALL), X, y)
    path = os.path.join(tempfile.mkdtemp(), "clf.npz")
    fnn.save(path, clf.net_, clf.state_)
    net, state = fnn.load(path)
    assert net == clf.net_ and state.optimizer.hyperparams == clf.state_.optimizer.hyperparams
    np.testing.assert_array_equal(state.opt_state.velocity, clf.state_.opt_state.velocity)
    clf.state_ = state
    again = quiet_fit(FNNClassifier(max_iter=6, solver="sgd", n_iter_no_change=np.inf, **SMALL), X, y)
    np.testing.assert_array_equal(quiet_fit(clf, X, y).state_.params.flat, again.state_.params.flat)


def test_pickle_round_trip_predicts_and_continues_alike():
    clf = quiet_fit(FNNClassifier(max_iter=4, warm_start=True, **SMALL), X, y)
    again = pickle.loads(pickle.dumps(clf))
    assert np.array_equal(again.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(quiet_fit(again, X, y).state_.params.flat, quiet_fit(clf, X, y).state_.params.flat)


def test_stops_by_tol_or_warns_at_max_iter():
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(3\) reached"):
        FNNClassifier(max_iter=3, **SMALL).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf = FNNClassifier(max_iter=500, tol=0.5, n_iter_no_change=2, **SMALL).fit(X, y)
    assert clf.n_iter_ == 4 and clf._no_improvement_count == 3  # epoch 1 improves on inf; 3 more > n_iter_no_change


def test_early_stopping_keeps_the_best_epoch():
    clf = FNNClassifier(max_iter=500, early_stopping=True, n_iter_no_change=5, **dict(SMALL, learning_rate_init=0.1)).fit(X, y)
    scores, h = clf.validation_scores_, clf.history_
    assert clf.best_loss_ is None and clf.n_iter_ == len(scores) == len(h) < 500 and h.stopped_early
    assert clf.best_validation_score_ == max(scores) and h.best_epoch == int(np.argmax(scores))
    assert clf.state_.step == (h.best_epoch + 1) * 4  # 108 training rows, 32 a batch
    np.testing.assert_array_equal(h.val_accuracy, scores)


def test_adaptive_and_invscaling_learning_rates():
    ada = FNNClassifier(solver="sgd", learning_rate="adaptive", tol=0.5, max_iter=3000, **SMALL).fit(X, y)
    rates = np.unique(ada.history_.learning_rate)[::-1]
    np.testing.assert_allclose(rates, 1e-2 / 5.0 ** np.arange(len(rates)))
    assert rates[-1] == ada._learning_rate <= 1e-6 < rates[-2] and ada.n_iter_ < 3000  # stopped below 1e-6
    inv = quiet_fit(FNNClassifier(solver="sgd", learning_rate="invscaling", power_t=0.25, max_iter=4, **SMALL), X, y)
    np.testing.assert_allclose(inv.history_.learning_rate, 1e-2 / (np.arange(4) * 120 + 1.0) ** 0.25)


def test_predict_proba_binary_multiclass_multilabel():
    binary = quiet_fit(FNNClassifier(max_iter=20, **SMALL), X, y)
    p = binary.predict_proba(X)
    assert p.shape == (120, 2) and np.allclose(p.sum(axis=1), 1) and np.array_equal(binary.predict(X), p.argmax(axis=1))
    Xb, yb = make_blobs(90, centers=3, random_state=1)
    labels = np.array(["a", "b", "c"])[yb]
    multi = quiet_fit(FNNClassifier(max_iter=80, **SMALL), Xb, labels)
    p = multi.predict_proba(Xb)
    assert multi.out_activation_ == "softmax" and p.shape == (90, 3) and np.allclose(p.sum(axis=1), 1)
    assert np.array_equal(multi.predict(Xb), multi.classes_[p.argmax(axis=1)]) and multi.score(Xb, labels) > 0.9
    Xm, Ym = make_multilabel_classification(60, n_classes=4, random_state=0)
    ml = FNNClassifier(solver="lbfgs", hidden_layer_sizes=(30,), random_state=0, max_iter=500).fit(Xm, Ym)
    p = ml.predict_proba(Xm)
    assert ml.out_activation_ == "logistic" and p.shape == (60, 4) and not np.allclose(p.sum(axis=1), 1)
    np.testing.assert_array_equal(ml.predict(Xm), (p > 0.5).astype(int))
    np.testing.assert_allclose(ml.predict_log_proba(Xm), np.log(p))


def test_poisson_regressor_is_a_log_link_glm_like_scikit_learns():
    from sklearn.linear_model import PoissonRegressor

    rng = np.random.default_rng(0)
    Xp = np.linspace(0, 1, 100).reshape(-1, 1)
    yp = rng.poisson(np.exp(Xp[:, 0] + 1))
    kw = dict(loss="poisson", hidden_layer_sizes=(1,), activation="identity", alpha=0, solver="lbfgs", tol=1e-7, random_state=0)
    ours, theirs = quiet_fit(FNNRegressor(**kw), Xp, yp), quiet_fit(MLPRegressor(**kw), Xp, yp)
    glm = PoissonRegressor(alpha=0, tol=1e-7).fit(Xp, yp)
    assert ours.out_activation_ == theirs.out_activation_ == "exp" and ours.net_.loss == "poisson"
    np.testing.assert_allclose(ours.predict(Xp), glm.predict(Xp), rtol=1e-4)
    np.testing.assert_allclose(ours.predict(Xp), theirs.predict(Xp), rtol=1e-4)
    with pytest.raises(ValueError, match="y: expected values >= 0 for loss='poisson'"):
        FNNRegressor(loss="poisson").fit(Xp, -yp - 1.0)


def test_regressor_multi_output_float32_and_sparse():
    Y = np.column_stack([X[:, 0], X[:, 0] - X[:, 1]])
    reg = quiet_fit(FNNRegressor(max_iter=150, **SMALL), X, Y)
    assert reg.predict(X).shape == (120, 2) and reg.score(X, Y) > 0.9
    r32 = quiet_fit(FNNRegressor(max_iter=5, **SMALL), X.astype(np.float32), Y)
    assert r32.coefs_[0].dtype == np.float32 and r32.predict(X.astype(np.float32)).dtype == np.float32
    import scipy.sparse

    dense = FNNRegressor(solver="lbfgs", max_iter=20, random_state=0).fit(X, Y)
    sparse = FNNRegressor(solver="lbfgs", max_iter=20, random_state=0).fit(scipy.sparse.csr_matrix(X), Y)
    np.testing.assert_array_equal(dense.predict(X), sparse.predict(scipy.sparse.csr_matrix(X)))


def test_diverging_fit():
    big = np.finfo(np.float64).max * np.random.default_rng(0).uniform(size=(10, 2))
    with pytest.raises(ValueError, match="Solver produced non-finite parameter weights"):
        FNNRegressor().fit(big, np.arange(10.0))
    with pytest.warns(ConvergenceWarning, match="diverged"):
        est = FNNRegressor(activation="identity", solver="sgd", learning_rate_init=1.0, max_iter=20, early_stopping=True,
                           random_state=0).fit(*load_digits(return_X_y=True))
    assert np.isnan(est.validation_scores_[-1]) and np.isfinite(est.coefs_[0]).all()


def test_partial_fit_rules():
    assert not hasattr(FNNClassifier(solver="lbfgs"), "partial_fit")
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        FNNClassifier().partial_fit(X, y)
    clf = FNNClassifier(**SMALL).partial_fit(X[:10], np.zeros(10, int), classes=[0, 1, 2])
    assert clf.classes_.tolist() == [0, 1, 2] and clf.predict_proba(X[:3]).shape == (3, 3)
    with pytest.raises(ValueError, match="`y` has classes not in `self.classes_`"):
        clf.partial_fit(X[:2], [0, 5])
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping=True"):
        FNNRegressor(early_stopping=True).partial_fit(X, y)


def test_warm_start_needs_the_same_classes():
    clf = quiet_fit(FNNClassifier(max_iter=2, warm_start=True, **SMALL), X, y)
    with pytest.raises(ValueError, match=r"warm_start can only be used where `y` has the same classes"):
        clf.fit(X, y + 1)


def test_verbose_prints_scikit_learns_lines(capsys):
    quiet_fit(FNNClassifier(max_iter=2, verbose=True, early_stopping=True, **SMALL), X, y)
    out = capsys.readouterr().out
    assert "Iteration 1, loss = " in out and "Iteration 2, loss = " in out and "Validation score: " in out


def test_pipeline_in_grid_search():
    pipe = make_pipeline(StandardScaler(), FNNClassifier(max_iter=30, **SMALL))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        grid = GridSearchCV(pipe, {"fnnclassifier__hidden_layer_sizes": [(4,), (16,)]}, cv=2).fit(X, y)
    assert grid.best_score_ > 0.8 and set(grid.cv_results_["param_fnnclassifier__hidden_layer_sizes"]) == {(4,), (16,)}


@pytest.mark.parametrize(
    "kw, error, words",
    [
        (dict(solver="adamw"), ValueError, ["solver", "adam", "adamw"]),
        (dict(learning_rate=1e-3), ValueError, ["learning_rate", "constant", "0.001"]),
        (dict(learning_rate_init=0.0), ValueError, ["learning_rate_init", "> 0"]),
        (dict(batch_size=0), ValueError, ["batch_size", ">= 1"]),
        (dict(batch_size="big"), TypeError, ["batch_size", "int"]),
        (dict(activation="softmax"), ValueError, ["activation", "softmax"]),
        (dict(momentum=1.5), ValueError, ["momentum", "[0, 1]", "1.5"]),
        (dict(beta_2=1.0), ValueError, ["beta_2", "[0, 1)"]),
        (dict(validation_fraction=1.0), ValueError, ["validation_fraction", "[0, 1)"]),
        (dict(n_iter_no_change=0), ValueError, ["n_iter_no_change", ">= 1"]),
        (dict(max_fun=2.5), TypeError, ["max_fun", "int"]),
        (dict(hidden_layer_sizes=(4, 0)), ValueError, ["hidden_layer_sizes", "> 0"]),
        (dict(init="xavier"), ValueError, ["init", "he", "xavier"]),
        (dict(shuffle="yes"), TypeError, ["shuffle", "bool"]),
        (dict(random_state=1.5), ValueError, ["random_state"]),
        (dict(class_weight="even"), ValueError, ["class_weight", "balanced", "even"]),
    ],
)
def test_bad_settings_name_the_argument(kw, error, words):
    with pytest.raises(error) as info:
        FNNClassifier(max_iter=1, **kw).fit(X, y)
    assert all(w in str(info.value) for w in words), str(info.value)


@pytest.mark.parametrize(
    "weights, words",
    [(-np.ones(120), ["sample_weight", ">= 0", "-1.0"]), (np.full(120, np.nan), ["sample_weight", "finite", "nan"]),
     (np.ones(119), ["sample_weight", "(120,)", "(119,)"]), (np.zeros(120), ["sample_weight", "all zeros"])],
)
def test_bad_sample_weights_name_the_argument(weights, words):
    for est in (FNNClassifier(max_iter=1), FNNRegressor(max_iter=1)):
        with pytest.raises(ValueError) as info:
            est.fit(X, y, sample_weight=weights)
        assert all(w in str(info.value) for w in words), str(info.value)


def test_class_weights_are_scikit_learns():
    labels = np.array(["a", "b", "b", "c", "c", "c"])
    for cw in ("balanced", {"a": 3.0, "c": 0.5}):
        np.testing.assert_array_equal(sample_weights(None, cw, labels, 6, np.float64), compute_sample_weight(cw, labels))
    sw = np.arange(1.0, 7.0)
    np.testing.assert_array_equal(sample_weights(sw, "balanced", labels, 6, np.float64), sw * compute_sample_weight("balanced", labels))
    assert sample_weights(None, None, labels, 6, np.float64) is None
    with pytest.raises(ValueError, match="class_weight: expected None or a dict for partial_fit"):
        sample_weights(None, "balanced", labels, 6, np.float64, incremental=True)
    with pytest.raises(ValueError, match="sample_weight: expected at least one weight > 0 after class_weight"):
        sample_weights(None, {"a": 0.0, "b": 0.0, "c": 0.0}, labels, 6, np.float64)


@pytest.mark.parametrize("solver", ["sgd", "lbfgs"])
def test_integer_weights_equal_repeated_rows(solver):
    """Full-batch training on weights w_i = k_i follows the set with row i repeated k_i times."""
    w = np.arange(120) % 3
    kw = dict(solver=solver, hidden_layer_sizes=(6,), random_state=0, tol=0.0, max_iter=25, batch_size=1000,
              learning_rate_init=0.2, momentum=0.0)
    a = quiet_fit(FNNClassifier(**kw), X, y, sample_weight=w)
    b = quiet_fit(FNNClassifier(**kw), np.repeat(X, w, axis=0), np.repeat(y, w))
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), atol=1e-7)
    np.testing.assert_allclose(a.loss_curve_, b.loss_curve_, rtol=1e-8)  # L-BFGS amplifies rounding over its iterations


def test_unit_weights_equal_no_weights_and_class_weight_is_sample_weight():
    kw = dict(max_iter=5, **SMALL)
    a = quiet_fit(FNNClassifier(**kw), X, y, sample_weight=np.ones(120))
    b = quiet_fit(FNNClassifier(**kw), X, y)
    np.testing.assert_allclose(a.state_.params.flat, b.state_.params.flat, rtol=1e-12)
    c = quiet_fit(FNNClassifier(class_weight="balanced", **kw), X[:90], y[:90])
    d = quiet_fit(FNNClassifier(**kw), X[:90], y[:90], sample_weight=compute_sample_weight("balanced", y[:90]))
    np.testing.assert_array_equal(c.state_.params.flat, d.state_.params.flat)


def test_weighted_early_stopping_scores_with_weights():
    w = np.where(y == 1, 2.0, 1.0)
    clf = quiet_fit(FNNClassifier(early_stopping=True, max_iter=20, **SMALL), X, y, sample_weight=w)
    assert len(clf.validation_scores_) == clf.n_iter_ and np.isfinite(clf.validation_scores_).all()


def test_dropout_trains_with_masks_and_predicts_without():
    kw = dict(max_iter=5, **SMALL)
    plain = quiet_fit(FNNClassifier(**kw), X, y)
    dropped = quiet_fit(FNNClassifier(dropout=0.4, **kw), X, y)
    assert [d.dropout for d in dropped.net_.layers] == [0.4, 0.0]
    assert not np.array_equal(plain.state_.params.flat, dropped.state_.params.flat)
    np.testing.assert_array_equal(dropped.predict_proba(X), dropped.predict_proba(X))
    A, _ = fnn.forward(dropped.net_, dropped.state_.params, X)
    np.testing.assert_allclose(dropped.predict_proba(X)[:, 1], A[:, 0], rtol=1e-12)
    again = quiet_fit(FNNClassifier(dropout=0.4, **kw), X, y)
    np.testing.assert_array_equal(again.state_.params.flat, dropped.state_.params.flat)
    five = quiet_fit(FNNClassifier(dropout=0.4, warm_start=True, **dict(kw, max_iter=2)), X, y)
    quiet_fit(five.set_params(max_iter=3), X, y)
    ref = quiet_fit(FNNClassifier(dropout=0.4, **kw), X, y)
    np.testing.assert_array_equal(five.state_.params.flat, ref.state_.params.flat)


@pytest.mark.parametrize("bad, words", [(1.0, "dropout: expected a probability 0 <= dropout < 1, got 1.0"),
                                        (-0.5, "dropout: expected a number >= 0.0, got -0.5")])
def test_bad_dropout_is_refused(bad, words):
    with pytest.raises(ValueError, match=words):
        FNNRegressor(dropout=bad).fit(X, y.astype(float))
    with pytest.raises(ValueError, match="dropout: expected 0 with solver='lbfgs'"):
        FNNClassifier(dropout=0.2, solver="lbfgs").fit(X, y)
