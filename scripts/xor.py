"""Experiment 2 (seed 004, chapter 1): the XOR table learnt by a 3-4-1 sigmoid network.

The document: *Building a deep neural network from scratch* (尚硅谷机器学习教程, ch. 1).

No biases, sum-of-squares loss, weights U[0,1), 1500 full-batch iterations. The document's update
``W += A_prev.T @ (2 (y - out) * out (1 - out))`` is gradient descent with learning rate 1 on
fnn's ``sum_of_squares`` (``J = sum (A - Y)^2``, ``dJ/dA = 2 (A - Y)``), so ``--lr 1`` is exact.

    python scripts/xor.py [--seed S] [--out results] [--quick] [--lr 1]
"""
from __future__ import annotations

import sys

import attrs

import numpy as np

import common
import fnn

NAME, TITLE = "xor", "2. XOR table: " + common.cite("004 ch. 1")
DOCUMENT = (0.023, 0.979, 0.975, 0.025)
PLAN = common.Row(
    "XOR table",
    common.cite("004 ch. 1"),
    "the four rows (x1 x2 x3 = 001, 011, 101, 111; y = 0 1 1 0); 3-4-1 sigmoid/sigmoid, biases 0; sum of squares; "
    "W += d_weights (lr 1); W ~ U[0,1) (np.random.rand); 1500 iterations",
    "the seed of W: 0, through numpy.random.default_rng (the text's np.random.rand is unseeded, so its "
    "weights and ours differ)",
    "predictions " + " ".join(f"{p:.3f}" for p in DOCUMENT),
)


def network() -> fnn.Network:
    """3-4-1, sigmoid everywhere, no biases, ``sum_of_squares``."""
    layers = (fnn.Dense(3, 4, "sigmoid", use_bias=False), fnn.Dense(4, 1, "sigmoid", use_bias=False))
    return fnn.Network(layers, "sum_of_squares")


def experiment(args) -> common.Section:
    X, y = fnn.data.xor()
    net = network()
    params = fnn.init_params(net, seed=args.seed, scheme="uniform")
    iterations = 20 if args.quick else 1500
    (final, losses), seconds = common.timed(common.train, net, fnn.sgd(args.lr), params, X, fnn.targets(net, y), iterations, NAME)
    A = fnn.forward(net, final.params, X)[0][:, 0]
    rows = ["| x1 x2 x3 | y | document | ours |", "| --- | ---: | ---: | ---: |"]
    rows += [f"| {' '.join(f'{v:.0f}' for v in x)} | {t} | {d:.3f} | {a:.3f} |" for x, t, d, a in zip(X, y, DOCUMENT, A)]
    fig, (ax,) = common.figure()
    fnn.plot.learning_curve(losses, ax=ax)
    ax.set(title=f"XOR 3-4-1: sum-of-squares loss per iteration (lr {args.lr:g})", xlabel="iteration", yscale="log")
    ours = f"predictions {' '.join(f'{a:.3f}' for a in A)}; max error {np.abs(A - y).max():.3f}; loss {common.num(losses[-1])}"
    return common.Section(
        NAME,
        TITLE,
        [attrs.evolve(PLAN, ours=ours, seconds=seconds)],
        details=(
            common.introduce("004 ch. 1") + "\n\nThe document's `weights += d_weights` with `d_weights = -d(sum (y - out)^2)/dW` is fnn's "
            "`sgd(1)` on `sum_of_squares`; tests/test_documents.py checks that both follow the same "
            f"trajectory to 1e-10. Predictions after {iterations} iterations (seed {args.seed}):\n\n" + "\n".join(rows)
        ),
        figures=[common.save(fig, args.out, "xor_loss.png")],
        metrics={"predictions": A.tolist(), "loss": float(losses[-1])},
    )


def main(argv: list[str] | None = None) -> common.Section:
    return common.main(argv, __doc__, 1.0, NAME, TITLE, experiment, PLAN)


if __name__ == "__main__":
    sys.exit(common.finish(main(sys.argv[1:])))
