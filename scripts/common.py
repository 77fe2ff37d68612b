"""What every experiment script shares: the command line, full-batch training under a progress bar,
figures, the seed documents' names, and the report section (rows of the REPORT.md table plus
details and figures).

A script's ``main(argv)`` returns a ``Section`` and writes ``<out>/<name>.md`` and its PNGs (nothing
at all when training diverged); ``reproduce.py`` gathers the sections into ``<out>/REPORT.md``.
Scripts are the only place in the project that prints or writes files.

Importing this module puts the repository root first on ``sys.path``, so that ``import fnn`` finds
the repository's package even when the working directory holds a folder named ``fnn`` that is the
repository itself (a clone under its own name), which Python would otherwise import as an empty
namespace package (``module 'fnn' has no attribute 'network'``).
"""
from __future__ import annotations

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def repository_first(root: str = ROOT) -> None:
    """Put ``root`` (the folder holding the ``fnn`` package) at the front of ``sys.path``."""
    if sys.path[:1] != [root]:
        sys.path.insert(0, root)


repository_first()

import argparse  # noqa: E402
import time  # noqa: E402
from typing import Callable, Iterator  # noqa: E402

import attrs  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402
from tqdm import tqdm  # noqa: E402

import fnn  # noqa: E402

TUTORIALS_MD = os.path.join(ROOT, "docs", "tutorials.md")


@attrs.frozen
class Document:
    """A seed document (``/work/shared/seeds/<key>_*.txt``): its title, its original title, what it teaches."""

    key: str
    title: str
    original: str
    teaches: str

    @property
    def name(self) -> str:
        """``"Title" (key)``, the way rows and sections cite it."""
        return f"*{self.title}* ({self.key})"


DOCUMENTS = {
    d.key: d
    for d in (
        Document(
            "000", "Building a Neural Network from Scratch in Python", "用 Python 从头开始构建神经网络 (itnext)",
            "an L-layer network (ReLU hidden layers, sigmoid output) in the deep-learning course's functions "
            "(initialize_parameters_deep, L_model_forward, compute_cost, L_model_backward, update_parameters), "
            "trained on cat vs dog images; it ends overfitting (train 0.785, test 0.615)",
        ),
        Document(
            "001", "Build an Artificial Neural Network from Scratch: Part 2", "从头构建人工神经网络：第2部分 (KDnuggets)",
            "why a hidden layer finds a non-linear boundary: backpropagation derived by hand, then a 2-h-2 "
            "tanh/softmax network with L2 on make_moons, and how the hidden-layer size moves from underfitting to overfitting",
        ),
        Document(
            "002", "A neural-network framework by hand, in NumPy", "手撕神经网络框架(numpy) (CSDN)",
            "the basic steps of any network: load and scale the catvnoncat HDF5 images, He initialisation, "
            "forward, cross-entropy cost, backward (the four backpropagation equations), gradient-descent update",
        ),
        Document(
            "003", "Demystifying Neural Networks", "揭开神经网络的神秘面纱 (Towards Data Science)",
            "logistic regression as the smallest network (no hidden layer): sigmoid output, binary cross-entropy, "
            "its gradient (y_hat - y) X, and plain gradient descent; the decision boundary before and after 15 iterations",
        ),
        Document(
            "004 ch. 1", "Building a deep neural network from scratch", "尚硅谷机器学习教程, 第一章 从零构建深度神经网络",
            "a 2-layer sigmoid NeuralNetwork class with biases set to 0, the sum-of-squares loss, backpropagation by the "
            "chain rule, trained for 1500 iterations on a four-row table (y = x1 XOR x2, x3 = 1)",
        ),
        Document(
            "004 ch. 2", "Implementing a complex deep neural network with NumPy", "尚硅谷机器学习教程, 第二章 使用 NumPy 实现一个复杂的深度神经网络",
            "a network built from an architecture list of {input_dim, output_dim, activation} layers (ReLU, sigmoid), "
            "cross-entropy, full-batch gradient descent with a cost and accuracy history, and a comparison with Keras "
            "(both 95 % test accuracy; the NumPy model slower)",
        ),
    )
}


def cite(*keys: str) -> str:
    """The documents' names, for a row's tutorial cell: ``*Title* (key)`` joined by '; '."""
    return "; ".join(DOCUMENTS[k].name for k in keys)


