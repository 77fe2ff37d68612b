"""A training run that survives being killed: ``fnn.fit(..., backup=PATH)``.

    python scripts/resumable.py --backup PATH --out OUT [--epochs 40] [--every 1] [--keep-backup]

Trains an 8-64-64-1 network with Adam and a custom learning-rate function (which a checkpoint could
not store; a backup need not) on a fixed synthetic set with ``fnn.fit(..., backup=PATH,
backup_every=EVERY)``: the run is backed up every ``--every`` epochs and, on Ctrl-C or SIGTERM,
at its last completed step. Started again with the same arguments it resumes from the backup.
The learning-rate function prints ``epoch N`` when it is asked for the rate of epoch N's first
update (by the step, and by the run's record of each epoch's rate): a marker for tests that kill the run. The final state and every step's loss go to
``--out`` (a backup file: read it with ``fnn.backup.resume``). Killed at any moment and restarted,
the final state and losses are the uninterrupted run's, bit for bit.
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

if __name__ == "__main__":  # the repository's fnn, even beside a folder named fnn (see scripts/common.py)
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import fnn  # noqa: E402
from fnn.backup import fingerprint, write_backup  # noqa: E402

BATCH_SIZE, SEED, ROWS = 32, 0, 4096
PER_EPOCH = -(-ROWS // BATCH_SIZE)


class Rate:
    """``k -> 3e-3 / (1 + k / 200)``, printing ``epoch N`` at each epoch's first update."""

    def __call__(self, k: int) -> float:
        if k % PER_EPOCH == 0:
            print(f"epoch {k // PER_EPOCH}", flush=True)
        return 3e-3 / (1 + k / 200)


def problem() -> tuple:
    """``(net, X, y, optimizer)``: 4096 samples of 8 features, labels by a fixed rule."""
    rng = np.random.default_rng(14)
    X = rng.standard_normal((ROWS, 8))
    y = (X[:, 0] * X[:, 1] + np.sin(X[:, 2]) > 0).astype(int)
    net = fnn.network([8, 64, 64, 1])
    return net, X, y, fnn.adam(Rate())


def train(backup: str, out: str, epochs: int, every: int = 1, keep_backup: bool = False) -> fnn.FitResult:
    """Run (or resume) the training; its result, also written to ``out``."""
    net, X, y, opt = problem()
    result = fnn.fit(net, X, y, opt, epochs=epochs, batch_size=BATCH_SIZE, seed=SEED, backup=backup, backup_every=every,
                     keep_backup=keep_backup)
    write_backup(out, net, result.state, fingerprint(net, X, y, opt, BATCH_SIZE, SEED), {"losses": result.losses.tolist()})
    return result


def main(argv: list[str] | None = None) -> fnn.FitResult:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backup", required=True, help="the backup file (resumed from when it exists)")
    parser.add_argument("--out", required=True, help="where the final state and losses go")
    parser.add_argument("--epochs", type=int, default=40, help="epochs of the whole run (default 40)")
    parser.add_argument("--every", type=int, default=1, help="back up every N epochs (default 1)")
    parser.add_argument("--keep-backup", action="store_true", help="keep the backup file at the end")
    args = parser.parse_args(argv)
    result = train(args.backup, args.out, args.epochs, args.every, args.keep_backup)
    print(f"done {result.state.step}", flush=True)
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
