"""What every experiment script shares: the command line, full-batch training under a progress bar,
figures, and the report section (rows of the REPORT.md table plus details and figures).

A script's ``main(argv)`` returns a ``Section`` and writes ``<out>/<name>.md`` and its PNGs;
``reproduce.py`` gathers the sections into ``<out>/REPORT.md``. Scripts are the only place in the
project that prints or writes files.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Callable, Iterator

import attrs
import numpy as np
from matplotlib.figure import Figure
from threadpoolctl import threadpool_limits
from tqdm import tqdm

import fnn


@attrs.frozen
class Row:
    """One line of the report table; ``seconds`` is the wall time of our training.

    A script's ``PLAN`` is a row without ``ours`` and ``seconds`` (what the document did and reported).
    """

    experiment: str
    setup: str
    document: str
    ours: str = ""
    seconds: float = float("nan")


@attrs.frozen
class Section:
    """An experiment's rows, free-form markdown details and figure file names (relative to ``out``).

    ``metrics`` holds the headline numbers (accuracies, predictions) for tests and callers;
    ``diverged`` holds the hint printed when training diverged (then nothing else was written).
    """

    name: str
    title: str
    rows: tuple = attrs.field(converter=tuple)
    details: str = ""
    figures: tuple = attrs.field(default=(), converter=tuple)
    metrics: dict = attrs.field(factory=dict)
    diverged: str = ""

    def markdown(self, with_table: bool = True) -> str:
        """The section as markdown; ``with_table=False`` leaves out its rows (REPORT.md has them)."""
        parts = [f"## {self.title}"] + ([table(self.rows)] if with_table else [])
        if self.diverged:
            parts += [f"**Training diverged:** {self.diverged}"]
        if self.details:
            parts += [self.details]
        parts += [f"![{f}]({f})" for f in self.figures]
        return "\n\n".join(parts) + "\n"


def table(rows) -> str:
    """A markdown table: experiment, the document's setup and figure, ours, time taken."""
    head = "| experiment | document's setup | document reports | ours | time (s) |\n| --- | --- | --- | --- | ---: |"
    return "\n".join([head] + ["| " + " | ".join(_cells(r)) + " |" for r in rows])


def _cells(r: Row) -> list[str]:
    return [r.experiment, r.setup, r.document, r.ours, "—" if np.isnan(r.seconds) else f"{r.seconds:.1f}"]


def parser(description: str, learning_rate: float) -> argparse.ArgumentParser:
    """``--seed``, ``--out``, ``--quick`` and ``--lr`` (default: the document's learning rate)."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--seed", type=int, default=0, help="seed of everything the document does not fix (default 0)")
    p.add_argument("--out", default="results", help="folder for the report section and figures (default results/)")
    p.add_argument("--quick", action="store_true", help="a few iterations only (for tests)")
    p.add_argument("--lr", type=float, default=learning_rate, help=f"learning rate (default {learning_rate:g}, the document's)")
    p.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1: faster for these small networks)")
    return p


def states(net: fnn.Network, optimizer: fnn.Optimizer, params: fnn.Params, X, Y, epochs: int, desc: str) -> Iterator[fnn.TrainState]:
    """Lazily: the initial state, then the state after each of ``epochs`` full-batch steps (tqdm bar)."""
    step = fnn.train_step(net, optimizer)
    bar = tqdm(fnn.batches(X, Y, epochs=epochs), total=epochs, desc=desc, disable=None, leave=False, mininterval=0.5)
    return fnn.scan(step, bar, fnn.init_state(params, optimizer))


def train(net: fnn.Network, optimizer: fnn.Optimizer, params: fnn.Params, X, Y, epochs: int, desc: str) -> tuple[fnn.TrainState, np.ndarray]:
    """The final state and the cost of every step (the whole-set cost before that step's update)."""
    trail = states(net, optimizer, params, X, Y, epochs, desc)
    final, losses = next(trail), []
    for final in trail:
        losses.append(final.loss)
    return final, np.asarray(losses, dtype=np.float64)


def timed(fn: Callable, *args, **kwargs):
    """``(fn(*args, **kwargs), seconds)``."""
    t0 = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - t0


def figure(ncols: int = 1, width: float = 5.0, height: float = 4.0) -> tuple[Figure, list]:
    """A new Figure (no pyplot state) with ``ncols`` Axes side by side."""
    fig = Figure(figsize=(width * ncols, height), layout="constrained")
    return fig, list(np.atleast_1d(fig.subplots(1, ncols)))


def save(fig: Figure, out: str, filename: str) -> str:
    """Write ``fig`` to ``out/filename`` and return ``filename``."""
    fig.savefig(os.path.join(out, filename), dpi=100)
    return filename


def predictor(net: fnn.Network, params: fnn.Params) -> Callable[[np.ndarray], np.ndarray]:
    """``X -> fnn.predict(net, params, X)``, for the decision-boundary plots."""
    return lambda X: fnn.predict(net, params, X)


def run(name: str, title: str, out: str, experiment: Callable[[], Section], plan: Row) -> Section:
    """Run ``experiment`` and write its section to ``out/<name>.md``.

    On ``fnn.DivergenceError`` print its hint to stderr and write a section with no results and
    no figures: one row, ``plan`` (experiment, setup, document), saying where training diverged.
    """
    os.makedirs(out, exist_ok=True)
    try:
        section = experiment()
    except fnn.DivergenceError as err:
        print(f"{name}: {err}", file=sys.stderr)
        row = attrs.evolve(plan, ours=f"diverged at step {err.step}")
        section = Section(name, title, [row], diverged=str(err))
    with open(os.path.join(out, f"{name}.md"), "w", encoding="utf-8") as f:
        f.write(section.markdown())
    return section


def main(argv, doc: str, learning_rate: float, name: str, title: str, experiment: Callable, plan: Row, extend: Callable | None = None) -> Section:
    """A script's ``main``: parse ``argv`` (``extend(parser)`` adds options), run ``experiment(args)``
    under ``run`` with ``--threads`` BLAS threads, print the section and return it."""
    parser_ = parser(doc.splitlines()[0], learning_rate)
    if extend is not None:
        extend(parser_)
    args = parser_.parse_args(argv)
    with threadpool_limits(limits=args.threads):
        section = run(name, title, args.out, lambda: experiment(args), plan)
    print(section.markdown())
    return section


def exit_code(section: Section) -> int:
    """0 when training succeeded, 1 when it diverged."""
    return 1 if section.diverged else 0
