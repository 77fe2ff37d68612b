"""scikit-learn's ``MLPClassifier`` / ``MLPRegressor``, on fnn: ``FNNClassifier`` and ``FNNRegressor``.

They take MLP's parameters with its names, defaults and meaning (in its order), then fnn's own:
``class_weight`` (classifier), ``init`` and ``dropout`` (every hidden layer's; step ``k`` of the
fit drops with ``fnn.forward``'s key ``(seed_, k)``; ``predict`` never drops) and ``backup`` (below). ``alpha`` is fnn's ``l2`` (the cost gains
``alpha/(2 m_batch) * sum ||W||^2`` per batch, as in scikit-learn); ``solver="adam"`` is
``fnn.adam(learning_rate_init, beta_1, beta_2, epsilon)``; ``solver="sgd"`` is
``fnn.sgd(rate, momentum, nesterov=nesterovs_momentum)`` with ``rate`` from ``learning_rate``:
``"constant"`` ``learning_rate_init``; ``"invscaling"`` ``learning_rate_init / (t_ + 1)**power_t``
(``t_`` samples seen before the epoch); ``"adaptive"`` divided by 5 whenever ``n_iter_no_change``
epochs pass without improvement (stops below 1e-6). ``solver="lbfgs"`` is ``fnn.fit_lbfgs``.

Training goes epoch by epoch through ``fnn.train_step`` over ``fnn.batches`` (``shuffle=False``:
the rows in order), and stops as scikit-learn does: after each epoch ``loss_`` (the batch costs
weighted by batch size) or, with ``early_stopping``, the validation score (accuracy or R^2 on a
``validation_fraction`` split, stratified for single-output classifiers) counts an epoch without
improvement by ``tol``; more than ``n_iter_no_change`` of them end the fit (early stopping then
keeps the best epoch's state); reaching ``max_iter`` first warns ``ConvergenceWarning``.

Where they differ from scikit-learn, on purpose: ``warm_start`` and ``partial_fit`` continue the
optimizer's state and the epoch count (``n_epochs_``, which seeds each epoch's shuffle), so 5
epochs and 5 more equal 10 in one fit, bit for bit (scikit-learn restarts its optimizer on each
``fit``); SGD momentum is PyTorch's form (the same steps at a constant rate); Adam's ``epsilon``
is added to the bias-corrected root, as in the Adam paper; ``init="auto"`` draws scikit-learn's
Glorot-uniform scheme as it does (an int ``random_state`` gives its very initial weights); a diverging fit raises
``ValueError`` at the first non-finite step (with ``early_stopping`` it stops and keeps the best
epoch); multi-output ``loss_`` sums the squared errors over outputs (scikit-learn averages them).

``backup=path`` (solvers ``sgd`` and ``adam``; ``lbfgs`` refuses it) makes ``fit`` and
``partial_fit`` survive interruption, as ``fnn.fit(..., backup=path)`` does: at the end of every
epoch, and on ``KeyboardInterrupt`` or SIGTERM at the last completed *step* (mid-epoch), the state
and all the epoch loop carries (``EstimatorBackup``) are written atomically to ``path``; the
interruption then propagates (instead of scikit-learn's warning) and leaves the estimator as it was
before the call. When ``path`` exists at the start of a fit, the fit resumes from it, after checking
that it belongs to this fit (network, data shapes, batch size, ``seed_``, optimizer, the settings in
``RUN_SETTINGS`` and the state it started from: else ``fnn.CheckpointError`` naming the difference;
with a ``random_state`` that is not an int, the seed is the backup's), and ends with exactly the
uninterrupted fit's attributes. A completed fit removes the file. Clones share the path: give each
its own.
"""
from __future__ import annotations

import contextlib
import itertools
import math
import numbers
import os
import warnings

import numpy as np
import scipy.sparse
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target, unique_labels
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from fnn import checks
from fnn.activations import ACTIVATIONS
from fnn.backup import FORMAT, FORMAT_VERSION, HEADER_KEYS, Guard, fingerprint, guard, resume, write_backup
from fnn.checkpoint import CheckpointError, file_path, read_archive, read_header
from fnn.history import Backup, History, forget_other_bests
from fnn.init import SCHEMES, init_params
from fnn.lbfgs import fit_lbfgs
from fnn.optimizers import adam, sgd
from fnn.records import LayerParams, Params, network
from fnn.stages import cost, forward
from fnn.records import TrainState
from fnn.training import DivergenceError, batches, init_state, train_step

HIDDEN = {"identity": "identity", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu"} | {
    name: name for name in ACTIVATIONS if name not in ("softmax", "exp")
}
"""``activation`` -> fnn's activation: scikit-learn's four names, and fnn's own."""
OUTPUTS = {"identity": "identity", "logistic": "sigmoid", "softmax": "softmax", "exp": "exp"}
"""``out_activation_`` (scikit-learn's name) -> fnn's output activation."""
NON_FINITE = "Solver produced non-finite parameter weights. The input data may contain large values and need to be preprocessed."


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


