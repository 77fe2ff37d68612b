"""A grid sweep on make_moons (hidden width x learning rate x seed), on this machine or a Dask cluster.

    python scripts/sweep.py [--hidden 2 4 8 16] [--lr 0.001 0.003 0.01 0.03 0.1] [--seeds 3]
                            [--epochs 200] [--out results] [--scheduler tcp://HOST:8786] [--no-compare]

Each config trains a 2-h-h-1 ReLU/sigmoid network with Adam (batches of 64) on 900 moons and
tests it on 100 more. Writes OUT/sweep.csv (one row per config, in grid order) and OUT/sweep.png
(mean test accuracy over seeds). ``--scheduler`` sends the configs to a running Dask scheduler
(``dask scheduler`` plus ``dask worker ADDRESS`` on each machine); otherwise a local process pool.
Each task is one hidden width: its learning rates and seeds train as stacked members of one fit
(``fnn.fit(..., seed=[...])`` with ``fnn.adam(rates)``, one rate per member); unless ``--no-compare``,
the same grid then runs again one task per config on the pool alone, and both wall times and the
speed-up are printed.
"""
from __future__ import annotations

import argparse
import csv
import itertools
import sys
import time
from pathlib import Path

import numpy as np

import fnn
from fnn.sweep import cores

COLUMNS = ("hidden", "learning_rate", "seed", "epochs", "final_loss", "train_accuracy", "test_accuracy")


def grid(hidden, learning_rates, seeds, epochs) -> list[dict]:
    """One config per (hidden, learning rate, seed), in that nesting order."""
    return [
        {"hidden": h, "learning_rate": lr, "seed": s, "epochs": epochs}
        for h, lr, s in itertools.product(hidden, learning_rates, range(seeds))
    ]


def train(config: dict) -> dict:
    """Train one config (on one BLAS thread: workers run side by side); its fields plus loss and accuracies."""
    from sklearn.datasets import make_moons
    from threadpoolctl import threadpool_limits

    X, y = make_moons(1000, noise=0.2, random_state=100)
    X_tr, y_tr, X_te, y_te = X[:900], y[:900], X[900:], y[900:]
    h = config["hidden"]
    net = fnn.network([2, h, h, 1], hidden="relu", output="sigmoid")
    with threadpool_limits(limits=1):
        result = fnn.fit(net, X_tr, y_tr, fnn.adam(config["learning_rate"]), config["epochs"], 64, config["seed"])
    params = result.state.params
    return {
        **config,
        "final_loss": float(result.losses[-1]),
        "train_accuracy": fnn.accuracy(y_tr, fnn.predict(net, params, X_tr)),
        "test_accuracy": fnn.accuracy(y_te, fnn.predict(net, params, X_te)),
    }


def member_tasks(configs: list[dict]) -> list[list[dict]]:
    """The configs grouped into one task per hidden width (and epochs): its learning rates and seeds
    become the stacked members of one fit (``train_members``), in grid order."""
    tasks: dict[tuple, list[dict]] = {}
    for c in configs:
        tasks.setdefault((c["hidden"], c["epochs"]), []).append(c)
    return list(tasks.values())


def train_members(configs: list[dict]) -> list[dict]:
    """Train configs that differ only in learning rate and seed as stacked members of one fit:
    ``fnn.adam`` with one learning rate per member and one seed per member (its init and its batch
    order, as ``train`` with that seed). One row per config, as ``train`` gives."""
    from sklearn.datasets import make_moons
    from threadpoolctl import threadpool_limits

    X, y = make_moons(1000, noise=0.2, random_state=100)
    X_tr, y_tr, X_te, y_te = X[:900], y[:900], X[900:], y[900:]
    h, epochs = configs[0]["hidden"], configs[0]["epochs"]
    net = fnn.network([2, h, h, 1], hidden="relu", output="sigmoid")
    rates = np.array([c["learning_rate"] for c in configs])
    with threadpool_limits(limits=1):
        result = fnn.fit(net, X_tr, y_tr, fnn.adam(rates), epochs, 64, [c["seed"] for c in configs])
    params = result.state.params
    train_pred, test_pred = fnn.predict(net, params, X_tr), fnn.predict(net, params, X_te)
    return [{**c, "final_loss": float(result.losses[-1, k]), "train_accuracy": fnn.accuracy(y_tr, train_pred[k]),
             "test_accuracy": fnn.accuracy(y_te, test_pred[k])} for k, c in enumerate(configs)]


