"""The experiment scripts: quick runs write their sections and figures, reports are reproducible,
divergence is reported rather than written up as a result; marked-slow runs reach the documents'
outcomes with the full settings."""
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import architecture_list
import deep_images
import logistic_regression
import reproduce
import shallow_moons
import xor
from test_data import write_catvnoncat

ROOT = Path(__file__).resolve().parents[1]
PNG = b"\x89PNG\r\n\x1a\n"


def without_times(text: str) -> str:
    """The report with the time column, the total and 'x s' / 'x ms' phrases blanked."""
    text = re.sub(r"\| [\d.]+ \|$", "| t |", text, flags=re.M)
    return re.sub(r"[\d.]+ (ms|s)\b", "t", text)


def run_script(name, *args):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, str(ROOT / "scripts" / name), *args], capture_output=True, text=True, env=env, cwd=ROOT)


def test_reproduce_quick_writes_every_section_and_the_same_report_twice(tmp_path):
    reports = []
    for out in (tmp_path / "a", tmp_path / "b"):
        assert reproduce.main(["--quick", "--out", str(out)]) == 0
        for module in reproduce.EXPERIMENTS:
            section = (out / f"{module.NAME}.md").read_text()
            figures = re.findall(r"!\[[^]]*\]\(([^)]+)\)", section)
            assert figures, module.NAME
            for figure in figures:
                assert (out / figure).read_bytes()[:8] == PNG
        reports.append((out / "REPORT.md").read_text())
    summary = next(block for block in reports[0].split("\n\n") if block.startswith("| experiment"))
    assert len(summary.splitlines()) == 2 + 7  # header, rule, then 1 + 1 + 2 + 2 + 1 experiment rows
    assert "quick mode" in reports[0] and "diverged" not in reports[0]
    assert without_times(reports[0]) == without_times(reports[1])


def test_a_script_runs_on_its_own(tmp_path):
    done = run_script("xor.py", "--quick", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "| XOR table" in done.stdout
    assert (tmp_path / "xor.md").exists() and (tmp_path / "xor_loss.png").exists()


def test_divergence_prints_the_hint_and_writes_no_results(tmp_path):
    done = run_script("architecture_list.py", "--quick", "--lr", "1e6", "--out", str(tmp_path))
    assert done.returncode == 1
    assert "training diverged at step" in done.stderr and "learning rate" in done.stderr
    section = (tmp_path / "architecture_list.md").read_text()
    assert "| diverged at step 4 |" in section and "(train " not in section
    assert not list(tmp_path.glob("*.png"))


def test_deep_images_reads_h5_files(tmp_path):
    write_catvnoncat(tmp_path, m_train=8, m_test=4)
    section = deep_images.main(["--quick", "--h5-dir", str(tmp_path), "--out", str(tmp_path / "out")])
    assert not section.diverged and len(section.rows) == 2
    assert "catvnoncat" in section.details and "non-cat" in section.details
    assert set(section.metrics) == set(deep_images.HIDDEN)


# --- the full settings: the documents' outcomes ---------------------------------------------


@pytest.mark.slow
def test_logistic_regression_separates_its_data(tmp_path):
    metrics = logistic_regression.main(["--out", str(tmp_path)]).metrics
    assert metrics["train_accuracy"] >= 0.95
    assert metrics["losses"][-1] < metrics["losses"][0] / 5


@pytest.mark.slow
def test_xor_predictions_match_the_table(tmp_path):
    predictions = xor.main(["--out", str(tmp_path)]).metrics["predictions"]
    np.testing.assert_allclose(predictions, [0, 1, 1, 0], atol=0.05)


@pytest.mark.slow
def test_shallow_moons_train_accuracy(tmp_path):
    metrics = shallow_moons.main(["--out", str(tmp_path)]).metrics
    assert metrics["train_accuracy"] >= 0.97
    assert metrics["train_accuracy_by_size"][50] >= metrics["train_accuracy_by_size"][1]


@pytest.mark.slow
def test_deep_images_on_digits(tmp_path):
    metrics = deep_images.main(["--out", str(tmp_path)]).metrics
    assert all(m["test_accuracy"] >= 0.9 for m in metrics.values())


@pytest.mark.slow
def test_architecture_list_test_accuracy(tmp_path):
    assert architecture_list.main(["--out", str(tmp_path)]).metrics["test_accuracy"] >= 0.95