def _unit(name: str, value, closed_right: bool) -> float:
    """A real in ``[0, 1]`` (``closed_right``) or ``[0, 1)``."""
    value = checks.real(name, value, minimum=0.0)
    if value > 1 or (value == 1 and not closed_right):
        raise ValueError(f"{name}: expected a number in [0, 1{']' if closed_right else ')'}, got {value!r}")
    return value


def _choice(name: str, value, options) -> str:
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name}: expected one of {sorted(options)}, got {value!r}")
    return value


def _hidden_sizes(value) -> list[int]:
    sizes = [value] if isinstance(value, numbers.Integral) or not hasattr(value, "__iter__") else list(value)
    for size in sizes:
        if isinstance(size, (bool, np.bool_)) or not isinstance(size, numbers.Integral) or size <= 0:
            raise ValueError(f"hidden_layer_sizes: expected an int > 0 or a sequence of them, got {value!r}")
    return [int(s) for s in sizes]


def check_sample_weight(sample_weight, m: int, dtype) -> np.ndarray | None:
    """``sample_weight`` as a ``(m,)`` array of ``dtype``: finite, ``>= 0``, not all zero (a number: every row).

    >>> check_sample_weight(2, 3, np.float64).tolist()
    [2.0, 2.0, 2.0]
    """
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight)
    if w.dtype.kind not in "biuf":
        raise TypeError(f"sample_weight: expected real numbers, got dtype {w.dtype}")
    w = np.full(m, w, dtype=dtype) if w.ndim == 0 else w.astype(dtype)
    if w.shape != (m,):
        raise ValueError(f"sample_weight: expected shape ({m},), one weight per row of X, got {w.shape}")
    if not np.isfinite(w).all():
        raise ValueError(f"sample_weight: expected finite weights, got {w[~np.isfinite(w)][0]!r}")
    if (w < 0).any():
        raise ValueError(f"sample_weight: expected weights >= 0, got {w[w < 0][0]!r}")
    if not w.any():
        raise ValueError("sample_weight: expected at least one weight > 0, got all zeros")
    return w


def sample_weights(sample_weight, class_weight, labels, m: int, dtype, incremental: bool = False) -> np.ndarray | None:
    """The weights a fit trains with: ``sample_weight`` (checked, see ``check_sample_weight``) times
    ``class_weight``'s weight of each row's label (``None``, ``"balanced"`` or ``{label: weight}``,
    as scikit-learn's ``compute_sample_weight`` gives them); ``None`` when both are ``None``.

    >>> sample_weights([1, 1, 2, 2], "balanced", np.array([0, 0, 0, 1]), 4, np.float64).tolist()
    [0.6666666666666666, 0.6666666666666666, 1.3333333333333333, 4.0]
    """
    w = check_sample_weight(sample_weight, m, dtype)
    if class_weight is None:
        return w
    balanced = isinstance(class_weight, str) and class_weight == "balanced"
    if not (balanced or isinstance(class_weight, dict)):
        raise ValueError(f"class_weight: expected None, 'balanced' or a dict {{class: weight}}, got {class_weight!r}")
    if balanced and incremental:
        raise ValueError("class_weight: expected None or a dict for partial_fit ('balanced' depends on each batch), got 'balanced'")
    cw = compute_sample_weight(class_weight, labels).astype(dtype)
    w = cw if w is None else w * cw
    if not w.any():
        raise ValueError("sample_weight: expected at least one weight > 0 after class_weight, got all zeros")
    return w


def _sgd_solver(est) -> bool:
    if est.solver not in ("sgd", "adam"):
        raise AttributeError(f"partial_fit is only available for stochastic optimizers. {est.solver} is not stochastic.")
    return True


