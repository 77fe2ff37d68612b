"""Experiment 4 (seeds 000 and 002): an L-layer ReLU...sigmoid network on images.

He initialisation, binary cross-entropy, gradient descent from 0.2 with the decay
``lr = 0.2 / (1 + floor(k / 1000))`` (``schedules.inverse_time_decay``), 10000 full-batch
iterations, for the layer sizes [n_x, 20, 7, 5, 1] and [n_x, 5, 5, 1]. With ``--h5-dir`` it reads
the documents' catvnoncat files (``fnn.data.load_h5``); by default it uses scikit-learn's 8x8
digits as a binary task, odd vs even (``fnn.data.digits_task``): other data than the documents'.

    python scripts/deep_images.py [--h5-dir DIR] [--seed S] [--out results] [--quick] [--lr 0.2]
"""
from __future__ import annotations

import sys

import common
import fnn

NAME, TITLE = "deep_images", "4. Deep network on images (000, 002)"
HIDDEN = ((20, 7, 5), (5, 5))
DOCUMENT = {(5, 5): "train 0.785, test 0.615 (000: cats vs dogs, 3072 inputs)", (20, 7, 5): "no accuracy reported (002: catvnoncat)"}
DECAY_EVERY = 1000
SETUP = "ReLU...sigmoid, He init, cross-entropy, gradient descent from 0.2 with decay, 10000 iterations"
PLAN = common.Row(
    "deep images (000, 002)",
    "L layers, " + SETUP,
    DOCUMENT[(5, 5)],
)


def load(args) -> tuple[fnn.data.ImageSet, str, str]:
    """The documents' HDF5 files when ``--h5-dir`` is given, else the digits task; its name and description."""
    if args.h5_dir:
        return fnn.data.load_h5(args.h5_dir), "catvnoncat", f"catvnoncat HDF5 files from {args.h5_dir}"
    return fnn.data.digits_task(seed=args.seed), "digits", "scikit-learn load_digits (8x8, 1797 images), odd vs even, 25 % test"


def experiment(args) -> common.Section:
    data, name, description = load(args)
    n_x = data.X_train.shape[1]
    iterations = 20 if args.quick else 10000
    optimizer = fnn.sgd(fnn.schedules.inverse_time_decay(args.lr, 1.0, DECAY_EVERY))
    fig, (ax,) = common.figure()
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
        ours = f"train {train_acc:.3f}, test {test_acc:.3f}, cost {losses[-1]:.4f}"
        setup = f"layers [n_x, {', '.join(map(str, hidden))}, 1], {SETUP}"
        rows.append(common.Row(f"deep images {sizes}", setup, DOCUMENT[hidden], ours, seconds))
        metrics[hidden] = {"train_accuracy": train_acc, "test_accuracy": test_acc}
    ax.set(title=f"cross-entropy per iteration ({name})", xlabel="iteration", yscale="log")
    ax.legend()
    details = (
        f"Data: {description}; {len(data.y_train)} training and {len(data.y_test)} test images of "
        f"{n_x} pixels, classes {list(data.classes)}. {iterations} iterations (seed {args.seed}). "
        + ("" if args.h5_dir else "**The data differ from the documents'** (their cat images cannot be downloaded here), so the accuracies are not comparable.")
    )
    return common.Section(NAME, TITLE, rows, details, [common.save(fig, args.out, "deep_images_loss.png")], metrics)


def h5_option(parser) -> None:
    parser.add_argument("--h5-dir", help="folder with train_catvnoncat.h5 and test_catvnoncat.h5 (default: the digits task)")


def main(argv: list[str] | None = None) -> common.Section:
    return common.main(argv, __doc__, 0.2, NAME, TITLE, experiment, PLAN, extend=h5_option)


if __name__ == "__main__":
    sys.exit(common.exit_code(main(sys.argv[1:])))
