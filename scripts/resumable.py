"""A training run that survives being killed: it backs up its state every epoch and resumes from it.

    python scripts/resumable.py --backup PATH --out OUT [--epochs 40] [--every 1] [--keep-backup]

Trains a 8-64-64-1 network with Adam and a custom learning-rate function (which a checkpoint could
not store; a backup need not) on a fixed synthetic set, one ``fnn.fit`` epoch at a time, with
``fnn.backup``: the state is written to ``--backup`` every ``--every`` epochs (printing ``saving``
first and ``epoch N`` after each epoch), and on Ctrl-C or SIGTERM before the process ends. Started
again with the same arguments it resumes from the backup; the final state goes to ``--out`` (a
backup file: read it with ``fnn.backup.read_backup``) and the backup is removed unless
``--keep-backup``. Killed at any moment and restarted, the final state is the uninterrupted run's,
bit for bit.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import sys

import numpy as np

import fnn
from fnn.backup import fingerprint, guard, read_backup, write_backup

BATCH_SIZE, SEED = 32, 0


def problem() -> tuple:
    """``(net, X, y, optimizer)``: 4096 samples of 8 features, labels by a fixed rule."""
    rng = np.random.default_rng(14)
    X = rng.standard_normal((4096, 8))
    y = (X[:, 0] * X[:, 1] + np.sin(X[:, 2]) > 0).astype(int)
    net = fnn.network([8, 64, 64, 1])
    return net, X, y, fnn.adam(lambda k: 3e-3 / (1 + k / 200))


def train(backup: str, out: str, epochs: int, every: int = 1, keep_backup: bool = False) -> fnn.TrainState:
    """Run (or resume) the training; the final state, also written to ``out``."""
    net, X, y, opt = problem()
    fp = fingerprint(net, X, y, opt, BATCH_SIZE, SEED)
    if os.path.exists(backup):
        state = read_backup(backup, net, opt, fp)
    else:
        state = fnn.init_state(fnn.init_params(net, seed=SEED), opt)
    per_epoch = -(-X.shape[0] // BATCH_SIZE)
    with guard(backup, net, fp) as g:
        g.completed(state)
        for epoch in range(state.step // per_epoch, epochs):
            state = fnn.fit(net, X, y, opt, epochs=1, batch_size=BATCH_SIZE, seed=SEED, state=state).state
            g.completed(state)
            if (epoch + 1) % every == 0:
                print("saving", flush=True)
                g.save()
            print(f"epoch {epoch + 1}", flush=True)
    write_backup(out, net, state, fp)
    if not keep_backup:
        with contextlib.suppress(FileNotFoundError):
            os.remove(backup)
    return state


def main(argv: list[str] | None = None) -> fnn.TrainState:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backup", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--every", type=int, default=1)
    parser.add_argument("--keep-backup", action="store_true")
    args = parser.parse_args(argv)
    state = train(args.backup, args.out, args.epochs, args.every, args.keep_backup)
    print(f"done {state.step}", flush=True)
    return state


if __name__ == "__main__":
    main(sys.argv[1:])
