"""A first fnn run: the 2-25-50-50-25-1 ReLU/sigmoid network on make_moons, trained as a fold.

    python scripts/quickstart.py [--epochs N] [--seed S]
"""
from __future__ import annotations

import argparse
import sys

import numpy as np

import fnn


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    from sklearn.datasets import make_moons
    from sklearn.model_selection import train_test_split

    X, y = make_moons(1000, noise=0.2, random_state=100)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.1, random_state=42)
    net = fnn.network([2, 25, 50, 50, 25, 1], hidden="relu", output="sigmoid")
    result = fnn.fit(net, X_tr, y_tr, optimizer=fnn.sgd(0.5), epochs=args.epochs, batch_size=None, seed=args.seed)
    params = result.state.params
    report = {
        "final_loss": float(result.losses[-1]),
        "train_accuracy": fnn.accuracy(y_tr, fnn.predict(net, params, X_tr)),
        "test_accuracy": fnn.accuracy(y_te, fnn.predict(net, params, X_te)),
    }
    print(" ".join(f"{k}={v:.4f}" for k, v in report.items()))
    return report


if __name__ == "__main__":
    main(sys.argv[1:])
