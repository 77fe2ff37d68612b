"""Reproduce every seed experiment and write results/REPORT.md with the figures beside it.

Runs, in order, logistic_regression, xor, shallow_moons, deep_images, architecture_list and
regularization (the lesson that follows the seeds; each also runs on its own:
``python scripts/<name>.py``) and gathers their sections into one report: a table (experiment, the
tutorial, the setup its text gives, the project's choices, what it reports, ours, time taken), then
each experiment's details and figures. Prints one line when each experiment starts and one when it
ends (with its time), flushed, so that a log piped to a file shows progress; on a terminal the
training bars show too. Exits 1 when any training diverged.

    python scripts/reproduce.py [--seed S] [--out results] [--quick] [--h5-dir DIR] [--threads 1]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import architecture_list
import common
import deep_images
import logistic_regression
import regularization
import shallow_moons
import xor

EXPERIMENTS = (logistic_regression, xor, shallow_moons, deep_images, architecture_list, regularization)


def report(sections, args, seconds: float) -> str:
    """The markdown of REPORT.md: the table of every section's rows (each row once), then the
    sections without their rows."""
    command = "python scripts/reproduce.py" + (" --quick" if args.quick else "") + (f" --seed {args.seed}" if args.seed else "")
    head = [
        "# fnn: the seed experiments reproduced",
        "",
        f"Made by `{command}`{' (quick mode: a few iterations only, not the documents settings)' if args.quick else ''}. "
        "Every run is seeded; two runs give the same report apart from the times. "
        "The time is the wall time of our training (figures and data loading excluded).",
        "",
        f"The tutorials are the five seed documents (the regularization rows: the lesson that follows them, not a seed "
        f"document); {common.link('docs/tutorials.md', args.out)} walks through each "
        "with fnn. For every row, *setup from the tutorial's text* is what the document's text gives, and "
        "*the project's choices* what we chose where the text is silent or cannot be followed (unseeded "
        "randomness, data that cannot be downloaded here), an `--lr` override included.",
        "",
        common.table([row for s in sections for row in s.rows]),
        "",
        f"Total wall time: {seconds:.1f} s.",
    ]
    return "\n".join(head) + "\n\n" + "\n".join(s.markdown(with_table=False) for s in sections)


def announced(i: int, module, argv: list[str]) -> common.Section:
    """``module.main(argv)`` between a line saying it starts and one saying how it ended, and when."""
    print(f"[{i}/{len(EXPERIMENTS)}] {module.NAME}: started", flush=True)
    section, seconds = common.timed(module.main, argv)
    outcome = "diverged (see above)" if section.diverged else "done"
    print(f"[{i}/{len(EXPERIMENTS)}] {module.NAME}: {outcome} in {seconds:.1f} s", flush=True)
    return section


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="seed of everything the documents do not fix (default 0)")
    parser.add_argument("--out", default="results", help="folder for REPORT.md and the figures (default results/)")
    parser.add_argument("--quick", action="store_true", help="a few iterations per experiment (for tests)")
    parser.add_argument("--h5-dir", type=deep_images.h5_folder, help="folder with the catvnoncat HDF5 files for deep_images (default: digits)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1: faster for these small networks)")
    args = parser.parse_args(argv)
    shared = ["--seed", str(args.seed), "--out", args.out, "--threads", str(args.threads)] + (["--quick"] if args.quick else [])
    t0 = time.perf_counter()
    sections = [
        announced(i, module, shared + (["--h5-dir", args.h5_dir] if module is deep_images and args.h5_dir else []))
        for i, module in enumerate(EXPERIMENTS, 1)
    ]
    path = os.path.join(args.out, "REPORT.md")
    with open(path, "w", encoding="utf-8") as f:
        f.write(report(sections, args, time.perf_counter() - t0))
    print(f"wrote {path}", flush=True)
    return max(common.exit_code(s) for s in sections)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
