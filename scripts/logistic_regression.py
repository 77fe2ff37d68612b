"""Experiment 1 (seed 003): logistic regression as a network with no hidden layer.

The document: *Demystifying Neural Networks* (揭开神经网络的神秘面纱, Towards Data Science).

Two Gaussian blobs of 50 points each around (-1.5, -1.5) and (1.5, 1.5) (std 1, the document
does not give its data), a sigmoid unit with no bias (``W`` (2, 1) only, as in the document),
binary cross-entropy, plain gradient descent for 15 iterations from random weights (``normal``,
scale 1); the document gives no learning rate, we use 1.

    python scripts/logistic_regression.py [--seed S] [--out results] [--quick] [--lr 1]
"""
from __future__ import annotations

import sys

import attrs

from sklearn.datasets import make_blobs

import common
import fnn

NAME, TITLE = "logistic_regression", "1. Logistic regression: " + common.cite("003")
CENTERS = [[-1.5, -1.5], [1.5, 1.5]]
PLAN = common.Row(
    "logistic regression",
    common.cite("003"),
    "X (100, 2) of two classes, y (100, 1); sigmoid output, no hidden layer, W (1, 2) and no bias; "
    "binary cross-entropy; plain gradient descent, 15 iterations; W starts random",
    "the data: two Gaussian blobs of 50 points around (-1.5, -1.5) and (1.5, 1.5), std 1 (the text does not "
    "give them); W ~ N(0, 1); learning rate 1 (the text gives none); seed 0 for data and weights",
    "converges in about 15 iterations; a few points stay misclassified (figures only)",
)


def experiment(args) -> common.Section:
    X, y = make_blobs(100, centers=CENTERS, cluster_std=1.0, random_state=args.seed)
    net = fnn.Network((fnn.Dense(2, 1, "sigmoid", use_bias=False),), "binary_cross_entropy")
    params = fnn.init_params(net, seed=args.seed, scheme="normal", scale=1.0)
    iterations = 5 if args.quick else 15
    (final, losses), seconds = common.timed(common.train, net, fnn.sgd(args.lr), params, X, fnn.targets(net, y), iterations, NAME)
    before = fnn.accuracy(y, fnn.predict(net, params, X))
    after = fnn.accuracy(y, fnn.predict(net, final.params, X))

    fig, (ax_before, ax_after, ax_loss) = common.figure(3, width=4.5)
    fnn.plot.decision_boundary(common.predictor(net, params), X, y, ax=ax_before).set_title(f"before training: accuracy {before:.2f}")
    fnn.plot.decision_boundary(common.predictor(net, final.params), X, y, ax=ax_after).set_title(f"after {iterations} iterations: accuracy {after:.2f}")
    fnn.plot.learning_curve(losses, ax=ax_loss).set(title=f"cross-entropy per iteration (lr {args.lr:g})", xlabel="iteration")
    ours = f"train accuracy {before:.2f} -> {after:.2f}; loss {common.num(losses[0])} -> {common.num(losses[-1])}"
    losses_text = " ".join(common.num(v) for v in losses)
    details = f"{common.introduce('003')}\n\nLoss per iteration (seed {args.seed}, lr {args.lr:g}): {losses_text}"
    return common.Section(
        NAME, TITLE, [attrs.evolve(PLAN, ours=ours, seconds=seconds)],
        details, [common.save(fig, args.out, "logistic_regression.png")],
        {"train_accuracy": after, "train_accuracy_before": before, "losses": losses.tolist()},
    )


def main(argv: list[str] | None = None) -> common.Section:
    return common.main(argv, __doc__, 1.0, NAME, TITLE, experiment, PLAN)


if __name__ == "__main__":
    sys.exit(common.finish(main(sys.argv[1:])))
