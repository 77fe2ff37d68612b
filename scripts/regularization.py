"""Experiment 6 (after seeds 000 and 002, not a seed document): no regularization, L2 and dropout
on a wide network trained on a few noisy points.

The classic lesson that follows the deep-network material of *Building a Neural Network from
Scratch in Python* (000) and *A neural-network framework by hand, in NumPy* (002): a network with
far more weights than training points fits their noise (train accuracy 1, a clear gap to the test
accuracy), and L2 or dropout each narrow that gap. No seed document has it, so every value below is
the project's choice.

make_moons(80, noise=0.3, random_state=0) to train on, a separate make_moons(5000, noise=0.3,
random_state=1) to test on; [2, 200, 200, 1] ReLU/sigmoid, binary cross-entropy, He init (seed
``--seed``), Adam at ``--lr`` 0.01, 1000 full-batch epochs (``--quick``: 50), three times: without
regularization, with ``l2=0.7`` (the cost gains ``0.7 / (2m) * Σ‖W‖²``) and with
``dropout=0.7`` on both hidden layers (step ``k`` drops with key ``(seed, k)``; prediction never
drops). Figure: the three decision boundaries over the training points, titled with the train and
test accuracy.

    python scripts/regularization.py [--seed S] [--out results] [--quick] [--lr 0.01]
"""
from __future__ import annotations

import sys

import attrs
from sklearn.datasets import make_moons

import common
import fnn

NAME, TITLE = "regularization", "6. Regularization: L2 and dropout (after 000 and 002, not a seed document)"
SIZES = [2, 200, 200, 1]
LR, EPOCHS, QUICK_EPOCHS = 0.01, 1000, 50
L2, DROPOUT = 0.7, 0.7
TRAIN = dict(n_samples=80, noise=0.3, random_state=0)
TEST = dict(n_samples=5000, noise=0.3, random_state=1)  # a separate draw, never trained on
REGULARIZERS = {  # key -> (label, network() keywords)
    "none": ("no regularization", {}),
    "l2": (f"L2, λ = {L2:g}", {"l2": L2}),
    "dropout": (f"dropout, p = {DROPOUT:g}", {"dropout": DROPOUT}),
}
TUTORIAL = "not a seed document: the regularization lesson that follows " + common.cite("000", "002")
TEXT = (
    "none (no seed document has this lesson); what it teaches: a wide network fit to few noisy points "
    "overfits, and an L2 penalty λ/(2m) Σ‖W‖² or inverted dropout (train with masks, predict "
    "without) narrows the train/test gap"
)
CHOICES = (
    f"make_moons({TRAIN['n_samples']}, noise={TRAIN['noise']}, random_state={TRAIN['random_state']}) to train, a separate "
    f"make_moons({TEST['n_samples']}, noise={TEST['noise']}, random_state={TEST['random_state']}) to test; "
    f"{'-'.join(map(str, SIZES))} ReLU/sigmoid, binary cross-entropy, He init; Adam {LR:g}, {EPOCHS} full-batch epochs; "
    f"λ {L2:g} and dropout p {DROPOUT:g} on both hidden layers, fixed after a short sweep "
    "(λ in 0.3, 0.5, 0.7, 1, 3; p in 0.3, 0.5, 0.6, 0.7, 0.8)"
)
REPORTS = "no document: the lesson's claim is that both narrow the train/test gap"
PLAN = common.Row("regularization", TUTORIAL, TEXT, CHOICES, REPORTS)


def fit_one(kwargs: dict, X, y, args, epochs: int) -> tuple[fnn.Network, fnn.TrainState, float]:
    """``[2, 200, 200, 1]`` with ``network(**kwargs)`` trained full batch with Adam: the network,
    its final state and the wall time. Dropout's step ``k`` uses the key ``(args.seed, k)``."""
    net = fnn.network(SIZES, hidden="relu", output="sigmoid", **kwargs)
    params = fnn.init_params(net, seed=args.seed, scheme="he")
    result, seconds = common.timed(fnn.fit, net, X, y, fnn.adam(args.lr), epochs=epochs, seed=args.seed, params=params)
    return net, result.state, seconds


def experiment(args) -> common.Section:
    X, y = make_moons(**TRAIN)
    X_test, y_test = make_moons(**TEST)
    epochs = QUICK_EPOCHS if args.quick else EPOCHS
    runs = {key: fit_one(kw, X, y, args, epochs) for key, (_, kw) in REGULARIZERS.items()}
    scores = {}
    for key, (net, state, _) in runs.items():
        train, test = fnn.accuracy(y, fnn.predict(net, state.params, X)), fnn.accuracy(y_test, fnn.predict(net, state.params, X_test))
        scores[key] = {"train": train, "test": test, "gap": train - test}

    fig, axes = common.figure(len(runs), width=4.3, height=4.0)
    for ax, (key, (net, state, _)) in zip(axes, runs.items()):
        fnn.plot.decision_boundary(common.predictor(net, state.params), X, y, ax=ax)
        s = scores[key]
        ax.set_title(f"{REGULARIZERS[key][0]}\ntrain {s['train']:.3f}, test {s['test']:.3f} (gap {s['gap']:+.3f})")
    png = common.save(fig, args.out, "regularization.png")

    rows = [
        attrs.evolve(
            PLAN, experiment=f"regularization: {REGULARIZERS[key][0]}",
            ours=f"train {s['train']:.3f}, test {s['test']:.3f}, gap {s['gap']:+.3f}", seconds=runs[key][2],
        )
        for key, s in scores.items()
    ]
    table = ["| network | train accuracy (80 points) | test accuracy (5000 new points) | gap |", "| --- | ---: | ---: | ---: |"]
    table += [f"| {REGULARIZERS[key][0]} | {s['train']:.3f} | {s['test']:.3f} | {s['gap']:+.3f} |" for key, s in scores.items()]
    details = (
        "No seed document has this experiment: it is the regularization lesson that usually follows the "
        f"deep-network material of {common.cite('000', '002')} (000 ends overfitting: train 0.785, test 0.615). "
        f"A {'-'.join(map(str, SIZES))} ReLU/sigmoid network ({sum(a * b + b for a, b in zip(SIZES, SIZES[1:]))} weights and "
        f"biases) trains on {TRAIN['n_samples']} "
        f"noisy make_moons points for {epochs} full-batch Adam epochs (lr {args.lr:g}, seed {args.seed}), three times: "
        f"plain, with `fnn.network(..., l2={L2:g})` (each step's cost gains {L2:g}/(2m) Σ‖W‖²) and with "
        f"`fnn.network(..., dropout={DROPOUT:g})` (inverted dropout on both hidden layers; `fnn.fit(..., seed={args.seed})` "
        f"drops at step k with the key ({args.seed}, k); `fnn.predict` never drops). The test set is a separate draw of "
        f"{TEST['n_samples']} points from the same distribution. λ and p are the project's choices, fixed after a short "
        "sweep on this data.\n\n" + "\n".join(table)
    )
    return common.Section(NAME, TITLE, rows, details, [png], scores)  # metrics: key -> train, test, gap


def main(argv: list[str] | None = None) -> common.Section:
    return common.main(argv, __doc__, LR, NAME, TITLE, experiment, PLAN)


if __name__ == "__main__":
    sys.exit(common.finish(main(sys.argv[1:])))
