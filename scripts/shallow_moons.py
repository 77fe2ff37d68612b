"""Experiment 3 (seed 001): a 2-h-2 tanh/softmax network on make_moons(300, noise=0.20), seed 0.

The document: *Build an Artificial Neural Network from Scratch: Part 2* (KDnuggets).

Categorical cross-entropy with L2 0.01, weights randn/sqrt(n_in) (fnn's ``lecun``), 20000
full-batch passes. The document's update ``W -= 0.01 * (sum-over-samples gradient + 0.01 W)`` is
``sgd(0.01 * m)`` on fnn's mean cost with ``l2=0.01``; ``--lr`` is the document's 0.01.
Figures: the boundary for h = 3 with its loss, and the boundaries for h in 1, 2, 3, 4, 5, 20, 50 with
their train and held-out accuracy (a separate make_moons(1000, noise=0.20, random_state=1) draw). Each
size trains 32 seeds at once as stacked members; the grid's last panel gives their mean ± sd train and
held-out accuracy per size (the boundaries show the member of ``--seed``).

    python scripts/shallow_moons.py [--seed S] [--out results] [--quick] [--lr 0.01]
"""
from __future__ import annotations

import sys
from functools import partial

import attrs

import numpy as np
from sklearn.datasets import make_moons

import common
import fnn

NAME, TITLE = "shallow_moons", "3. Shallow network on moons: " + common.cite("001")
SIZES = (1, 2, 3, 4, 5, 20, 50)
MAIN_SIZE = 3
MEMBERS = 32  # seeds per hidden size, trained as stacked members
L2 = 0.01
TEST = dict(n_samples=1000, noise=0.20, random_state=1)  # the held-out set: a separate draw, never trained on
TEXT = (
    "make_moons(300, noise=0.20) after np.random.seed(0); 2-{h}-2, tanh hidden, softmax output, cross-entropy + "
    "L2 0.01 (reg_lambda); W = randn / sqrt(n_in), b = 0; gradient descent with epsilon 0.01 on the summed "
    "gradient; 20000 passes"
)
CHOICES = (
    "make_moons(..., random_state=0) (the same 300 points as the text's np.random.seed(0)); weights from "
    "numpy.random.default_rng(0) (fnn's lecun scheme) where the text draws from np.random.seed(0)"
)
HELD_OUT = (
    "held-out accuracy on a separate make_moons(1000, noise=0.20, random_state=1) draw, never trained on "
    "(the text trains on all 300 points and shows boundaries only)"
)
PLAN = common.Row(
    f"shallow moons, h = {MAIN_SIZE}", common.cite("001"), TEXT.format(h=MAIN_SIZE), CHOICES,
    "the loss every 1000 passes and the boundary (as images only)",
)
SPIKES = (
    "spikes are expected: the document's step\n(0.01 on the summed gradient, 3 on the mean)\n"
    "is at the edge of stability; its own code\nspikes alike, and its print every 1000\npasses hides them"
)


def model(h: int, m: int, lr: float = 0.01) -> tuple[fnn.Network, fnn.Optimizer]:
    """2-h-2 tanh/softmax with L2 0.01, and ``sgd(lr * m)``: the document's step on ``m`` samples."""
    return fnn.network([2, h, 2], hidden="tanh", output="softmax", l2=L2), fnn.sgd(lr * m)


def fit_size(h: int, X, y, args, passes: int) -> tuple[fnn.Network, fnn.StackedState, np.ndarray, float]:
    """Train 2-h-2 as the document does, ``MEMBERS`` seeds (``args.seed``, ``args.seed + 1``, ...) at once
    as stacked members (one fold): the network, final stacked state, losses ``(passes, K)`` and wall time."""
    net, optimizer = model(h, X.shape[0], args.lr)
    params = fnn.init_params(net, seed=[args.seed + k for k in range(MEMBERS)], scheme="lecun")
    result, seconds = common.timed(fnn.fit, net, X, y, optimizer, epochs=passes, params=params)
    return net, result.state, result.losses, seconds


def member_accuracies(net: fnn.Network, state: fnn.StackedState, X, y) -> np.ndarray:
    """Each live member's accuracy on ``(X, y)``."""
    predictions = fnn.predict(net, state.params, X)  # (K, m)
    return np.array([fnn.accuracy(y, p) for p, alive in zip(predictions, state.alive) if alive])


def accuracy_by_size(ax, spread: dict) -> None:
    """Mean ± sd (error bars) of the members' train and held-out accuracy against the hidden size (log x), on ``ax``."""
    for key, label, shift, style in (("train", "train (the 300 points)", 0.97, "o-"), ("held_out", "held out (1000 new points)", 1.03, "s--")):
        mean = [spread[h][key].mean() for h in SIZES]
        sd = [spread[h][key].std() for h in SIZES]
        ax.errorbar([h * shift for h in SIZES], mean, yerr=sd, fmt=style, capsize=3, label=label)
    ax.set(xscale="log", xticks=SIZES, xticklabels=[str(h) for h in SIZES], xlabel="hidden layer size h",
           ylabel="accuracy", title=f"{MEMBERS} seeds per size: mean ± sd")
    ax.legend(fontsize="small")