def introduce(*keys: str) -> str:
    """A section's first paragraph: each document's name, original title and what it teaches."""
    return " ".join(f"{DOCUMENTS[k].name}, {DOCUMENTS[k].original}, teaches {DOCUMENTS[k].teaches}." for k in keys)


def link(target: str, out: str) -> str:
    """A markdown link to the repository file ``target`` from a report written in the folder ``out``."""
    return f"[{target}]({os.path.relpath(os.path.join(ROOT, target), os.path.abspath(out)).replace(os.sep, '/')})"


def num(x: float) -> str:
    """A loss or cost for the report: 4 significant digits, scientific when large or small (never 300 digits)."""
    return f"{x:.4g}"


@attrs.frozen
class Row:
    """One line of the report table; ``seconds`` is the wall time of our training.

    ``tutorial`` names the seed document(s); ``text`` is the setup that the document's text gives,
    ``choices`` what the project chose where the text is silent or cannot be followed; ``reports``
    what the document reports. A script's ``PLAN`` is a row without ``ours`` and ``seconds``.
    """

    experiment: str
    tutorial: str
    text: str
    choices: str
    reports: str
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


COLUMNS = ("experiment", "tutorial", "setup from the tutorial's text", "the project's choices", "tutorial reports", "ours", "time (s)")


def table(rows) -> str:
    """A markdown table: experiment, tutorial, its setup, our choices, its figure, ours, time taken."""
    head = "| " + " | ".join(COLUMNS) + " |\n|" + " --- |" * (len(COLUMNS) - 1) + " ---: |"
    return "\n".join([head] + ["| " + " | ".join(_cells(r)) + " |" for r in rows])


def _cells(r: Row) -> list[str]:
    seconds = "—" if np.isnan(r.seconds) else f"{r.seconds:.1f}"
    return [r.experiment, r.tutorial, r.text, r.choices, r.reports, r.ours, seconds]


def with_lr(row: Row, lr: float, default: float) -> Row:
    """``row`` with an ``--lr`` override recorded in its choices (unchanged when ``lr == default``)."""
    if lr == default:
        return row
    return attrs.evolve(row, choices=f"**--lr {lr:g} in place of {default:g}**; {row.choices}")


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

    On ``fnn.DivergenceError`` print its hint to stderr, write nothing (a folder ``out`` made for
    the run is removed again) and return a section with one row, ``plan``, saying where training
    diverged.
    """
    made = not os.path.isdir(out)
    os.makedirs(out, exist_ok=True)
    try:
        section = experiment()
    except fnn.DivergenceError as err:
        print(f"{name}: {err}; no results written", file=sys.stderr, flush=True)
        if made and not os.listdir(out):
            os.rmdir(out)
        row = attrs.evolve(plan, ours=f"diverged at step {err.step}")
        return Section(name, title, [row], diverged=str(err))
    with open(os.path.join(out, f"{name}.md"), "w", encoding="utf-8") as f:
        f.write(section.markdown())
    return section


def main(argv, doc: str, learning_rate: float, name: str, title: str, experiment: Callable, plan: Row, extend: Callable | None = None) -> Section:
    """A script's ``main``: parse ``argv`` (``extend(parser)`` adds options), run ``experiment(args)``
    under ``run`` with ``--threads`` BLAS threads and return its section, an ``--lr`` override
    recorded in every row."""
    parser_ = parser(doc.splitlines()[0], learning_rate)
    if extend is not None:
        extend(parser_)
    args = parser_.parse_args(argv)

    def noted(section: Section) -> Section:
        return attrs.evolve(section, rows=[with_lr(r, args.lr, learning_rate) for r in section.rows])

    with threadpool_limits(limits=args.threads):
        return run(name, title, args.out, lambda: noted(experiment(args)), with_lr(plan, args.lr, learning_rate))


def finish(section: Section) -> int:
    """A script's last act: print the section (when training succeeded) and return the exit status,
    0 when training succeeded, 1 when it diverged (the hint is on stderr already)."""
    if not section.diverged:
        print(section.markdown(), flush=True)
    return exit_code(section)


def exit_code(section: Section) -> int:
    """0 when training succeeded, 1 when it diverged."""
    return 1 if section.diverged else 0
