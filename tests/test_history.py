"""fit by epochs: History rows, validation, early stopping, progress; the plain fold is unchanged."""
import math
import pickle

import numpy as np
import pytest
from sklearn.datasets import make_moons

import fnn
from fnn.history import epoch_means

X, y = make_moons(200, noise=0.25, random_state=0)
X_val, y_val = make_moons(80, noise=0.25, random_state=1)
NET = fnn.network([2, 8, 1], hidden="tanh")


def same_state(a, b):
    assert a.step == b.step
    assert np.array_equal(a.params.flat, b.params.flat)


def fit(**kw):
    args = dict(optimizer=fnn.adam(2e-2), epochs=12, batch_size=32, seed=3)
    args.update(kw)
    return fnn.fit(NET, X, y, **args)


def test_plain_fit_has_no_history_and_is_the_fold():
    plain = fit()
    state = fnn.init_state(fnn.init_params(NET, seed=3), fnn.adam(2e-2))
    folded = fnn.fold(fnn.train_step(NET, fnn.adam(2e-2)), fnn.batches(X, fnn.targets(NET, y), 32, 12, 3), state)
    assert plain.history is None
    same_state(plain.state, folded)


@pytest.mark.parametrize("kw", [dict(validation=(X_val, y_val)), dict(progress=True)])
def test_by_epoch_runs_the_same_steps(kw, capsys):
    plain, by_epoch = fit(), fit(**kw)
    same_state(plain.state, by_epoch.state)
    assert np.array_equal(plain.losses, by_epoch.losses)
    h = by_epoch.history
    assert len(h) == 12 and h.epoch.tolist() == list(range(12))
    assert np.array_equal(h.train_loss, epoch_means(plain.losses, 7))
    assert all(not a.flags.writeable for a in (h.epoch, h.train_loss, h.val_loss, h.val_accuracy, h.learning_rate))


def test_validation_columns_are_cost_and_accuracy_of_each_epoch():
    result = fit(epochs=4, validation=(X_val, y_val))
    Y_val = fnn.targets(NET, y_val)
    for e in range(4):
        params = fit(epochs=e + 1).state.params
        _, cache = fnn.forward(NET, params, X_val)
        assert result.history.val_loss[e] == pytest.approx(fnn.cost(NET, params, cache, Y_val), rel=1e-12)
        assert result.history.val_accuracy[e] == fnn.accuracy(y_val, fnn.predict(NET, params, X_val))


def test_learning_rate_column_follows_the_schedule():
    schedule = fnn.schedules.step_decay(0.1, 0.5, 14)  # 7 steps per epoch: halves every 2 epochs
    h = fit(optimizer=fnn.sgd(schedule), epochs=6, progress=True).history
    assert h.learning_rate.tolist() == [0.1, 0.1, 0.05, 0.05, 0.025, 0.025]


def test_regression_has_no_accuracy():
    net = fnn.network([2, 4, 1], hidden="tanh", output="identity")
    h = fnn.fit(net, X, X[:, 0], fnn.adam(1e-2), epochs=3, validation=(X_val, X_val[:, 0])).history
    assert np.isnan(h.val_accuracy).all() and np.isfinite(h.val_loss).all()


def test_early_stopping_returns_the_best_state():
    result = fit(optimizer=fnn.adam(0.1), epochs=200, validation=(X_val, y_val), early_stopping=fnn.Patience(3))
    h = result.history
    best = int(np.argmin(h.val_loss))
    assert h.stopped_early and h.best_epoch == best and len(h) == best + 4 < 200
    same_state(result.state, fit(optimizer=fnn.adam(0.1), epochs=best + 1).state)
    assert len(result.losses) == 7 * len(h)


def test_min_delta_counts_small_gains_as_no_improvement():
    loose = fit(optimizer=fnn.adam(0.1), epochs=200, validation=(X_val, y_val), early_stopping=fnn.Patience(3, min_delta=1.0))
    assert len(loose.history) == 4 and loose.history.best_epoch == 0