def experiment(args) -> common.Section:
    X, y = make_moons(300, noise=0.20, random_state=0)
    X_test, y_test = make_moons(**TEST)
    passes = 50 if args.quick else 20000
    # the sizes on a local process pool, one per core, the widest first (they take longest)
    widest_first = sorted(SIZES, reverse=True)
    fitted = dict(zip(widest_first, fnn.sweep(partial(fit_size, X=X, y=y, args=args, passes=passes), widest_first)))
    stacked = {h: fitted[h] for h in SIZES}
    spread = {h: {"train": member_accuracies(net, state, X, y), "held_out": member_accuracies(net, state, X_test, y_test)}
              for h, (net, state, _, _) in stacked.items()}
    # member 0 is the run with --seed: the figures and the table's single-seed column show it
    runs = {h: (net, fnn.unstack(state)[0], losses[:, 0], seconds) for h, (net, state, losses, seconds) in stacked.items()}
    acc = {h: fnn.accuracy(y, fnn.predict(net, final.params, X)) for h, (net, final, _, _) in runs.items()}
    test_acc = {h: fnn.accuracy(y_test, fnn.predict(net, final.params, X_test)) for h, (net, final, _, _) in runs.items()}
    net, final, losses, seconds = runs[MAIN_SIZE]
    spiky = passes > 1000 and args.lr == 0.01

    fig, (left, right) = common.figure(2)
    fnn.plot.decision_boundary(common.predictor(net, final.params), X, y, ax=left)
    left.set_title(f"Hidden layer size {MAIN_SIZE}: train accuracy {acc[MAIN_SIZE]:.3f}")
    fnn.plot.learning_curve(losses, ax=right)
    right.set(title=f"cross-entropy + L2 per pass (lr {args.lr:g}, summed)", xlabel="pass", yscale="log")
    if spiky:
        right.text(0.97, 0.6, SPIKES, transform=right.transAxes, ha="right", va="top", fontsize="small",
                   bbox=dict(boxstyle="round", facecolor="lightyellow", alpha=0.9))
    main_png = common.save(fig, args.out, "shallow_moons.png")

    panels = {f"h = {h}: train {acc[h]:.3f}, test {test_acc[h]:.3f}": common.predictor(n, f.params) for h, (n, f, _, _) in runs.items()}
    grid = fnn.plot.boundary_grid(panels, X, y, ncols=4)
    spare = grid.axes[len(SIZES)]  # the grid's eighth, empty panel
    spare.set_visible(True)
    accuracy_by_size(spare, spread)
    grid_png = common.save(grid, args.out, "shallow_moons_sizes.png")

    table = [f"| hidden size | train accuracy (seed {args.seed}) | held-out accuracy (seed {args.seed}) | final loss | "
             f"train, {MEMBERS} seeds | held-out, {MEMBERS} seeds | seconds ({MEMBERS} seeds) |", "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    table += [f"| {h} | {acc[h]:.3f} | {test_acc[h]:.3f} | {common.num(runs[h][2][-1])} | {_mean_sd(spread[h]['train'])} | "
              f"{_mean_sd(spread[h]['held_out'])} | {stacked[h][3]:.1f} |" for h in SIZES]
    rows = [
        attrs.evolve(PLAN, ours=f"train accuracy {acc[MAIN_SIZE]:.3f}, loss {common.num(losses[-1])}", seconds=seconds),
        common.Row(
            "shallow moons, h grid", common.cite("001"),
            TEXT.format(h="h") + "; h in " + ", ".join(map(str, SIZES)), CHOICES + "; " + HELD_OUT,
            "small h capture the general shape, large h overfit (figure); a separate test set would favour "
            "the smaller h (said, not measured)",
            "train / held-out accuracy " + ", ".join(f"{h}: {acc[h]:.3f} / {test_acc[h]:.3f}" for h in SIZES),
            sum(r[3] for r in runs.values()),
        ),
    ]
    spikes = (
        " The loss spikes every few hundred passes: the document's step (0.01 on the summed gradient, 3 on "
        "the mean cost) sits at the edge of stability; the document's own NumPy code spikes the same way, "
        "and its print every 1000 passes hides it."
    )
    details = (
        f"{common.introduce('001')}\n\n"
        f"The document's `W += -0.01 * (dW + 0.01 W)` on the summed gradient is fnn's `sgd(0.01 * m)` with `l2=0.01` "
        "on the mean cost (trajectory checked to 1e-10 in tests/test_documents.py). "
        f"{passes} passes each (seed {args.seed}).{spikes if spiky else ''} Every network trains on the "
        f"document's 300 points; the held-out accuracy is measured on {len(y_test)} new points from the same "
        f"distribution (make_moons(1000, noise=0.20, random_state=1)), which no network saw.\n\n"
        f"Each hidden size is trained for {MEMBERS} seeds ({args.seed} to {args.seed + MEMBERS - 1}) at once, as stacked "
        "members of one fold (`fnn.fit(..., params=fnn.init_params(net, seed=[...]))`); the grid's last panel and the "
        "table give their mean ± sd, which tests the claim that smaller layers generalise better with error bars; the "
        "boundaries are the seed's own member.\n\n" + "\n".join(table)
    )
    metrics = {"train_accuracy": acc[MAIN_SIZE], "loss": float(losses[-1]), "train_accuracy_by_size": acc,
               "test_accuracy_by_size": test_acc,
               "seeds": {h: {k: (float(v.mean()), float(v.std()), len(v)) for k, v in d.items()} for h, d in spread.items()},
               "seconds_by_size": {h: r[3] for h, r in stacked.items()}}
    return common.Section(NAME, TITLE, rows, details, [main_png, grid_png], metrics)


def _mean_sd(values: np.ndarray) -> str:
    return f"{values.mean():.3f} ± {values.std():.3f}"


def main(argv: list[str] | None = None) -> common.Section:
    return common.main(argv, __doc__, 0.01, NAME, TITLE, experiment, PLAN)


if __name__ == "__main__":
    sys.exit(common.finish(main(sys.argv[1:])))
