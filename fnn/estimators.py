"""scikit-learn estimators on top of ``fnn.fit``: ``FNNClassifier`` and ``FNNRegressor``.

Defaults follow sklearn's ``MLPClassifier``/``MLPRegressor``: ``hidden_layer_sizes=(100,)`` ReLU,
Adam at ``1e-3``, ``epochs=200`` (sklearn's ``max_iter``), ``batch_size="auto"`` = ``min(200, m)``,
``l2=1e-4`` (sklearn's ``alpha``: the cost gains ``l2/(2m) * sum ||W||^2``). The output layer comes
from the task: one sigmoid unit for two classes, softmax for more, identity units for regression.

Fitted attributes: ``net_``, ``state_`` (the ``fnn.TrainState``), ``loss_curve_`` (mean step loss
per epoch), ``n_iter_`` (epochs run), ``classes_`` (classifier), ``history_`` (a ``fnn.History``
with early stopping or ``verbose``, else ``None``), ``seed_`` (the seed of init and shuffling).
``warm_start=True`` and ``partial_fit`` continue ``state_`` from epoch ``n_iter_`` with the
optimizer that made it, so ``fit`` with 5 epochs then 5 more equals one fit of 10, bit for bit.
``early_stopping=True`` holds out ``validation_fraction`` of the data and stops after
``n_iter_no_change`` epochs without a lower validation loss, keeping the best state.
"""
from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from fnn import checks
from fnn.history import Patience, epoch_means
from fnn.labels import predict
from fnn.optimizers import OPTIMIZERS
from fnn.records import network
from fnn.stages import forward
from fnn.training import batches_per_epoch, fit


def seed_from(random_state) -> int:
    """An int seed for ``fnn``: ``random_state`` itself when it is an int, else drawn from it.

    >>> seed_from(7)
    7
    """
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        return checks.integer("random_state", random_state)
    try:
        rng = check_random_state(random_state)
    except ValueError:
        raise ValueError(f"random_state: expected None, an int >= 0 or a numpy RandomState, got {random_state!r}") from None
    return int(rng.randint(np.iinfo(np.int32).max))


class _FNNEstimator(BaseEstimator):
    """What the classifier and the regressor share; they add the output layer and the targets."""

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        optimizer="adam",
        learning_rate=1e-3,
        epochs=200,
        batch_size="auto",
        l2=1e-4,
        init="he",
        random_state=None,
        warm_start=False,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        verbose=False,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.batch_size = batch_size
        self.l2 = l2
        self.init = init
        self.random_state = random_state
        self.warm_start = warm_start
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.verbose = verbose

    def fit(self, X, y):
        """Train for ``epochs`` epochs (continuing ``state_`` when ``warm_start``); returns ``self``."""
        return self._train(X, y, self.epochs, self.warm_start and hasattr(self, "state_"), self.early_stopping)

    def _train(self, X, y, epochs, resume, early_stopping, classes=None):
        X, y = validate_data(self, X, y, reset=not resume, dtype=np.float64, **self._target_checks)
        Y, n_out, output = self._targets(y, resume, classes)
        if not resume:
            self.seed_ = seed_from(self.random_state)
            hidden = self.hidden_layer_sizes
            hidden = (hidden,) if isinstance(hidden, numbers.Integral) else tuple(hidden)
            self.net_ = network([X.shape[1], *hidden, n_out], hidden=self.activation, output=output, l2=self.l2)
        optimizer = None if resume else checks.known("optimizer", self.optimizer, OPTIMIZERS)(self.learning_rate)
        validation = None
        if early_stopping:
            X, X_val, Y, Y_val = train_test_split(
                X, Y, test_size=self.validation_fraction, random_state=self.seed_, stratify=self._stratify(Y)
            )
            validation = (X_val, Y_val)
        size = self._batch_size(X.shape[0])
        result = fit(
            self.net_, X, Y, optimizer, epochs, size, self.seed_, init=self.init, state=self.state_ if resume else None,
            start_epoch=self.n_iter_ if resume else None, validation=validation,
            early_stopping=Patience(self.n_iter_no_change) if early_stopping else None,
            progress=bool(self.verbose),
        )
        history = result.history
        curve = history.train_loss if history is not None else epoch_means(result.losses, batches_per_epoch(X.shape[0], size))
        self.loss_curve_ = np.concatenate([self.loss_curve_, curve]) if resume else curve
        self.n_iter_ = (self.n_iter_ if resume else 0) + len(curve)
        self.state_, self.history_ = result.state, history
        return self

    def _batch_size(self, m: int) -> int:
        if self.batch_size == "auto":
            return min(200, m)
        return min(checks.integer("batch_size", self.batch_size, minimum=1), m)

    def _stratify(self, Y):
        return None

    def _input(self, X) -> np.ndarray:
        """``X`` checked against the fitted estimator (fitted, n_features_in_ columns)."""
        check_is_fitted(self, "state_")
        return validate_data(self, X, reset=False, dtype=np.float64)

    def _output(self, X) -> np.ndarray:
        """The network output ``(m, n_out)`` for ``X``, as a fresh writable array."""
        X = self._input(X)
        return np.array(forward(self.net_, self.state_.params, X)[0])


