"""The README's python blocks, pasted in order into one fresh interpreter, run
without error: what a newcomer does with them."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).parents[1] / "README.md"

# Runs each block in one shared namespace, compiled under the README's name and
# line numbers (so a traceback points into the README), and reports each block done.
_RUNNER = """
import json, sys
namespace = {"__name__": "__main__"}
for first_line, source in json.load(open(sys.argv[1])):
    exec(compile("\\n" * (first_line - 1) + source, "README.md", "exec"), namespace)
    print(f"README block at line {first_line}: done", flush=True)
"""


def python_blocks(text: str) -> list[tuple[int, str]]:
    """(first line of the code, code) of every ```python fenced block."""
    blocks = []
    for match in re.finditer(r"^```python\n(.*?)^```$", text, re.MULTILINE | re.DOTALL):
        blocks.append((text.count("\n", 0, match.start(1)) + 1, match.group(1)))
    return blocks


def test_python_blocks_are_found():
    text = README.read_text()
    blocks = python_blocks(text)
    assert len(blocks) == text.count("```python\n") and blocks
    assert all(text.splitlines()[line - 2] == "```python" for line, _ in blocks)


def test_python_blocks_run_in_order_in_a_fresh_process(tmp_path):
    blocks = python_blocks(README.read_text())
    (tmp_path / "blocks.json").write_text(json.dumps(blocks))
    # cwd outside the repository: `-c` would put the source tree (no compiled _C)
    # ahead of the installed package.
    result = subprocess.run([sys.executable, "-c", _RUNNER, str(tmp_path / "blocks.json")], cwd=tmp_path,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"a README python block failed:\n{result.stderr[-4000:]}"
    done = [line for line in result.stdout.splitlines() if line.startswith("README block at line")]
    assert done == [f"README block at line {line}: done" for line, _ in blocks]
