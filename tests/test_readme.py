"""The README's examples run as written, and it opens with the two commands CI reads."""
import re

from test_docs import README, python_blocks, run_block


def test_readme_examples_run(capsys):
    blocks = python_blocks(README)
    assert blocks
    for number, (code, _) in enumerate(blocks, 1):
        run_block(code, README, number)
    out = capsys.readouterr().out
    assert out.strip()


def test_readme_opens_with_the_two_commands():
    text = README.read_text()
    commands = re.findall(r"<!-- (main|test)-command -->\n```bash\n(.+?)\n```", text)
    assert [kind for kind, _ in commands] == ["main", "test"]
    assert all(cmd.startswith("python -m pip install -e") for _, cmd in commands)