class FNNClassifier(ClassifierMixin, _FNNEstimator):
    """A fully-connected classifier: sigmoid output for two classes, softmax for more.

    >>> from sklearn.datasets import make_blobs
    >>> X, y = make_blobs(60, centers=3, random_state=0)
    >>> clf = FNNClassifier(hidden_layer_sizes=(8,), learning_rate=1e-2, random_state=0).fit(X, y)
    >>> clf.classes_.tolist(), clf.predict_proba(X[:2]).shape, clf.n_iter_, clf.score(X, y) >= 0.85
    ([0, 1, 2], (2, 3), 200, True)
    """

    _target_checks = {}

    def partial_fit(self, X, y, classes=None):
        """One epoch on ``(X, y)``; the first call takes the labels from ``classes`` (or ``y``)."""
        return self._train(X, y, 1, hasattr(self, "state_"), False, classes)

    def _targets(self, y, resume, classes):
        check_classification_targets(y)
        if not resume:
            self.classes_ = np.unique(y if classes is None else classes)
            if len(self.classes_) < 2:
                raise ValueError(f"y: expected labels of at least 2 classes, got 1 class {self.classes_[0].item()!r}")
        unknown = np.setdiff1d(y, self.classes_)
        if unknown.size:
            raise ValueError(f"y: expected labels among classes_ {self.classes_.tolist()}, got {unknown[0].item()!r}")
        n = len(self.classes_)
        return np.searchsorted(self.classes_, y), (1 if n == 2 else n), ("sigmoid" if n == 2 else "softmax")

    def _stratify(self, Y):
        return Y

    def predict(self, X) -> np.ndarray:
        """The class of each row of ``X`` (m, n_features): labels from ``classes_``, shape (m,)."""
        X = self._input(X)
        return self.classes_[predict(self.net_, self.state_.params, X)]

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities ``(m, n_classes)`` in the order of ``classes_``; rows sum to 1."""
        A = self._output(X)
        return np.hstack([1.0 - A, A]) if A.shape[1] == 1 else A

    def predict_log_proba(self, X) -> np.ndarray:
        """``log(predict_proba(X))``."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = False
        return tags


class FNNRegressor(RegressorMixin, _FNNEstimator):
    """A fully-connected regressor: identity output units, mean squared error.

    >>> X = np.linspace(-1, 1, 50).reshape(-1, 1)
    >>> reg = FNNRegressor(hidden_layer_sizes=(16,), learning_rate=1e-2, epochs=100, random_state=0).fit(X, 2 * X[:, 0])
    >>> reg.predict(X[:3]).shape, reg.score(X, 2 * X[:, 0]) > 0.9
    ((3,), True)
    """

    _target_checks = {"y_numeric": True, "multi_output": True}

    def partial_fit(self, X, y):
        """One epoch on ``(X, y)``."""
        return self._train(X, y, 1, hasattr(self, "state_"), False)

    def _targets(self, y, resume, classes):
        Y = y.reshape(-1, 1) if y.ndim == 1 else y
        if resume and Y.shape[1] != self.net_.layers[-1].n_out:
            raise ValueError(f"y: expected {self.net_.layers[-1].n_out} target columns like the first fit, got {Y.shape[1]}")
        return Y, Y.shape[1], "identity"

    def predict(self, X) -> np.ndarray:
        """Predictions for ``X`` (m, n_features): shape (m,) for one target, (m, n_targets) for several."""
        A = self._output(X)
        return A[:, 0] if A.shape[1] == 1 else A

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
