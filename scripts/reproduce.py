"""Reproduce every seed experiment and write results/REPORT.md with the figures beside it.

Runs, in order, logistic_regression, xor, shallow_moons, deep_images and architecture_list
(each also runs on its own: ``python scripts/<name>.py``) and gathers their sections into one
report: a table (experiment, the document's setup and reported figure, ours, time taken), then
each experiment's details and figures. Exits 1 when any training diverged.

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
import shallow_moons
import xor

EXPERIMENTS = (logistic_regression, xor, shallow_moons, deep_images, architecture_list)


def report(sections, args, seconds: float) -> str:
    """The markdown of REPORT.md."""
    command = "python scripts/reproduce.py" + (" --quick" if args.quick else "") + (f" --seed {args.seed}" if args.seed else "")
    head = [
        "# fnn: the seed experiments reproduced",
        "",
        f"Made by `{command}`{' (quick mode: a few iterations only, not the documents settings)' if args.quick else ''}. "
        "Every run is seeded; two runs give the same report apart from the times. "
        "The time is the wall time of our training (figures and data loading excluded).",
        "",
        common.table([row for s in sections for row in s.rows]),
        "",
        f"Total wall time: {seconds:.1f} s.",
    ]
    return "\n".join(head) + "\n\n" + "\n".join(s.markdown(with_table=False) for s in sections)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="seed of everything the documents do not fix (default 0)")
    parser.add_argument("--out", default="results", help="folder for REPORT.md and the figures (default results/)")
    parser.add_argument("--quick", action="store_true", help="a few iterations per experiment (for tests)")
    parser.add_argument("--h5-dir", help="folder with the catvnoncat HDF5 files for deep_images (default: digits)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1: faster for these small networks)")
    args = parser.parse_args(argv)
    shared = ["--seed", str(args.seed), "--out", args.out, "--threads", str(args.threads)] + (["--quick"] if args.quick else [])
    t0 = time.perf_counter()
    sections = [
        module.main(shared + (["--h5-dir", args.h5_dir] if module is deep_images and args.h5_dir else []))
        for module in EXPERIMENTS
    ]
    path = os.path.join(args.out, "REPORT.md")
    with open(path, "w", encoding="utf-8") as f:
        f.write(report(sections, args, time.perf_counter() - t0))
    print(f"wrote {path}")
    return max(common.exit_code(s) for s in sections)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