class _FNNEstimator(BaseEstimator):
    """What the classifier and the regressor share; they add targets, outputs and scores."""

    def __init__(self, **params):
        for name, value in params.items():
            setattr(self, name, value)

    # --- settings -------------------------------------------------------------------------
    def _check_settings(self) -> None:
        """Every constructor parameter checked, with a message naming it."""
        self._hidden = _hidden_sizes(self.hidden_layer_sizes)
        _choice("activation", self.activation, HIDDEN)
        _choice("solver", self.solver, ("lbfgs", "sgd", "adam"))
        checks.real("alpha", self.alpha, minimum=0.0)
        if not (isinstance(self.batch_size, str) and self.batch_size == "auto"):
            checks.integer("batch_size", self.batch_size, minimum=1)
        _choice("learning_rate", self.learning_rate, ("constant", "invscaling", "adaptive"))
        checks.real("learning_rate_init", self.learning_rate_init, positive=True)
        checks.real("power_t", self.power_t, minimum=0.0)
        checks.integer("max_iter", self.max_iter, minimum=1)
        for name in ("shuffle", "warm_start", "nesterovs_momentum", "early_stopping"):
            checks.flag(name, getattr(self, name))
        checks.real("tol", self.tol, minimum=0.0)
        _unit("momentum", self.momentum, closed_right=True)
        _unit("validation_fraction", self.validation_fraction, closed_right=False)
        _unit("beta_1", self.beta_1, closed_right=False)
        _unit("beta_2", self.beta_2, closed_right=False)
        checks.real("epsilon", self.epsilon, positive=True)
        if not (isinstance(self.n_iter_no_change, float) and self.n_iter_no_change == math.inf):
            checks.integer("n_iter_no_change", self.n_iter_no_change, minimum=1)
        checks.integer("max_fun", self.max_fun, minimum=1)
        if self.init != "auto":
            checks.known("init", self.init, SCHEMES)
        if checks.real("dropout", self.dropout, minimum=0.0) >= 1:
            raise ValueError(f"dropout: expected a probability 0 <= dropout < 1, got {self.dropout!r}")
        if self.backup is not None and not isinstance(self.backup, (str, os.PathLike)):
            raise TypeError("backup: expected None or a file path (str or os.PathLike), "
                            f"got {type(self.backup).__name__} {self.backup!r}")
        if self.backup is not None and self.solver == "lbfgs":
            raise ValueError("backup: expected None with solver='lbfgs' (scipy's L-BFGS cannot be stopped and resumed "
                             f"exactly), got {self.backup!r}; use solver='sgd' or 'adam'")
        if self.dropout and self.solver == "lbfgs":
            raise ValueError("dropout: expected 0 with solver='lbfgs' (a full-batch method needs one fixed cost), "
                             f"got {self.dropout!r}; use solver='sgd' or 'adam'")

    # --- data -----------------------------------------------------------------------------
    def _validate_X(self, X, y="no_validation", reset=True, **kw):
        """``X`` (or ``(X, y)`` when ``y`` is given) checked by scikit-learn; sparse ``X`` made dense."""
        with_y = not (isinstance(y, str) and y == "no_validation")
        out = validate_data(self, X, y, reset=reset, accept_sparse=["csr", "csc"], dtype=(np.float64, np.float32), **kw)
        X = out[0] if with_y else out
        X = X.toarray() if scipy.sparse.issparse(X) else X
        return (X, out[1]) if with_y else X

    # --- fitting --------------------------------------------------------------------------
    def fit(self, X, y, sample_weight=None):
        """Fit on ``X`` (m, n_features) and ``y``; ``sample_weight`` (m,) weighs each row's loss. Returns ``self``."""
        return self._fit(X, y, sample_weight, incremental=False)

    def _fit(self, X, y, sample_weight, incremental: bool, classes=None):
        backed_up = getattr(self, "backup", None) is not None
        before = {k: list(v) if isinstance(v, list) else v for k, v in self.__dict__.items()} if backed_up else None
        try:
            return self._fit_checked(X, y, sample_weight, incremental, classes)
        except (KeyboardInterrupt, SystemExit):
            if backed_up:  # the backup holds the progress: the estimator stays as it was, to run the fit again
                self.__dict__.clear()
                self.__dict__.update(before)
            raise

    def _fit_checked(self, X, y, sample_weight, incremental: bool, classes=None):
        self._check_settings()
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")
        first = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        X, Y, labels = self._targets(X, y, incremental, first, classes)
        w = sample_weights(sample_weight, getattr(self, "class_weight", None), labels, X.shape[0], X.dtype, incremental)
        if first:
            self._initialize(X, Y)
        else:
            self._resume(X, Y)
        if self.solver == "lbfgs":
            self.__dict__.pop("_split_rng", None)
            self._fit_lbfgs(X, Y, w)
        else:
            self._fit_stochastic(X, Y, w, incremental)
        self._publish()
        if not all(np.isfinite(a).all() for a in (*self.coefs_, *self.intercepts_)):
            raise ValueError(NON_FINITE)
        return self

    def _initialize(self, X, Y) -> None:
        """A fresh network, its first params and every fitted attribute at its start."""
        stored = _backup_seed(self.backup, self.random_state)
        self.seed_ = seed_from(self.random_state) if stored is None else stored
        self.n_outputs_ = Y.shape[1]
        self.n_layers_ = len(self._hidden) + 2
        self.out_activation_ = self._out_activation(Y)
        self.net_ = self._network(X.shape[1])
        self.state_ = init_state(self._init_params(X.dtype), self._optimizer())
        self.n_iter_ = self.t_ = self.n_epochs_ = 0
        self.history_ = None
        self._start_bookkeeping()

    def _start_bookkeeping(self) -> None:
        self.loss_curve_ = []
        self._no_improvement_count = 0
        self._learning_rate = float(self.learning_rate_init)
        self._best_state, self._best_epoch = self.state_, None
        self._validation_attributes()

    def _validation_attributes(self) -> None:
        """``validation_scores_``, ``best_validation_score_``, ``best_loss_`` at their start for ``early_stopping``."""
        if self.early_stopping:
            self.validation_scores_, self.best_validation_score_, self.best_loss_ = [], -np.inf, None
        else:
            self.validation_scores_, self.best_validation_score_, self.best_loss_ = None, None, np.inf

    def _resume(self, X, Y) -> None:
        """Continue from ``coefs_`` / ``intercepts_``: with ``state_`` (and its optimizer state) when
        it holds exactly them, else from them with a fresh optimizer state."""
        if Y.shape[1] != self.n_outputs_:
            raise ValueError(f"y: expected {self.n_outputs_} target columns like the previous fit, got {Y.shape[1]}")
        params = self._coef_params(X.dtype)
        state = getattr(self, "state_", None)
        if state is None or not np.array_equal(state.params.flat, params.flat) or state.params.flat.dtype != X.dtype:
            if not hasattr(self, "net_"):
                self.net_ = self._network(X.shape[1])
            self.state_ = init_state(params, self._optimizer())
        for name, value in (("seed_", None), ("n_epochs_", 0), ("t_", 0), ("n_iter_", 0), ("history_", None)):
            if not hasattr(self, name):
                setattr(self, name, seed_from(self.random_state) if name == "seed_" else value)
        if not hasattr(self, "loss_curve_") or not hasattr(self, "_learning_rate"):
            self._start_bookkeeping()
        elif self.early_stopping != (getattr(self, "validation_scores_", None) is not None):
            self._validation_attributes()  # early_stopping switched between warm starts

    def _network(self, n_in: int):
        output = OUTPUTS[self.out_activation_]
        loss = {"identity": "mean_squared_error", "exp": "poisson"}.get(output)
        return network([n_in, *self._hidden, self.n_outputs_], hidden=HIDDEN[self.activation], output=output, loss=loss,
                       l2=float(self.alpha), dropout=float(self.dropout))

    def _init_params(self, dtype) -> Params:
        """``init="auto"``: scikit-learn's scheme, ``W, b ~ U(-r, r)`` with ``r = sqrt(f / (n_in + n_out))``,
        ``f = 2`` for logistic hidden units, else 6, drawn layer by layer (``W`` then ``b``) from
        ``numpy.random.RandomState(seed_)`` as scikit-learn draws them, so an int ``random_state``
        starts from scikit-learn's very weights; other names: ``fnn.init_params``."""
        if self.init != "auto":
            return init_params(self.net_, seed=self.seed_, scheme=self.init, dtype=dtype)
        rng = self._split_rng = np.random.RandomState(self.seed_)  # the first split draws on from here, as in scikit-learn
        factor = 2.0 if self.activation == "logistic" else 6.0
        layers = []
        for d in self.net_.layers:
            r = math.sqrt(factor / (d.n_in + d.n_out))
            layers.append(LayerParams(rng.uniform(-r, r, (d.n_in, d.n_out)).astype(dtype), rng.uniform(-r, r, d.n_out).astype(dtype)))
        return Params(tuple(layers))

    def _coef_params(self, dtype) -> Params:
        """``Params`` of ``coefs_`` and ``intercepts_`` (as ``dtype``)."""
        return Params(tuple(LayerParams(np.asarray(W, dtype=dtype), np.asarray(b, dtype=dtype).reshape(-1))
                            for W, b in zip(self.coefs_, self.intercepts_)))

    def _publish(self) -> None:
        """``coefs_``, ``intercepts_``: writable copies of ``state_.params``."""
        self.coefs_ = [np.array(p.W) for p in self.state_.params.layers]
        self.intercepts_ = [np.array(p.b) for p in self.state_.params.layers]

    def _optimizer(self):
        if self.solver == "adam":
            return adam(self.learning_rate_init, self.beta_1, self.beta_2, self.epsilon)
        rate = getattr(self, "_learning_rate", self.learning_rate_init)
        return sgd(rate, momentum=self.momentum, nesterov=bool(self.nesterovs_momentum and self.momentum > 0))

    def _fit_lbfgs(self, X, Y, w) -> None:
        result = fit_lbfgs(self.net_, X, Y, self.state_.params, max_iter=self.max_iter, max_fun=self.max_fun, tol=self.tol,
                           sample_weight=w)
        info = result.state.opt_state
        if not info.converged:
            warnings.warn(
                f"lbfgs failed to converge after {info.n_iter} iteration(s) (status={info.status}):\n{info.message}.\n\n"
                f"Increase the number of iterations to improve the convergence (max_iter={self.max_iter}).\n"
                "You might also want to scale the data as shown in:\n"
                "    https://scikit-learn.org/stable/modules/preprocessing.html",
                ConvergenceWarning, stacklevel=4,
            )
        self.state_, self.n_iter_, self.loss_ = result.state, min(info.n_iter, self.max_iter), float(result.state.loss)
        self.loss_curve_ = result.losses.tolist()
        self.history_ = None

    def _split(self, X, Y, w):
        """``(train, validation)``, each ``(X, Y, w)``: with ``early_stopping``, scikit-learn's split
        (``train_test_split``, stratified for single-output classifiers), seeded by ``seed_`` or, in the
        first fit with ``init="auto"``, by the generator the initial weights came from, as scikit-learn does)."""
        rng = self.__dict__.pop("_split_rng", None)
        if not self.early_stopping:
            return (X, Y, w), None
        stratify = Y.astype(bool) if self._stratified() else None
        parts = train_test_split(X, Y, *(() if w is None else (w,)), random_state=self.seed_ if rng is None else rng,
                                 test_size=self.validation_fraction, stratify=stratify)
        if parts[1].shape[0] < 2:
            raise ValueError("The validation set is too small. Increase 'validation_fraction' or the size of your dataset.")
        w_tr, w_val = (None, None) if w is None else parts[4:6]
        return (parts[0], parts[2], w_tr), (parts[1], parts[3], w_val)

    def _batch_size(self, m: int) -> int:
        if self.batch_size == "auto":
            return min(200, m)
        if self.batch_size > m:
            warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is going to be clipped", stacklevel=5)
        return min(self.batch_size, m)

    def _epoch_batches(self, X, Y, w, size: int):
        """The batches of epoch ``n_epochs_``: ``fnn.batches`` shuffled by ``(seed_, epoch)``, or in order."""
        if size >= X.shape[0]:
            return batches(X, Y, None, sample_weight=w)
        return batches(X, Y, size, epochs=1, seed=self.seed_, start_epoch=self.n_epochs_, sample_weight=w, shuffle=self.shuffle)

    def _fit_stochastic(self, X, Y, w, incremental: bool) -> None:
        shapes = (X, Y)  # the whole data's, for a backup's fingerprint
        (X, Y, w), validation = self._split(X, Y, w)
        X, Y = _readonly(X), _readonly(Y)
        m = X.shape[0]
        size = self._batch_size(m)
        sizes = np.diff(np.r_[np.arange(0, m, size), m]).astype(np.float64)
        state = self.state_
        if type(state.opt_state) is not type(self._optimizer().init(state.params)):
            state = init_state(state.params, self._optimizer())  # another solver made this state
        rows, steps, carried = [], {}, []
        self.n_iter_ = 0
        run = None if self.backup is None else EstimatorBackup(self, *shapes, size, state, validation is not None)
        if run is not None:
            state, rows, carried = run.resume(state)
        try:
            with run.guard(state, rows, carried) if run is not None else contextlib.nullcontext():
                for _ in range((1 if incremental else self.max_iter) - self.n_iter_):
                    rate = self._learning_rate
                    step = steps.get(rate) or steps.setdefault(rate, train_step(self.net_, self._optimizer(), seed=self.seed_))
                    epoch = itertools.islice(self._epoch_batches(X, Y, w, size), len(carried), None)
                    interrupted = None if run is None else lambda s, done, before=carried: run.completed(s, rows, before + done)
                    try:
                        state, losses = step.fold(epoch, state, interrupted)
                    except DivergenceError as err:
                        if validation is None:
                            raise ValueError(NON_FINITE) from err
                        self._record_epoch(math.nan, m, None, validation, rows, rate)  # the epoch's params are not finite
                        warnings.warn(f"training stopped: {err}; kept the best validation epoch", ConvergenceWarning,
                                      stacklevel=4)
                        break
                    losses, carried = carried + losses, []
                    loss = float(np.dot(losses, sizes) / m) if len(losses) == len(sizes) else float(np.mean(losses))
                    stop = self._record_epoch(loss, m, state, validation, rows, rate)
                    if run is not None:
                        run.completed(state, rows, [])
                        run.save()
                    if stop or incremental:
                        break
                    if self.n_iter_ == self.max_iter:
                        warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the optimization "
                                      "hasn't converged yet.", ConvergenceWarning, stacklevel=4)
        except KeyboardInterrupt:
            if run is not None:
                raise
            warnings.warn("Training interrupted by user.", stacklevel=4)
        if run is not None:
            run.remove()
        self.state_ = self._best_state if validation is not None else state
        columns = list(zip(*rows)) or [()] * 5
        self.history_ = History(*columns, best_epoch=self._best_epoch if validation is not None else None,
                                stopped_early=self.n_iter_ < self.max_iter and not incremental)

    def _record_epoch(self, loss: float, m: int, state, validation, rows: list, rate: float) -> bool:
        """scikit-learn's end of an epoch: ``loss_``, ``t_``, the no-improvement count, the learning rate;
        a row of ``history_``. True when the fit should stop."""
        self.n_iter_ += 1
        self.n_epochs_ += 1
        self.loss_ = loss
        self.t_ += m
        self.loss_curve_.append(loss)
        if self.verbose:
            print("Iteration %d, loss = %.8f" % (self.n_iter_, self.loss_))
        val_loss, score = self._update_no_improvement_count(state, validation)
        accuracy = score if validation is not None and isinstance(self, ClassifierMixin) else math.nan
        rows.append((self.n_epochs_ - 1, loss, val_loss, accuracy, rate))
        if self.solver == "sgd" and self.learning_rate == "invscaling":
            self._learning_rate = float(self.learning_rate_init) / (self.t_ + 1) ** self.power_t
        if self._no_improvement_count <= self.n_iter_no_change:
            return False
        what = "Validation score" if validation is not None else "Training loss"
        msg = f"{what} did not improve more than tol={self.tol:f} for {self.n_iter_no_change} consecutive epochs."
        if self.solver == "sgd" and self.learning_rate == "adaptive" and self._learning_rate > 1e-6:
            self._learning_rate /= 5.0
            self._no_improvement_count = 0
            if self.verbose:
                print(msg + " Setting learning rate to %f" % self._learning_rate)
            return False
        if self.verbose:
            print(msg + (" Learning rate too small." if self.learning_rate == "adaptive" and self.solver == "sgd" else "")
                  + " Stopping.")
        return True

    def _update_no_improvement_count(self, state, validation) -> tuple[float, float]:
        """scikit-learn's rule; with validation also keeps the best state. Returns the validation
        cost and score (nan without validation)."""
        if validation is None:
            if self.loss_curve_[-1] > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            self.best_loss_ = min(self.best_loss_, self.loss_curve_[-1])
            return math.nan, math.nan
        X_val, Y_val, w_val = validation
        val_loss, score = self._validation(state, X_val, Y_val, w_val)
        self.validation_scores_.append(score)
        if self.verbose:
            print("Validation score: %f" % score)
        if score < self.best_validation_score_ + self.tol:
            self._no_improvement_count += 1
        else:
            self._no_improvement_count = 0
        if score > self.best_validation_score_:
            self.best_validation_score_ = score
            self._best_state, self._best_epoch = state, self.n_epochs_ - 1
        return val_loss, score

    def _validation(self, state, X_val, Y_val, w_val) -> tuple[float, float]:
        """The validation cost and score (accuracy or R^2, nan when the outputs are not finite; both nan
        for ``state=None``, the non-finite params of a diverged epoch)."""
        if state is None:
            return math.nan, math.nan
        with np.errstate(all="ignore"):
            A, cache = forward(self.net_, state.params, X_val)
            val_loss = float(cost(self.net_, state.params, cache, Y_val))
        if not np.isfinite(A).all():
            return val_loss, math.nan
        return val_loss, float(self._score_outputs(A, Y_val, w_val))

    def _output(self, X) -> np.ndarray:
        """The network output ``(m, n_outputs_)`` for ``X``, from ``coefs_`` and ``intercepts_``."""
        check_is_fitted(self, "coefs_")
        X = self._validate_X(X, reset=False)
        with np.errstate(over="ignore", invalid="ignore"):
            return np.array(forward(self.net_, self._coef_params(X.dtype), X)[0])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def _readonly(a: np.ndarray) -> np.ndarray:
    """``a`` marked read-only (a copy when it is a view of the caller's data), so ``fnn.batches`` need not copy it per epoch."""
    a = a.copy() if a.base is not None or a.flags.writeable else a
    a.flags.writeable = False
    return a


