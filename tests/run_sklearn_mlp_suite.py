"""scikit-learn's own MLP tests, run against fnn's estimators.

Copies ``sklearn/neural_network/tests/test_mlp.py`` of the installed scikit-learn into a fresh
directory, swaps its import of ``MLPClassifier, MLPRegressor`` for ``fnn.estimators``' (the file
is otherwise untouched), adds the one fixture it takes from scikit-learn's conftest
(``global_random_seed``, 42 as there by default), runs it with pytest in a subprocess and prints
the summary line and the failing tests. ``python tests/run_sklearn_mlp_suite.py``.
"""
from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys
import tempfile

IMPORT = "from sklearn.neural_network import MLPClassifier, MLPRegressor"
SWAP = "from fnn.estimators import FNNClassifier as MLPClassifier, FNNRegressor as MLPRegressor"
CONFTEST = '''import pytest


@pytest.fixture(params=[42])
def global_random_seed(request):
    """scikit-learn's fixture at its default (SKLEARN_TESTS_GLOBAL_RANDOM_SEED unset)."""
    return request.param
'''
ROOT = pathlib.Path(__file__).resolve().parents[1]


def suite_source() -> str:
    """The installed scikit-learn's test_mlp.py with fnn's estimators imported in place of its own."""
    import sklearn.neural_network

    source = (pathlib.Path(sklearn.neural_network.__file__).parent / "tests" / "test_mlp.py").read_text()
    if source.count(IMPORT) != 1:
        raise RuntimeError(f"test_mlp.py: expected one line {IMPORT!r}, found {source.count(IMPORT)}")
    return source.replace(IMPORT, SWAP)


def run_suite(timeout: float = 1800) -> tuple[str, list[str], str]:
    """``(summary line, failed test ids, full output)`` of the swapped suite."""
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp)
        (path / "test_mlp_on_fnn.py").write_text(suite_source())
        (path / "conftest.py").write_text(CONFTEST)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-rf", "-p", "no:cacheprovider", "--rootdir", tmp, "-o", "addopts=",
             "-W", "ignore::DeprecationWarning", "test_mlp_on_fnn.py"],
            cwd=tmp, env=env, capture_output=True, text=True, timeout=timeout,
        )
    out = proc.stdout + proc.stderr
    failed = sorted(set(re.findall(r"^FAILED test_mlp_on_fnn\.py::(\S+)", out, flags=re.M)))
    lines = [line for line in out.splitlines() if re.search(r"\d+ (passed|failed)", line)]
    return (lines[-1].strip("= ") if lines else out[-2000:]), failed, out


if __name__ == "__main__":
    summary, failed, _ = run_suite()
    print(summary)
    for name in failed:
        print("FAILED", name)
