"""The README runner (tests/readme.py) on a small generated README: it finds the blocks
and the skip markers, carries shell variables from block to block and into Python, keeps
one Python namespace, moves port 8000, and reports a failing block with its output."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.readme import BlockFailed, Session, blocks

README = """\
# A project

```sh
GREETING=$(echo hello)
echo "said $GREETING"
```

Some prose, then a block in another language (not run):

```toml
name = "x"
```

<!-- not run by tests/e2e/test_readme.py: it needs a real payment account -->
```sh
exit 3
```

```python
import os
word = os.environ["GREETING"]
```

```python
assert word == "hello"
url = "http://127.0.0.1:8000/v1"
```

```sh
(sleep 600; echo --port 8000) &
false
echo never
```
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "examples").mkdir(parents=True)
    (root / "README.md").write_text(README)
    return root


def test_blocks_are_found_in_order_with_their_skip_reasons(project: Path) -> None:
    found = blocks(project)
    assert [(b.line, b.lang, b.skip) for b in found] == [
        (3, "sh", None),
        (15, "sh", "it needs a real payment account"),
        (19, "python", None),
        (24, "python", None),
        (29, "sh", None),
    ]
    assert found[0].where == "README.md:3"


def test_variables_flow_from_shell_to_shell_and_python_and_a_failure_is_reported(
    project: Path, tmp_path: Path
) -> None:
    found = blocks(project)
    folder = tmp_path / "run"
    folder.mkdir()
    session = Session(folder, root=project)
    try:
        session.run(found[0])
        assert session.env["GREETING"] == "hello"
        session.run(found[2])
        session.run(found[3])  # the namespace is shared: `word` is still there
        assert "8000" not in session.prepared(found[4].code)
        assert f"echo --port {session.port}) &" in session.prepared(found[4].code)
        with pytest.raises(BlockFailed) as failed:
            session.run(found[4])
        assert "README.md:29 (sh) failed: exit status 1" in str(failed.value)
        assert "echo never" in str(failed.value)  # the block as run is shown
        assert (folder / "examples").resolve() == (project / "examples").resolve()
    finally:
        session.close()


def test_a_failing_python_block_reports_its_traceback(project: Path, tmp_path: Path) -> None:
    found = blocks(project)
    folder = tmp_path / "run"
    folder.mkdir()
    session = Session(folder, root=project)
    try:
        with pytest.raises(BlockFailed) as failed:
            session.run(found[2])  # GREETING was never set: no shell block ran
        assert "KeyError: 'GREETING'" in str(failed.value)
        assert 'File "README.md:19"' in str(failed.value)
    finally:
        session.close()
