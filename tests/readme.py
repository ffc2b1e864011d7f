"""Running the documentation's examples as written (tests/e2e/test_readme.py).

:func:`blocks` finds every fenced ```` ```sh ```` and ```` ```python ```` block of README.md
and of ``docs/*.md`` (when there are any), in order. A block that cannot run here says so
on the line right above its fence, visibly in the Markdown source::

    <!-- not run by tests/e2e/test_readme.py: it needs a Stripe account -->

:class:`Session` runs the blocks in order, the way one person would in one terminal and
one Python session, in a temporary folder:

- **shell blocks** run in ``bash`` with ``set -euo pipefail`` and ``set -a``, so that a
  variable a block sets (``ORG_ID=$(creditline org create "Acme" -f json | jq -r .id)``)
  is there in the next blocks, as in one terminal; the project's ``.venv/bin`` comes
  first on ``PATH``. A command a block starts in the background (``creditline serve
  ... &``) runs on until the session ends.
- **Python blocks** share one namespace (one interpreter, the project's ``.venv``), and
  see the environment the shell blocks left (``os.environ["CREDITLINE_API_KEY"]``).
- The folder holds a link ``examples`` to the repository's ``examples/``: the examples
  are read from a clone's root, where the README's paths (``examples/otai/...``) are.
- The one change made to a block before it runs: port ``8000`` (``--port 8000``,
  ``127.0.0.1:8000``) becomes a free port, since another server may hold 8000 here.

No environment variable of creditline's (``CREDITLINE_*``) leaks in from outside.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

__all__ = ["ROOT", "Block", "BlockFailed", "Session", "blocks"]

ROOT = Path(__file__).resolve().parents[1]
MARKER = re.compile(r"^<!--\s*not run by tests/e2e/test_readme\.py:\s*(?P<why>.+?)\s*-->$")
FENCE = re.compile(r"^```(?P<lang>[\w+-]*)\s*$")
LANGUAGES = {"sh": "sh", "bash": "sh", "shell": "sh", "python": "python", "py": "python"}
BLOCK_SECONDS = 600


@dataclass(frozen=True, slots=True)
class Block:
    """One fenced block: where it is, its language (``sh`` or ``python``), its code, and
    why it is not run (``None``: it is)."""

    source: str
    line: int
    lang: str
    code: str
    skip: str | None

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}"


class BlockFailed(AssertionError):
    """A block exited with an error; the message has the block, its output and the error."""


def blocks(root: Path = ROOT) -> list[Block]:
    """Every shell and Python block of README.md, then of docs/*.md, in order."""
    sources = [root / "README.md", *sorted((root / "docs").glob("*.md"))]
    found: list[Block] = []
    for path in sources:
        found += _blocks_of(path, path.relative_to(root).as_posix())
    return found


def _blocks_of(path: Path, name: str) -> list[Block]:
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        opened = FENCE.match(lines[i])
        if opened is None:
            i += 1
            continue
        end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
        lang = LANGUAGES.get(opened["lang"])
        if lang is not None:
            above = next((t.strip() for t in reversed(lines[:i]) if t.strip()), "")
            marked = MARKER.match(above)
            code = "\n".join(lines[i + 1 : end]) + "\n"
            found.append(Block(name, i + 1, lang, code, marked["why"] if marked else None))
        i = end + 1
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


_DRIVER = """
import contextlib, json, os, sys, traceback
namespace = {"__name__": "__main__"}
answers = os.fdopen(int(sys.argv[1]), "w", buffering=1)
log = open(sys.argv[2], "a", buffering=1)
for request in sys.stdin:
    job = json.loads(request)
    os.environ.clear()
    os.environ.update(job["env"])
    log.write(f"\\n>>> {job['where']}\\n")
    try:
        with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
            exec(compile(job["code"], job["where"], "exec"), namespace)
        answers.write(json.dumps({"ok": True}) + "\\n")
    except BaseException:
        answers.write(json.dumps({"ok": False, "error": traceback.format_exc()}) + "\\n")
"""


class Session:
    """The folder, the shell's environment, the Python interpreter and the background
    processes of one run of the blocks, in order."""

    def __init__(self, folder: Path, root: Path = ROOT) -> None:
        self.folder = folder
        self.port = free_port()
        (folder / "examples").symlink_to(root / "examples")
        clean = {k: v for k, v in os.environ.items() if not k.startswith("CREDITLINE_")}
        for name in ("PYTEST_XDIST_WORKER", "PYTEST_CURRENT_TEST", "VIRTUAL_ENV"):
            clean.pop(name, None)
        clean["PATH"] = f"{root / '.venv' / 'bin'}{os.pathsep}{clean.get('PATH', '')}"
        self.env: dict[str, str] = clean
        self.python_log = folder / "python.log"
        self._python: subprocess.Popen[str] | None = None
        self._answers: IO[str] | None = None
        self._groups: list[int] = []
        self._count = 0

    # -- running ---------------------------------------------------------------------------

    def run(self, block: Block) -> None:
        """Run one block; raise :class:`BlockFailed` if it fails."""
        code = self.prepared(block.code)
        self._count += 1
        if block.lang == "sh":
            self._shell(block, code)
        else:
            self._exec_python(block, code)

    def prepared(self, code: str) -> str:
        """The block's code with port 8000 moved to this session's free port."""
        code = re.sub(r"--port 8000\b", f"--port {self.port}", code)
        return re.sub(r"(127\.0\.0\.1|localhost):8000\b", rf"\g<1>:{self.port}", code)

    def _shell(self, block: Block, code: str) -> None:
        n = self._count
        script = self.folder / f"block-{n}.sh"
        env_file = self.folder / f"block-{n}.env"
        log = self.folder / f"block-{n}.log"
        script.write_text(code)
        wrapper = f"set -euo pipefail\nset -a\nsource {script}\nenv -0 > {env_file}\n"
        with log.open("w") as out:
            process = subprocess.Popen(
                ["bash", "-c", wrapper], cwd=self.folder, env=self.env, stdin=subprocess.DEVNULL,
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
            self._groups.append(process.pid)
            try:
                status = process.wait(timeout=BLOCK_SECONDS)
            except subprocess.TimeoutExpired:
                status = -1
        if status != 0 or not env_file.exists():
            raise BlockFailed(self._report(block, code, log.read_text(), f"exit status {status}"))
        self.env = self._environment(env_file.read_bytes())

    @staticmethod
    def _environment(dump: bytes) -> dict[str, str]:
        pairs = (item.decode().partition("=") for item in dump.split(b"\0") if item)
        shell_own = {"_", "SHLVL", "PWD", "OLDPWD"}
        return {k: v for k, _, v in pairs if k not in shell_own}

    def _exec_python(self, block: Block, code: str) -> None:
        python, answers = self._interpreter()
        assert python.stdin is not None
        start = self.python_log.stat().st_size if self.python_log.exists() else 0
        job = {"code": code, "where": block.where, "env": self.env}
        python.stdin.write(json.dumps(job) + "\n")
        python.stdin.flush()
        line = answers.readline()
        if not line:
            raise BlockFailed(self._report(block, code, self._python_output(start), "exited"))
        answer = json.loads(line)
        if not answer["ok"]:
            output = self._python_output(start)
            raise BlockFailed(self._report(block, code, output, answer["error"]))

    def _interpreter(self) -> tuple[subprocess.Popen[str], IO[str]]:
        if self._python is None or self._answers is None:
            read, write = os.pipe()
            python = str(ROOT / ".venv" / "bin" / "python")
            self._python = subprocess.Popen(
                [python, "-c", _DRIVER, str(write), str(self.python_log)], cwd=self.folder,
                env=self.env, stdin=subprocess.PIPE, text=True, pass_fds=(write,),
                start_new_session=True,
            )  # fmt: skip
            os.close(write)
            self._answers = os.fdopen(read)
        return self._python, self._answers

    def _python_output(self, start: int) -> str:
        if not self.python_log.exists():
            return ""
        with self.python_log.open() as f:
            f.seek(start)
            return f.read()

    @staticmethod
    def _report(block: Block, code: str, output: str, error: str) -> str:
        return (
            f"{block.where} ({block.lang}) failed: {error}\n"
            f"--- the block as run\n{textwrap.indent(code, '  ')}"
            f"--- its output (last 60 lines)\n" + "\n".join(output.splitlines()[-60:])
        )

    # -- the end ---------------------------------------------------------------------------

    def close(self) -> None:
        """Stop the Python session and everything the shell blocks left running."""
        if self._python is not None:
            assert self._python.stdin is not None
            self._python.stdin.close()
            _stop(self._python.pid, self._python)
            self._python.wait(timeout=10)
        if self._answers is not None:
            self._answers.close()
        for group in self._groups:
            _stop(group, None)


def _stop(group: int, process: subprocess.Popen[Any] | None) -> None:
    """SIGTERM to a process group, then SIGKILL to what is left after 10 seconds."""
    try:
        os.killpg(group, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)


if __name__ == "__main__":  # list the blocks: python -m tests.readme
    for b in blocks():
        print(f"{b.where:16} {b.lang:6} {'skip: ' + b.skip if b.skip else 'runs'}")
    sys.exit(0)
