"""The documentation holds: every relative link in README.md, docs/*.md and the generated report
points at a file that exists, and every ```python block in docs/*.md runs as written.

A block preceded by a ``<!-- slow -->`` line runs only with ``-m slow``."""
from __future__ import annotations

import pathlib
import re
from urllib.parse import unquote

import pytest
from threadpoolctl import threadpool_limits

ROOT = pathlib.Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
SLOW = "<!-- slow -->"


def python_blocks(path: pathlib.Path) -> list[tuple[str, bool]]:
    """``(code, slow)`` for every ```python block of ``path``; ``slow`` when the line before it is ``<!-- slow -->``."""
    text = path.read_text(encoding="utf-8")
    return [(m.group(2), m.group(1) is not None) for m in re.finditer(r"(<!-- slow -->\n)?```python\n(.*?)```", text, flags=re.S)]


def run_block(code: str, path: pathlib.Path, number: int) -> None:
    """Execute ``code`` in a fresh namespace (on one BLAS thread: the examples' products are small)."""
    with threadpool_limits(limits=1):
        exec(compile(code, f"{path.name} block {number}", "exec"), {"__name__": f"{path.stem}_block_{number}"})


def relative_links(path: pathlib.Path) -> list[str]:
    """Targets of the markdown links and images in ``path`` that are files (no URL, no bare #anchor)."""
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)  # code is not linked
    targets = re.findall(r"!?\[[^\]]*\]\(([^)\s]+)\)", text)
    return [unquote(t.split("#")[0]) for t in targets if not re.match(r"[a-z]+:", t) and not t.startswith("#")]


def assert_links_exist(path: pathlib.Path) -> None:
    missing = [t for t in relative_links(path) if not (path.parent / t).exists()]
    assert not missing, f"{path}: links to missing files {missing}"


def test_docs_exist_and_are_linked_from_the_readme():
    assert {p.name for p in DOCS} >= {"api.md", "performance.md", "tutorials.md"}
    linked = set(relative_links(README))
    assert {"docs/api.md", "docs/performance.md", "docs/tutorials.md", "LICENSE"} <= linked


@pytest.mark.parametrize("path", [README, *DOCS], ids=lambda p: p.name)
def test_every_relative_link_points_at_a_file(path):
    assert_links_exist(path)


def test_a_missing_link_target_is_caught(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("[here](here.md) [web](https://example.org) [anchor](#a)\n```python\n[x](not-a-link.md)\n```\n")
    assert relative_links(page) == ["here.md"]
    with pytest.raises(AssertionError, match="here.md"):
        assert_links_exist(page)


def test_the_generated_report_links_only_to_files_that_exist(tmp_path):
    import reproduce

    out = tmp_path / "results"
    assert reproduce.main(["--quick", "--out", str(out)]) == 0
    for page in out.glob("*.md"):
        assert_links_exist(page)
    assert "docs/tutorials.md" in (out / "REPORT.md").read_text()


BLOCKS = [(path, i, code, slow) for path in DOCS for i, (code, slow) in enumerate(python_blocks(path), 1)]


def test_the_docs_have_python_examples():
    assert {path.name for path, *_ in BLOCKS} >= {"api.md", "tutorials.md"}


@pytest.mark.parametrize("path, number, code", [pytest.param(p, i, c, marks=[pytest.mark.slow] if s else [], id=f"{p.name}-{i}")
                                                for p, i, c, s in BLOCKS])
def test_every_python_block_in_the_docs_runs(path, number, code, capsys):
    run_block(code, path, number)
    assert capsys.readouterr().out.strip(), "each example prints what it shows"


def test_slow_blocks_are_found(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("```python\nprint(1)\n```\n\n<!-- slow -->\n```python\nprint(2)\n```\n")
    assert python_blocks(page) == [("print(1)\n", False), ("print(2)\n", True)]
