"""Experiment 5 (seed 004, chapter 2): a network from an architecture list, as the document builds it.

The document: *Implementing a complex deep neural network with NumPy* (尚硅谷机器学习教程, ch. 2). The
setup below beyond the layers' activations and initial scale is the project's (the text gives no data,
sizes, learning rate or epochs).

make_moons(1000, noise=0.2, random_state=100), 10 % held out (random_state=42); layers
2-25-50-50-25-1 ReLU/sigmoid, binary cross-entropy, W = 0.1 randn (fnn's ``normal`` scheme; fnn
starts biases at 0 where the document draws 0.1 randn), plain gradient descent at 0.01,
10000 full-batch epochs, with the cost and accuracy of every epoch.

    python scripts/architecture_list.py [--seed S] [--out results] [--quick] [--lr 0.01]
"""
from __future__ import annotations

import sys

import attrs

import numpy as np
from sklearn.datasets import make_moons
from sklearn.model_selection import train_test_split

import common
import fnn

NAME, TITLE = "architecture_list", "5. Architecture list vs Keras: " + common.cite("004 ch. 2")
SIZES = [2, 25, 50, 50, 25, 1]
PLAN = common.Row(
    "architecture list",
    common.cite("004 ch. 2"),
    "a two-class data set with a held-out test set; layers from a list of {input_dim, output_dim, activation}, "
    "ReLU hidden, sigmoid output; W and b = 0.1 randn; cross-entropy; full-batch gradient descent with the cost "
    "and accuracy of every epoch; Keras with the same architecture and learning rate",
    "the data make_moons(1000, noise=0.2, random_state=100), 10 % held out (train_test_split, random_state=42); "
    "the layers 2-25-50-50-25-1; learning rate 0.01; 10000 epochs (the text gives none of these); "
    "W = 0.1 randn from numpy.random.default_rng(0) and b = 0 (the text draws b too, after np.random.seed(2)); no Keras run",
    "test accuracy 0.95 for NumPy and for Keras; the NumPy model took more time",
)


def model(lr: float = 0.01) -> tuple[fnn.Network, fnn.Optimizer]:
    """2-25-50-50-25-1 ReLU/sigmoid (binary cross-entropy) and ``sgd(lr)``."""
    return fnn.network(SIZES, hidden="relu", output="sigmoid"), fnn.sgd(lr)


def history(net: fnn.Network, optimizer: fnn.Optimizer, params: fnn.Params, X, y, epochs: int) -> tuple[fnn.TrainState, np.ndarray, np.ndarray]:
    """Train as the document does: the final state, and per epoch the cost and the accuracy of the
    params that epoch starts from (both from the same forward pass in the document)."""
    trail = common.states(net, optimizer, params, X, fnn.targets(net, y), epochs, NAME)
    before, costs, accs = next(trail), [], []
    for after in trail:
        costs.append(after.loss)
        accs.append(fnn.accuracy(y, fnn.predict(net, before.params, X)))
        before = after
    return before, np.asarray(costs, dtype=np.float64), np.asarray(accs)


def experiment(args) -> common.Section:
    X, y = make_moons(1000, noise=0.2, random_state=100)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.1, random_state=42)
    net, optimizer = model(args.lr)
    params = fnn.init_params(net, seed=args.seed, scheme="normal", scale=0.1)
    epochs = 20 if args.quick else 10000
    (final, costs, accs), seconds = common.timed(history, net, optimizer, params, X_tr, y_tr, epochs)
    test_acc = fnn.accuracy(y_te, fnn.predict(net, final.params, X_te))
    train_acc = fnn.accuracy(y_tr, fnn.predict(net, final.params, X_tr))

    fig, (cost_ax, acc_ax, boundary_ax) = common.figure(3, width=4.5)
    fnn.plot.learning_curve(costs, ax=cost_ax).set(title="cost history (train)", xlabel="epoch")
    fnn.plot.learning_curve(accs, ax=acc_ax).set(title="accuracy history (train)", xlabel="epoch", ylabel="accuracy")
    fnn.plot.decision_boundary(common.predictor(net, final.params), X_te, y_te, ax=boundary_ax)
    boundary_ax.set_title(f"test set: accuracy {test_acc:.3f}")
    ours = f"test accuracy {test_acc:.3f} (train {train_acc:.3f}), cost {common.num(costs[-1])}"
    details = (
        f"{common.introduce('004 ch. 2')}\n\n"
        "From the document's own weights, fnn follows the document's code to 1e-10 (tests/test_documents.py). "
        f"{epochs} epochs (seed {args.seed}) on {len(X_tr)} training rows; training took "
        f"{seconds:.1f} s, {1e3 * seconds / epochs:.2f} ms per epoch including the accuracy history. "
        f"We did not run Keras (it is not installed here); the project's earlier measurements ({common.link('docs/performance.md', args.out)}) put Keras (JAX) at 1.90 ms and "
        "the tutorial's NumPy at 1.22 ms per epoch for this network on this machine (without the history)."
    )
    row = attrs.evolve(PLAN, ours=ours, seconds=seconds)
    metrics = {"test_accuracy": test_acc, "train_accuracy": train_acc, "cost": float(costs[-1])}
    return common.Section(NAME, TITLE, [row], details, [common.save(fig, args.out, "architecture_list.png")], metrics)


def main(argv: list[str] | None = None) -> common.Section:
    return common.main(argv, __doc__, 0.01, NAME, TITLE, experiment, PLAN)


if __name__ == "__main__":
    sys.exit(common.finish(main(sys.argv[1:])))