def test_continues_from_a_state_and_start_epoch():
    first = fit(epochs=5, validation=(X_val, y_val))
    rest = fnn.fit(NET, X, y, epochs=7, batch_size=32, seed=3, state=first.state, validation=(X_val, y_val))
    assert rest.history.epoch.tolist() == list(range(5, 12))
    same_state(rest.state, fit().state)
    named = fnn.fit(NET, X, y, epochs=7, batch_size=32, seed=3, state=first.state, start_epoch=5)
    same_state(named.state, rest.state)


@pytest.mark.parametrize("kw", [dict(progress=True), dict(validation=(X_val, y_val), early_stopping=fnn.Patience(2))])
def test_zero_epochs_gives_an_empty_history(kw):
    result = fit(epochs=0, **kw)
    assert len(result.history) == 0 and result.state.step == 0 and len(result.losses) == 0


def test_state_with_its_optimizer_pickles_and_continues():
    state = fit(epochs=5).state
    again = pickle.loads(pickle.dumps(state))
    assert again.optimizer.name == "adam"
    cont = fnn.fit(NET, X, y, epochs=7, batch_size=32, seed=3, state=again)
    same_state(cont.state, fit().state)


def test_progress_bar_shows_loss(capsys):
    fit(epochs=3, progress=True, validation=(X_val, y_val))
    err = capsys.readouterr().err
    assert "3/3" in err and "loss=" in err and "val_loss=" in err


@pytest.mark.parametrize(
    "kw, error, words",
    [
        (dict(early_stopping=fnn.Patience(2)), ValueError, ["validation", "early_stopping"]),
        (dict(validation=X_val), TypeError, ["validation", "pair"]),
        (dict(validation=(X_val[:, :1], y_val)), ValueError, ["validation[0]", "(m, 2)"]),
        (dict(validation=(X_val, y_val[:5])), ValueError, ["validation[1]", "80"]),
        (dict(validation=(X_val, y_val), early_stopping=3), TypeError, ["early_stopping", "Patience"]),
        (dict(progress="yes"), TypeError, ["progress", "bool"]),
    ],
)
def test_bad_input_names_the_argument(kw, error, words):
    with pytest.raises(error) as info:
        fit(**kw)
    assert all(w in str(info.value) for w in words)


@pytest.mark.parametrize("args, error", [((0,), ValueError), ((1.5,), TypeError), ((2, -1.0), ValueError)])
def test_patience_checks_its_fields(args, error):
    with pytest.raises(error, match="early_stopping"):
        fnn.Patience(*args)


def test_history_is_frozen():
    h = fit(epochs=2, progress=True).history
    with pytest.raises(Exception):
        h.best_epoch = 3
    with pytest.raises(ValueError):
        h.train_loss[0] = 0.0
    assert math.isnan(h.val_loss[0]) and h.best_epoch is None


def test_learning_curve_draws_train_and_validation_per_epoch():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    h = fit(optimizer=fnn.adam(0.1), epochs=200, validation=(X_val, y_val), early_stopping=fnn.Patience(3)).history
    ax = fnn.plot.learning_curve(h, ax=Figure().subplots())
    train, val, best = ax.lines
    assert train.get_xdata().tolist() == h.epoch.tolist() and train.get_ydata().tolist() == h.train_loss.tolist()
    assert val.get_ydata().tolist() == h.val_loss.tolist() and best.get_xdata()[0] == h.best_epoch
    assert ax.get_xlabel() == "epoch" and [t.get_text() for t in ax.get_legend().get_texts()][:2] == ["train", "validation"]
    only_train = fnn.plot.learning_curve(fit(epochs=3, progress=True).history, ax=Figure().subplots())
    assert len(only_train.lines) == 1
    with pytest.raises(ValueError, match="losses: expected a History of at least one epoch"):
        fnn.plot.learning_curve(fit(epochs=0, progress=True).history, ax=Figure().subplots())
