"""Experiment 3 (seed 001): a 2-h-2 tanh/softmax network on make_moons(300, noise=0.20), seed 0.

Categorical cross-entropy with L2 0.01, weights randn/sqrt(n_in) (fnn's ``lecun``), 20000
full-batch passes. The document's update ``W -= 0.01 * (sum-over-samples gradient + 0.01 W)`` is
``sgd(0.01 * m)`` on fnn's mean cost with ``l2=0.01``; ``--lr`` is the document's 0.01.
Figures: the boundary for h = 3 with its loss, and the boundaries for h in 1, 2, 3, 4, 5, 20, 50.

    python scripts/shallow_moons.py [--seed S] [--out results] [--quick] [--lr 0.01]
"""
from __future__ import annotations

import sys

import attrs

import numpy as np
from sklearn.datasets import make_moons

import common
import fnn

NAME, TITLE = "shallow_moons", "3. Shallow network on moons (001)"
SIZES = (1, 2, 3, 4, 5, 20, 50)
MAIN_SIZE = 3
L2 = 0.01
SETUP = "make_moons(300, noise=0.2), seed 0; 2-{h}-2 tanh/softmax, cross-entropy, L2 0.01, lr 0.01 on the summed gradient, randn/sqrt(n_in), 20000 passes"
PLAN = common.Row("shallow moons (001), h = 3", SETUP.format(h=MAIN_SIZE), "loss every 1000 passes and the boundary (as images only)")


def model(h: int, m: int, lr: float = 0.01) -> tuple[fnn.Network, fnn.Optimizer]:
    """2-h-2 tanh/softmax with L2 0.01, and ``sgd(lr * m)``: the document's step on ``m`` samples."""
    return fnn.network([2, h, 2], hidden="tanh", output="softmax", l2=L2), fnn.sgd(lr * m)


def fit_size(h: int, X, y, args, passes: int) -> tuple[fnn.Network, fnn.TrainState, np.ndarray, float]:
    """Train 2-h-2 as the document does: the network, final state, losses and wall time."""
    net, optimizer = model(h, X.shape[0], args.lr)
    params = fnn.init_params(net, seed=args.seed, scheme="lecun")
    (final, losses), seconds = common.timed(common.train, net, optimizer, params, X, fnn.targets(net, y), passes, f"moons h={h}")
    return net, final, losses, seconds


def experiment(args) -> common.Section:
    X, y = make_moons(300, noise=0.20, random_state=0)
    passes = 50 if args.quick else 20000
    runs = {h: fit_size(h, X, y, args, passes) for h in SIZES}
    acc = {h: fnn.accuracy(y, fnn.predict(net, final.params, X)) for h, (net, final, _, _) in runs.items()}
    net, final, losses, seconds = runs[MAIN_SIZE]

    fig, (left, right) = common.figure(2)
    fnn.plot.decision_boundary(common.predictor(net, final.params), X, y, ax=left)
    left.set_title(f"Hidden layer size {MAIN_SIZE}: train accuracy {acc[MAIN_SIZE]:.3f}")
    fnn.plot.learning_curve(losses, ax=right)
    right.set(title="cross-entropy + L2 per pass", xlabel="pass", yscale="log")
    main_png = common.save(fig, args.out, "shallow_moons.png")

    panels = {f"Hidden layer size {h} (acc {acc[h]:.3f})": common.predictor(n, f.params) for h, (n, f, _, _) in runs.items()}
    grid_png = common.save(fnn.plot.boundary_grid(panels, X, y, ncols=4), args.out, "shallow_moons_sizes.png")

    table = ["| hidden size | train accuracy | final loss |", "| ---: | ---: | ---: |"]
    table += [f"| {h} | {acc[h]:.3f} | {runs[h][2][-1]:.4f} |" for h in SIZES]
    rows = [
        attrs.evolve(PLAN, ours=f"train accuracy {acc[MAIN_SIZE]:.3f}, loss {losses[-1]:.4f}", seconds=seconds),
        common.Row(
            "shallow moons (001), h grid",
            SETUP.format(h="h") + ", h in " + ", ".join(map(str, SIZES)),
            "small h follow the trend, large h overfit (figure)",
            "train accuracy " + ", ".join(f"{h}: {acc[h]:.3f}" for h in SIZES),
            sum(r[3] for r in runs.values()),
        ),
    ]
    spikes = (
        " The loss spikes every few hundred passes: the document's step (0.01 on the summed gradient, 3 on "
        "the mean cost) sits at the edge of stability; the document's own NumPy code spikes the same way, "
        "and its print every 1000 passes hides it."
    )
    details = (
        f"The document's `W += -0.01 * (dW + 0.01 W)` on the summed gradient is fnn's `sgd(0.01 * m)` with `l2=0.01` "
        "on the mean cost (trajectory checked to 1e-10 in tests/test_documents.py). "
        f"{passes} passes each (seed {args.seed}).{spikes if passes > 1000 else ''}\n\n" + "\n".join(table)
    )
    metrics = {"train_accuracy": acc[MAIN_SIZE], "loss": float(losses[-1]), "train_accuracy_by_size": acc}
    return common.Section(NAME, TITLE, rows, details, [main_png, grid_png], metrics)


def main(argv: list[str] | None = None) -> common.Section:
    return common.main(argv, __doc__, 0.01, NAME, TITLE, experiment, PLAN)


if __name__ == "__main__":
    sys.exit(common.exit_code(main(sys.argv[1:])))
