"""Experiment 4 (seeds 000 and 002): an L-layer ReLU...sigmoid network on images.

The documents: *Building a Neural Network from Scratch in Python* (000, itnext) and *A neural-network
framework by hand, in NumPy* (002, CSDN).

He initialisation, binary cross-entropy, gradient descent from 0.2 with the decay
``lr = 0.2 / (1 + floor(k / 1000))`` (``schedules.inverse_time_decay``), 10000 full-batch
iterations, for the layer sizes [n_x, 20, 7, 5, 1] and [n_x, 5, 5, 1]. With ``--h5-dir`` it reads
the documents' catvnoncat files (``fnn.data.load_h5``); by default it uses scikit-learn's 8x8
digits as a binary task, odd vs even (``fnn.data.digits_task``): other data than the documents'.

    python scripts/deep_images.py [--h5-dir DIR] [--seed S] [--out results] [--quick] [--lr 0.2]
"""
from __future__ import annotations

import os
import sys

import common
import fnn

NAME, TITLE = "deep_images", "4. Deep network on images: " + common.cite("000", "002")
HIDDEN = ((20, 7, 5), (5, 5))
DOCUMENT = {(5, 5): "train 0.785, test 0.615 (cats vs dogs, 3072 inputs)", (20, 7, 5): "no accuracy reported"}
DECAY_EVERY = 1000
SPIKE_UNTIL = 600
TEXT = {
    (20, 7, 5): (
        "002: the catvnoncat HDF5 files, images flattened and divided by 255; He init (initialize_parameters_he), "
        "b = 0; ReLU hidden layers, sigmoid output; cross-entropy; gradient-descent update"
    ),
    (5, 5): (
        "000: layers [3072, 5, 5, 1] on flattened cat vs dog images; W random, b = 0; ReLU hidden layers, sigmoid "
        "output; cross-entropy; gradient descent at 0.2, lowered after some iterations; 10000 iterations"
    ),
}
CHOICES = {
    (20, 7, 5): (
        "the layers [n_x, 20, 7, 5, 1] (002 gives none); 0.2, its decay and 10000 iterations taken from 000 "
        "(002 gives none)"
    ),
    (5, 5): "He init (from 002; 000 says only random)",
}
COMMON_CHOICES = (
    "the decay lr = 0.2 / (1 + floor(k / 1000)) (000's rule is in code the text does not show); weights from "
    "numpy.random.default_rng(0), not 002's np.random.seed(3); the data: scikit-learn's digits, odd vs even, "
    "unless --h5-dir gives the catvnoncat files"
)
PLAN = common.Row(
    "deep images [n_x, 5, 5, 1]", common.cite("000"), TEXT[(5, 5)], CHOICES[(5, 5)] + "; " + COMMON_CHOICES, DOCUMENT[(5, 5)],
)


def h5_folder(path: str) -> str:
    """``--h5-dir``'s check: ``path`` when it holds both catvnoncat files, else one line on stderr and exit 2."""
    missing = [name for name in fnn.data.H5_FILES if not os.path.isfile(os.path.join(path, name))]
    if missing:
        print(f"deep_images: --h5-dir {path}: no {' or '.join(missing)} there "
              f"(it must hold {' and '.join(fnn.data.H5_FILES)}; leave --h5-dir out to use the digits)", file=sys.stderr)
        raise SystemExit(2)
    return path


def load(args) -> tuple[fnn.data.ImageSet, str, str]:
    """The documents' HDF5 files when ``--h5-dir`` is given, else the digits task; its name and description.

    A file that is not in the catvnoncat layout ends the run with one line on stderr and exit status 2."""
    if args.h5_dir:
        try:
            data = fnn.data.load_h5(args.h5_dir)
        except (OSError, ValueError) as err:
            print(f"deep_images: --h5-dir {args.h5_dir}: {err}", file=sys.stderr)
            raise SystemExit(2) from None
        return data, "catvnoncat", f"catvnoncat HDF5 files from {args.h5_dir}"
    return fnn.data.digits_task(seed=args.seed), "digits", "scikit-learn load_digits (8x8, 1797 images), odd vs even, 25 % test"


def experiment(args) -> common.Section:
    data, name, description = load(args)
    n_x = data.X_train.shape[1]
    iterations = 20 if args.quick else 10000
    optimizer = fnn.sgd(fnn.schedules.inverse_time_decay(args.lr, 1.0, DECAY_EVERY))
    fig, (ax,) = common.figure(width=6.0)
    rows, metrics = [], {}
    for hidden in HIDDEN:
        sizes = [n_x, *hidden, 1]
        net = fnn.network(sizes, hidden="relu", output="sigmoid")
        params = fnn.init_params(net, seed=args.seed, scheme="he")
        Y = fnn.targets(net, data.y_train)
        (final, losses), seconds = common.timed(common.train, net, optimizer, params, data.X_train, Y, iterations, f"images {sizes}")
        train_acc = fnn.accuracy(data.y_train, fnn.predict(net, final.params, data.X_train))
        test_acc = fnn.accuracy(data.y_test, fnn.predict(net, final.params, data.X_test))
        fnn.plot.learning_curve(losses, ax=ax).lines[-1].set_label(str(sizes))
        ours = f"train {train_acc:.3f}, test {test_acc:.3f}, cost {common.num(losses[-1])}"
        keys = ("002", "000") if hidden == (20, 7, 5) else ("000",)
        rows.append(common.Row(f"deep images [n_x, {', '.join(map(str, hidden))}, 1]", common.cite(*keys), TEXT[hidden],
                               CHOICES[hidden] + "; " + COMMON_CHOICES, DOCUMENT[hidden], ours, seconds))
        metrics[hidden] = {"train_accuracy": train_acc, "test_accuracy": test_acc}
    ax.set(title=f"cross-entropy per iteration ({name}; lr {args.lr:g}, decayed every {DECAY_EVERY})", xlabel="iteration", yscale="log")
    if iterations > SPIKE_UNTIL and args.lr == 0.2:
        ax.axvspan(0, SPIKE_UNTIL, color="lightyellow", zorder=0)
        ax.annotate(f"spikes expected: iterations 0-{SPIKE_UNTIL} at lr 0.2\n(the step is too large until the\n"
                    "cost has dropped; it settles, then decays)", xy=(SPIKE_UNTIL, 0.5), xycoords=("data", "axes fraction"),
                    xytext=(8, 0), textcoords="offset points", fontsize="small", va="center")
    ax.legend(loc="upper right")
    details = (
        f"{common.introduce('000', '002')}\n\n"
        f"Data: {description}; {len(data.y_train)} training and {len(data.y_test)} test images of "
        f"{n_x} pixels, classes {list(data.classes)}. {iterations} iterations (seed {args.seed}). "
        + ("" if args.h5_dir else "**The data differ from the documents'** (their cat images cannot be downloaded here), so the accuracies are not comparable.")
    )
    return common.Section(NAME, TITLE, rows, details, [common.save(fig, args.out, "deep_images_loss.png")], metrics)


def h5_option(parser) -> None:
    parser.add_argument("--h5-dir", type=h5_folder, help="folder with train_catvnoncat.h5 and test_catvnoncat.h5 (default: the digits task)")


def main(argv: list[str] | None = None) -> common.Section:
    return common.main(argv, __doc__, 0.2, NAME, TITLE, experiment, PLAN, extend=h5_option)


if __name__ == "__main__":
    sys.exit(common.finish(main(sys.argv[1:])))
