"""A grid sweep on make_moons (hidden width x learning rate x seed), on this machine or a Dask cluster.

    python scripts/sweep.py [--hidden 2 4 8 16] [--lr 0.001 0.003 0.01 0.03 0.1] [--seeds 3]
                            [--epochs 200] [--out results] [--scheduler tcp://HOST:8786] [--quick] [--no-compare]

Each config trains a 2-h-h-1 ReLU/sigmoid network with Adam (batches of 64) on 900 moons and
tests it on 100 more. Writes OUT/sweep.csv (one row per config, in grid order) and OUT/sweep.png
(mean ± sd of the test accuracy over seeds, per cell) and prints the best cell by mean test
accuracy with its spread. ``--scheduler`` sends the configs to a running Dask scheduler
(``dask scheduler`` plus ``dask worker ADDRESS`` on each machine); otherwise a local process pool.
``--quick`` runs a tiny grid (2 x 2 cells, 2 seeds, 5 epochs) in seconds.

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

if __name__ == "__main__":  # the repository's fnn, even beside a folder named fnn (see scripts/common.py)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import fnn  # noqa: E402
from fnn.sweep import cores  # noqa: E402

COLUMNS = ("hidden", "learning_rate", "seed", "epochs", "final_loss", "train_accuracy", "test_accuracy")
DEFAULTS = {"hidden": [2, 4, 8, 16], "lr": [0.001, 0.003, 0.01, 0.03, 0.1], "seeds": 3, "epochs": 200}
QUICK = {"hidden": [2, 4], "lr": [0.01, 0.1], "seeds": 2, "epochs": 5}


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


def cells(rows: list[dict]) -> dict:
    """``(hidden, learning_rate) -> (mean, sd, n)`` of the test accuracy over a cell's seeds
    (sd with ddof=1; 0 for a single seed), in grid order."""
    groups: dict = {}
    for r in rows:
        groups.setdefault((r["hidden"], r["learning_rate"]), []).append(r["test_accuracy"])
    return {key: (float(np.mean(v)), float(np.std(v, ddof=1)) if len(v) > 1 else 0.0, len(v)) for key, v in groups.items()}


def best_cell(stats: dict) -> tuple:
    """``((hidden, learning_rate), (mean, sd, n))`` of the highest mean (the first such cell in grid order)."""
    return max(stats.items(), key=lambda item: item[1][0])


def heatmap(rows: list[dict], path: Path) -> None:
    """Mean ± sd of the test accuracy over seeds: hidden widths down, learning rates across; the
    best mean framed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stats = cells(rows)
    hidden = sorted({h for h, _ in stats})
    rates = sorted({lr for _, lr in stats})
    acc = np.array([[stats[h, lr][0] for lr in rates] for h in hidden])
    (best_h, best_lr), (_, _, n) = best_cell(stats)
    fig, ax = plt.subplots(figsize=(max(1.3 * len(rates) + 2, 5.5), 0.9 * len(hidden) + 1.8))
    image = ax.imshow(acc, cmap="viridis", vmin=min(0.5, acc.min()), vmax=1.0)
    for i, h in enumerate(hidden):
        for j, lr in enumerate(rates):
            mean, sd, _ = stats[h, lr]
            ax.text(j, i, f"{mean:.3f}\n±{sd:.3f}", ha="center", va="center", fontsize="small",
                    color="white" if mean < 0.9 else "black")
    frame = plt.Rectangle((rates.index(best_lr) - 0.5, hidden.index(best_h) - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=2)
    ax.add_patch(frame)
    ax.set(xticks=range(len(rates)), xticklabels=[f"{lr:g}" for lr in rates], xlabel="learning rate (Adam)",
           yticks=range(len(hidden)), yticklabels=hidden, ylabel="hidden width (2-h-h-1)",
           title=f"make_moons test accuracy:\nmean ± sd over {n} seeds (red: best mean)")
    fig.colorbar(image, ax=ax)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def options(argv: list[str] | None) -> argparse.Namespace:
    """The command line; grid options left out take ``QUICK``'s values under ``--quick``, else ``DEFAULTS``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    words = {k: " ".join(map(str, v)) if isinstance(v, list) else str(v) for k, v in DEFAULTS.items()}
    quick = {k: " ".join(map(str, v)) if isinstance(v, list) else str(v) for k, v in QUICK.items()}
    for name, kind, nargs, what in (("hidden", int, "+", "hidden widths h of the 2-h-h-1 networks"),
                                    ("lr", float, "+", "Adam learning rates"),
                                    ("seeds", int, None, "seeds per (width, learning rate) cell: 0, 1, ..."),
                                    ("epochs", int, None, "epochs per config (batches of 64 of the 900 training moons)")):
        parser.add_argument(f"--{name}", type=kind, nargs=nargs, default=None,
                            help=f"{what} (default: {words[name]}; with --quick: {quick[name]})")
    parser.add_argument("--out", type=Path, default=Path("results"), help="folder for sweep.csv and sweep.png (default: results)")
    parser.add_argument("--scheduler", default=None,
                        help="a Dask scheduler address such as tcp://10.0.0.5:8786 (default: none, a local process pool)")
    parser.add_argument("--quick", action="store_true", help="a tiny grid (2 x 2 cells, 2 seeds, 5 epochs): seconds, for a smoke test")
    parser.add_argument("--no-compare", dest="compare", action="store_false",
                        help="skip timing the same grid with one task per config (the pool alone)")
    args = parser.parse_args(argv)
    for name, value in (QUICK if args.quick else DEFAULTS).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args


def main(argv: list[str] | None = None) -> list[dict]:
    args = options(argv)
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
    (h, lr), (mean, sd, n) = best_cell(cells(rows))
    where = args.scheduler or f"a local pool of {min(cores(), len(configs))} processes"
    print(f"{len(rows)} configs as {n_tasks} tasks of stacked members in {seconds:.2f} s on {where}; best mean test accuracy "
          f"{mean:.3f} ± {sd:.3f} (sd over n={n} seeds; hidden={h}, lr={lr:g}); wrote {args.out / 'sweep.csv'}, {args.out / 'sweep.png'}")
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
