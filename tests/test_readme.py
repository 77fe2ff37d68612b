"""The README's example runs as written."""
import pathlib
import re

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_examples_run(capsys):
    blocks = python_blocks()
    assert blocks
    for block in blocks:
        exec(compile(block, str(README), "exec"), {})
    out = capsys.readouterr().out
    assert out.strip()


def test_readme_opens_with_the_two_commands():
    text = README.read_text()
    commands = re.findall(r"<!-- (main|test)-command -->\n```bash\n(.+?)\n```", text)
    assert [kind for kind, _ in commands] == ["main", "test"]
    assert all(cmd.startswith("python -m pip install -e") for _, cmd in commands)
