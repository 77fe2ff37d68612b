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
import regularization
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
    assert reproduce.main(["--quick", "--out", str(tmp_path / "a")]) == 0
    piped = run_script("reproduce.py", "--quick", "--out", str(tmp_path / "b"))  # stdout is a pipe here
    assert piped.returncode == 0, piped.stderr
    lines = piped.stdout.splitlines()
    names = [m.NAME for m in reproduce.EXPERIMENTS]
    assert [line.split(": ")[0] for line in lines[:-1]] == [f"[{i}/6] {n}" for i, n in enumerate(names, 1) for _ in (0, 1)]
    assert all(re.fullmatch(r"\[\d/6\] \w+: done in [\d.]+ s", line) for line in lines[1:-1:2])
    assert lines[-1].startswith("wrote ")
    for out in (tmp_path / "a", tmp_path / "b"):
        for module in reproduce.EXPERIMENTS:
            section = (out / f"{module.NAME}.md").read_text()
            figures = re.findall(r"!\[[^]]*\]\(([^)]+)\)", section)
            assert figures, module.NAME
            for figure in figures:
                assert (out / figure).read_bytes()[:8] == PNG
        reports.append((out / "REPORT.md").read_text())
    summary = next(block for block in reports[0].split("\n\n") if block.startswith("| experiment"))
    assert len(summary.splitlines()) == 2 + 10  # header, rule, then 1 + 1 + 2 + 2 + 1 + 3 experiment rows
    assert "quick mode" in reports[0] and "diverged" not in reports[0]
    assert without_times(reports[0]) == without_times(reports[1])
    rows = summary.splitlines()[2:]
    assert all(reports[0].count(row.rsplit("|", 2)[0]) == 1 for row in rows)  # every row once, in the table only
    assert all(re.search(r"\(\d{3}( ch\. \d)?\) \|", row) and "*" in row for row in rows)  # each names its tutorial


def test_a_script_runs_on_its_own(tmp_path):
    done = run_script("xor.py", "--quick", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "| XOR table" in done.stdout
    assert (tmp_path / "xor.md").exists() and (tmp_path / "xor_loss.png").exists()


def test_divergence_prints_the_hint_and_writes_no_results(tmp_path):
    for lr in ("1e6", "1e200"):
        out = tmp_path / lr
        done = run_script("architecture_list.py", "--quick", "--lr", lr, "--out", str(out))
        assert done.returncode == 1
        assert "training diverged at step" in done.stderr and "learning rate" in done.stderr
        assert "no results written" in done.stderr and "Traceback" not in done.stderr
        assert not out.exists() and done.stdout == ""
    (tmp_path / "kept").mkdir()
    assert architecture_list.main(["--quick", "--lr", "1e6", "--out", str(tmp_path / "kept")]).diverged
    assert list((tmp_path / "kept").iterdir()) == []  # an existing folder stays, empty


def test_an_lr_override_is_recorded_in_the_row(tmp_path):
    section = xor.main(["--quick", "--lr", "2", "--out", str(tmp_path)])
    assert section.rows[0].choices.startswith("**--lr 2 in place of 1**")
    assert "--lr 2 in place of 1" in (tmp_path / "xor.md").read_text()
    assert "--lr" not in xor.main(["--quick", "--out", str(tmp_path)]).rows[0].choices


def test_huge_losses_print_in_four_significant_digits(tmp_path):
    done = run_script("logistic_regression.py", "--quick", "--lr", "1e300", "--out", str(tmp_path))
    assert not re.search(r"\d{12}", done.stdout), done.stdout
    assert "e+" in (tmp_path / "logistic_regression.md").read_text()


def test_a_missing_h5_folder_is_one_line_and_exit_2(tmp_path):
    for script in ("deep_images.py", "reproduce.py"):
        done = run_script(script, "--quick", "--h5-dir", str(tmp_path / "missing"), "--out", str(tmp_path / "out"))
        assert done.returncode == 2 and done.stdout == ""
        assert len(done.stderr.strip().splitlines()) == 1 and "train_catvnoncat.h5" in done.stderr
    assert not (tmp_path / "out").exists()


def test_a_script_beside_a_folder_named_fnn_imports_the_repository_package(tmp_path):
    """A clone named fnn, run from its parent with that parent on the path (PYTHONPATH=. or python -m):
    without the scripts putting the repository first, `import fnn` gives the clone as an empty
    namespace package (module 'fnn' has no attribute ...)."""
    (tmp_path / "fnn").symlink_to(ROOT, target_is_directory=True)
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    namespace = subprocess.run([sys.executable, "-c", "import fnn; print(hasattr(fnn, 'network'))"],
                               capture_output=True, text=True, env=env, cwd=tmp_path)
    assert namespace.stdout.strip() == "False"  # the trap is there
    for script, *args in (("xor.py",), ("sweep.py", "--hidden", "2", "--lr", "0.1", "--seeds", "1")):
        done = subprocess.run([sys.executable, f"fnn/scripts/{script}", "--quick", "--out", "out", *args], capture_output=True,
                              text=True, env=env, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "xor_loss.png").exists() and (tmp_path / "out" / "sweep.csv").exists()


def test_deep_images_reads_h5_files(tmp_path):
    write_catvnoncat(tmp_path, m_train=8, m_test=4)
    section = deep_images.main(["--quick", "--h5-dir", str(tmp_path), "--out", str(tmp_path / "out")])
    assert not section.diverged and len(section.rows) == 2
    assert "catvnoncat" in section.details and "non-cat" in section.details
    assert set(section.metrics) == set(deep_images.HIDDEN)


def test_regularization_quick_writes_its_section_and_three_panel_figure(tmp_path):
    done = run_script("regularization.py", "--quick", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("| regularization: ") == 3 and "not a seed document" in done.stdout
    assert (tmp_path / "regularization.png").read_bytes()[:8] == PNG
    assert "![regularization.png](regularization.png)" in (tmp_path / "regularization.md").read_text()


def test_regularization_panels_are_titled_with_train_and_test_accuracy(tmp_path, monkeypatch):
    saved = []
    monkeypatch.setattr(regularization.common, "save", lambda fig, out, name: saved.append(fig) or name)
    section = regularization.main(["--quick", "--out", str(tmp_path)])
    titles = [ax.get_title() for ax in saved[0].axes]
    assert [t.splitlines()[0] for t in titles] == ["no regularization", "L2, λ = 0.7", "dropout, p = 0.7"]
    for title, (key, s) in zip(titles, section.metrics.items()):
        assert f"train {s['train']:.3f}, test {s['test']:.3f}" in title, key
        assert s["gap"] == s["train"] - s["test"]
    assert all(ax.get_xlabel() == "x1" and ax.get_legend() is not None for ax in saved[0].axes)


def test_regularization_narrows_the_gap_at_full_size(tmp_path):
    """The lesson's claim: the wide network overfits its 80 points, L2 and dropout each narrow the gap."""
    m = regularization.main(["--out", str(tmp_path)]).metrics
    assert m["none"]["train"] >= 0.98 and m["none"]["gap"] >= 0.08
    assert m["none"]["gap"] > m["l2"]["gap"] and m["none"]["gap"] > m["dropout"]["gap"]
    assert m["l2"]["test"] > m["none"]["test"] and m["dropout"]["test"] > m["none"]["test"]


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