def run(configs: list[dict], scheduler: str | None, members: bool = True) -> list[dict]:
    """``fnn.sweep`` locally, or on the Dask scheduler at ``scheduler``: one task per hidden width whose
    learning rates and seeds train as stacked members (``members``), or one task per config (``train``)."""
    fn, tasks = (train_members, member_tasks(configs)) if members else (train, configs)
    if scheduler is None:
        done = fnn.sweep(fn, tasks)
    else:
        from distributed import Client

        with Client(scheduler, timeout=30) as client:
            done = fnn.sweep(fn, tasks, client.get_executor())
    return [row for rows in done for row in rows] if members else done


def write_csv(rows: list[dict], path: Path) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def heatmap(rows: list[dict], path: Path) -> None:
    """Mean test accuracy over seeds: hidden widths down, learning rates across."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    hidden = sorted({r["hidden"] for r in rows})
    rates = sorted({r["learning_rate"] for r in rows})
    acc = np.array([[np.mean([r["test_accuracy"] for r in rows if r["hidden"] == h and r["learning_rate"] == lr])
                     for lr in rates] for h in hidden])
    fig, ax = plt.subplots(figsize=(1.2 * len(rates) + 2, 0.8 * len(hidden) + 1.5))
    image = ax.imshow(acc, cmap="viridis", vmin=min(0.5, acc.min()), vmax=1.0)
    for (i, j), value in np.ndenumerate(acc):
        ax.text(j, i, f"{value:.3f}", ha="center", va="center", color="white" if value < 0.9 else "black")
    ax.set(xticks=range(len(rates)), xticklabels=[f"{lr:g}" for lr in rates], xlabel="learning rate (Adam)",
           yticks=range(len(hidden)), yticklabels=hidden, ylabel="hidden width (2-h-h-1)",
           title="make_moons: mean test accuracy over seeds")
    fig.colorbar(image, ax=ax)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, nargs="+", default=[2, 4, 8, 16])
    parser.add_argument("--lr", type=float, nargs="+", default=[0.001, 0.003, 0.01, 0.03, 0.1])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--out", type=Path, default=Path("results"))
    parser.add_argument("--scheduler", default=None, help="a Dask scheduler address such as tcp://10.0.0.5:8786")
    parser.add_argument("--no-compare", dest="compare", action="store_false",
                        help="skip timing the same grid with one task per config (the pool alone)")
    args = parser.parse_args(argv)
    configs = grid(args.hidden, args.lr, args.seeds, args.epochs)
    start = time.perf_counter()
    rows = run(configs, args.scheduler)
    seconds = time.perf_counter() - start
    n_tasks = len(member_tasks(configs))
    if args.compare:
        start = time.perf_counter()
        alone = run(configs, args.scheduler, members=False)
        pool_seconds = time.perf_counter() - start
        worst = max(abs(a["test_accuracy"] - b["test_accuracy"]) for a, b in zip(rows, alone))
        print(f"the same {len(configs)} configs, one task per config on the pool alone: {pool_seconds:.2f} s; as members "
              f"({n_tasks} tasks of {len(configs) // n_tasks}): {seconds:.2f} s, a speed-up of {pool_seconds / seconds:.1f}x "
              f"(largest test-accuracy difference {worst:.3g})")
    args.out.mkdir(parents=True, exist_ok=True)
    write_csv(rows, args.out / "sweep.csv")
    heatmap(rows, args.out / "sweep.png")
    best = max(rows, key=lambda r: r["test_accuracy"])
    where = args.scheduler or f"a local pool of {min(cores(), len(configs))} processes"
    print(f"{len(rows)} configs as {n_tasks} tasks of stacked members in {seconds:.2f} s on {where}; best test accuracy {best['test_accuracy']:.3f} "
          f"(hidden={best['hidden']}, lr={best['learning_rate']:g}); wrote {args.out / 'sweep.csv'}, {args.out / 'sweep.png'}")
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