RUN_SETTINGS = ("learning_rate", "power_t", "tol", "n_iter_no_change", "early_stopping", "validation_fraction", "shuffle")
"""The settings besides the network, data and optimizer that shape a stochastic fit's epochs: a
backup must match them too (its progress records them)."""
CARRIED = ("n_iter_", "n_epochs_", "t_", "loss_", "loss_curve_", "_no_improvement_count", "_learning_rate", "best_loss_",
           "validation_scores_", "best_validation_score_", "_best_epoch")
"""What the epoch loop carries from epoch to epoch besides the ``TrainState``s (JSON values)."""


def _backup_seed(path, random_state) -> int | None:
    """The seed of the run the backup at ``path`` holds when the fit draws its seed (``random_state``
    not an int) and that file exists, so that the run it holds can be resumed; else ``None``."""
    if path is None or (isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool)) \
            or not os.path.exists(path):
        return None
    seed = read_archive(path, lambda npz: read_header(npz, FORMAT, HEADER_KEYS, FORMAT_VERSION))["fingerprint"].get("seed")
    return seed if isinstance(seed, int) and not isinstance(seed, bool) else None


def _setting(value):
    """A ``RUN_SETTINGS`` value as a JSON value."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    return value if isinstance(value, str) else float(value)


class EstimatorBackup:
    """``backup=path`` of one stochastic fit of ``est`` (``fnn.backup``): the file holds the
    ``TrainState`` of the last completed step or epoch and, as its ``progress``, what the epoch
    loop carries (``CARRIED``, the ``history_`` rows so far, the current epoch's step losses, the
    run's start ``[step, epoch]``); early stopping's best state is a file beside it
    (``fnn.history.Backup.best_path``), written when it becomes the best. The fingerprint is
    ``fnn.backup.fingerprint`` of the network, the whole data's shapes, the batch size, ``seed_`` and
    the optimizer at the run's start; the progress also records ``RUN_SETTINGS``, checked on resume."""

    def __init__(self, est, X, Y, size: int, state: TrainState, validating: bool):
        optimizer = est._optimizer()  # at the run's start: sgd's 'adaptive' rate changes on the way
        fp = fingerprint(est.net_, X, Y, optimizer, size, est.seed_, X.dtype)
        self.est, self.validating, self.start = est, validating, [int(state.step), int(est.n_epochs_)]
        self.settings = {k: _setting(getattr(est, k)) for k in RUN_SETTINGS}
        self.where = Backup(file_path(est.backup), est.net_, optimizer, fp)
        self.g, self.best_written = guard(self.where.path, est.net_, fp), None

    def resume(self, state: TrainState) -> tuple[TrainState, list, list]:
        """The state, ``history_`` rows and current epoch's step losses to go on from: ``state``,
        ``[]``, ``[]`` without a backup file, else the backup's (the estimator's ``CARRIED``
        attributes and best state set from it). ``CheckpointError`` for a backup of another run."""
        path, est = self.where.path, self.est
        if not os.path.exists(path):
            return state, [], []
        saved, progress = resume(path, est.net_, self.where.optimizer, self.where.fingerprint)
        if not isinstance(progress, dict) or set(progress) != {"start", "settings", "best", "rows", "epoch_losses", *CARRIED}:
            raise CheckpointError(path, f"a backup of another run: expected an estimator's progress, got {progress!r:.200}")
        theirs = progress["settings"]
        for k in RUN_SETTINGS:
            if theirs.get(k) != self.settings[k]:
                raise CheckpointError(path, f"a backup of another run: {k}: the backup's run had {theirs.get(k)!r}, "
                                            f"this fit has {self.settings[k]!r}")
        if progress["start"] != self.start:
            raise CheckpointError(path, f"a backup of another run: it started at [step, epoch] {progress['start']}, "
                                        f"this fit starts at {self.start}")
        for name in CARRIED:
            if progress[name] is not None or name != "loss_":
                setattr(est, name, progress[name])
        opt = est._optimizer()  # with the rate of the epoch it was in
        state = TrainState(saved.params, saved.opt_state, saved.step, saved.loss, optimizer=opt)
        best = progress["best"]
        if self.validating:
            est._best_state = state if best == "state" else \
                resume(self.where.best_path(best), est.net_, opt, self.where.fingerprint)[0]
            self.best_written = est._best_state
        return state, [tuple(r) for r in progress["rows"]], list(progress["epoch_losses"])

    def guard(self, state: TrainState, rows: list, epoch_losses: list) -> Guard:
        """The ``fnn.backup.guard`` of the run, with ``state`` as its last completed state."""
        self.completed(state, rows, epoch_losses)
        return self.g

    def completed(self, state: TrainState, rows: list, epoch_losses: list) -> None:
        """Record ``state`` (after ``epoch_losses``' steps of the current epoch) with the estimator's
        bookkeeping as the last completed one; write the best state's file when it is new."""
        est = self.est
        best = est._best_state if self.validating else None
        if best is not None and best is not self.best_written:
            write_backup(self.where.best_path(best.step), est.net_, best, self.where.fingerprint)
            self.best_written = best
        progress = {name: list(v) if isinstance(v, list) else v for name in CARRIED for v in [est.__dict__.get(name)]}
        named = None if best is None else "state" if best is state else best.step
        self.g.completed(state, {"start": self.start, "settings": self.settings, "best": named, "rows": [list(r) for r in rows],
                                 "epoch_losses": list(epoch_losses), **progress})

    def save(self) -> None:
        """Write the last completed state; forget best-state files no backup names."""
        self.g.save()
        best = self.est._best_state if self.validating else None
        forget_other_bests(self.where, None if best is None else best.step)

    def remove(self) -> None:
        """At the end of a completed fit: the backup goes, then its best-state files (cut short in
        between, no backup names a missing file)."""
        with contextlib.suppress(FileNotFoundError):
            os.remove(self.where.path)
        forget_other_bests(self.where, None)


class FNNClassifier(ClassifierMixin, _FNNEstimator):
    """``MLPClassifier`` on fnn: sigmoid outputs for two classes (one unit) and multilabel, softmax for more.

    ``class_weight``: None, ``"balanced"`` (``n_samples / (n_classes * bincount(y))``, scikit-learn's
    ``compute_sample_weight``) or ``{class: weight}``, multiplied into ``sample_weight``.

    >>> from sklearn.datasets import make_blobs
    >>> X, y = make_blobs(60, centers=3, random_state=0)
    >>> clf = FNNClassifier(hidden_layer_sizes=(8,), learning_rate_init=1e-2, max_iter=300, random_state=0).fit(X, y)
    >>> clf.classes_.tolist(), clf.predict_proba(X[:2]).shape, clf.out_activation_, clf.score(X, y) >= 0.85
    ([0, 1, 2], (2, 3), 'softmax', True)
    """

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam", alpha=0.0001, batch_size="auto",
                 learning_rate="constant", learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9, nesterovs_momentum=True,
                 early_stopping=False, validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 n_iter_no_change=10, max_fun=15000, class_weight=None, init="auto", dropout=0.0, backup=None):
        super().__init__(**{k: v for k, v in locals().items() if k not in ("self", "__class__")})

    @available_if(_sgd_solver)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch on ``(X, y)``; the first call needs ``classes`` (all labels), unless ``y`` is multilabel."""
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def _targets(self, X, y, incremental, first, classes):
        """``X``, the targets ``Y`` (m, n_outputs) from scikit-learn's ``LabelBinarizer``, and the labels."""
        if incremental:
            self._first_partial_fit(y, classes)
        X, y = self._validate_X(X, y, reset=first, multi_output=True)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer().fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            seen = unique_labels(y)
            if self.warm_start and not incremental and set(seen) != set(self.classes_):
                raise ValueError("warm_start can only be used where `y` has the same classes as in the previous call to fit."
                                 f" Previously got {self.classes_}, `y` has {seen}")
            if len(np.setdiff1d(seen, self.classes_, assume_unique=True)):
                raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` has {self.classes_}. 'y' has {seen}.")
        return X, self._label_binarizer.transform(y).astype(X.dtype), y

    def _first_partial_fit(self, y, classes) -> None:
        """scikit-learn's first-call rule: ``classes`` sets ``classes_``, and must not change later."""
        if getattr(self, "classes_", None) is None:
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit.")
            self._label_binarizer = LabelBinarizer().fit(y if type_of_target(y).startswith("multilabel") else classes)
            self.classes_ = self._label_binarizer.classes_
        elif classes is not None and not np.array_equal(self.classes_, unique_labels(classes)):
            raise ValueError(f"`classes={classes!r}` is not the same as on last call to partial_fit, was: {self.classes_!r}")

    def _out_activation(self, Y) -> str:
        return "softmax" if self._label_binarizer.y_type_ == "multiclass" else "logistic"

    def _stratified(self) -> bool:
        return self.n_outputs_ == 1

    def _score_outputs(self, A, Y, w) -> float:
        labels = self._label_binarizer.inverse_transform(Y[:, 0] if Y.shape[1] == 1 else Y)
        return accuracy_score(labels, self._labels(A), sample_weight=w)

    def _labels(self, A: np.ndarray) -> np.ndarray:
        return self._label_binarizer.inverse_transform(A[:, 0] if self.n_outputs_ == 1 else A)

    def predict(self, X) -> np.ndarray:
        """Labels from ``classes_`` for each row of ``X``: (m,), or (m, n_labels) for multilabel."""
        return self._labels(self._output(X))

    def predict_proba(self, X) -> np.ndarray:
        """``(m, n_classes)``: rows summing to 1 (binary: ``[1 - p, p]``); multilabel: each label's probability."""
        A = self._output(X)
        return np.hstack([1.0 - A, A]) if self.n_outputs_ == 1 else A

    def predict_log_proba(self, X) -> np.ndarray:
        """``log(predict_proba(X))``."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class FNNRegressor(RegressorMixin, _FNNEstimator):
    """``MLPRegressor`` on fnn: identity outputs with ``loss="squared_error"`` (half the mean squared
    error), ``exp`` outputs with ``loss="poisson"`` (half the Poisson deviance, log link).

    >>> X = np.linspace(-1, 1, 50).reshape(-1, 1)
    >>> reg = FNNRegressor(hidden_layer_sizes=(16,), solver="lbfgs", random_state=0).fit(X, 2 * X[:, 0])
    >>> reg.predict(X[:3]).shape, reg.score(X, 2 * X[:, 0]) > 0.99
    ((3,), True)
    """

    def __init__(self, loss="squared_error", hidden_layer_sizes=(100,), activation="relu", *, solver="adam", alpha=0.0001,
                 batch_size="auto", learning_rate="constant", learning_rate_init=0.001, power_t=0.5, max_iter=200,
                 shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, n_iter_no_change=10, max_fun=15000, init="auto", dropout=0.0, backup=None):
        super().__init__(**{k: v for k, v in locals().items() if k not in ("self", "__class__")})

    @available_if(_sgd_solver)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch on ``(X, y)``."""
        return self._fit(X, y, sample_weight, incremental=True)

    def _targets(self, X, y, incremental, first, classes):
        _choice("loss", self.loss, ("squared_error", "poisson"))
        X, y = self._validate_X(X, y, reset=first, multi_output=True, y_numeric=True)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self.loss == "poisson" and (y < 0).any():
            raise ValueError(f"y: expected values >= 0 for loss='poisson', got {y[y < 0][0]!r}")
        Y = (y.reshape(-1, 1) if y.ndim == 1 else y).astype(X.dtype)
        return X, Y, None

    def _out_activation(self, Y) -> str:
        return "exp" if self.loss == "poisson" else "identity"

    def _stratified(self) -> bool:
        return False

    def _score_outputs(self, A, Y, w) -> float:
        return r2_score(Y[:, 0] if Y.shape[1] == 1 else Y, A[:, 0] if A.shape[1] == 1 else A, sample_weight=w)

    def predict(self, X) -> np.ndarray:
        """Predictions for ``X`` (m, n_features): (m,) for one target, (m, n_targets) for several."""
        A = self._output(X)
        return A[:, 0] if A.shape[1] == 1 else A

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
