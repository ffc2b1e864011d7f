"""The collected-equals-ran guard (tests/collection_guard.py), shown on generated test files
run by pytest in a subprocess the way `make test` runs the suite: `-n 2 --dist loadgroup`.

A run where every collected test reports an outcome passes; a run where several items
share one id (as schemathesis' cases did under pytest 9.2: xdist then runs one of them
and says nothing about the others) fails, naming the id.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
XDIST = ["-n", "2", "--dist", "loadgroup"]
_ASKED = ("CI", "CREDITLINE_SKIP_POSTGRES", "CREDITLINE_SKIP_BROWSER")

EVERY_OUTCOME = """
    import os
    import pytest

    def test_passes():
        pass

    @pytest.mark.xfail(reason="an expected failure", strict=True)
    def test_expected_to_fail():
        raise AssertionError

    @pytest.mark.xdist_group("one-worker")
    @pytest.mark.parametrize("n", range(4))
    def test_grouped(n, tmp_path_factory):
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        out = tmp_path_factory.getbasetemp().parents[1] / f"group-{n}.txt"
        out.write_text(worker)
"""

# Three items under one id: what a collector that names its items badly produces.
SHARED_ID_CONFTEST = """
    import pytest

    class Case(pytest.Item):
        def runtest(self):
            pass

        def reportinfo(self):
            return self.path, 0, self.name

    class Cases(pytest.File):
        def collect(self):
            for _ in range(3):
                yield Case.from_parent(self, name="same")

    def pytest_collect_file(parent, file_path):
        if file_path.name == "cases.txt":
            return Cases.from_parent(parent, path=file_path)
"""


def _pytest(
    folder: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in _ASKED}
    env = {**base, "PYTHONPATH": str(ROOT), **(env or {})}
    env.pop("PYTEST_XDIST_WORKER", None)
    env.pop("PYTEST_ADDOPTS", None)
    command = [sys.executable, "-m", "pytest", "-p", "tests.collection_guard",
               "-p", "no:cacheprovider", "--basetemp", str(folder / "tmp"), *args]  # fmt: skip
    return subprocess.run(
        command, cwd=folder, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def _write(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(textwrap.dedent(text))


@pytest.mark.slow
def test_a_run_where_every_collected_test_reports_an_outcome_passes(tmp_path: Path) -> None:
    _write(tmp_path, "test_outcomes.py", EVERY_OUTCOME)
    run = _pytest(tmp_path, *XDIST)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "not every collected test ran" not in run.stdout
    assert "5 passed, 1 xfailed" in run.stdout
    # --dist loadgroup keeps a group on one worker (it did not under pytest 9.2).
    workers = {(tmp_path / f"group-{n}.txt").read_text() for n in range(4)}
    assert len(workers) == 1, workers


SKIPS = """
    import pytest

    def test_passes():
        pass

    @pytest.mark.skip(reason="not today")
    def test_skipped_by_mark():
        pass

    def test_skipped_inside():
        pytest.skip("no server here")
"""


@pytest.mark.slow
def test_a_skipped_test_did_not_run_and_fails_the_run(tmp_path: Path) -> None:
    _write(tmp_path, "test_skips.py", SKIPS)
    run = _pytest(tmp_path, *XDIST, env={"CI": "true"})
    assert run.returncode == 1, run.stdout + run.stderr
    assert "skipped tests (2; a skipped test did not run):" in run.stdout
    assert "test_skips.py::test_skipped_by_mark: not today" in run.stdout
    assert "test_skips.py::test_skipped_inside: no server here" in run.stdout


def test_skips_a_developer_asked_for_outside_ci_pass(tmp_path: Path) -> None:
    _write(tmp_path, "test_skips.py", SKIPS)
    run = _pytest(tmp_path, "-p", "no:xdist", env={"CREDITLINE_SKIP_POSTGRES": "1"})
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed, 2 skipped" in run.stdout


@pytest.mark.slow
def test_items_sharing_an_id_fail_the_run_and_are_named(tmp_path: Path) -> None:
    _write(tmp_path, "conftest.py", SHARED_ID_CONFTEST)
    (tmp_path / "cases.txt").write_text("three cases\n")
    run = _pytest(tmp_path, *XDIST)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "not every collected test ran" in run.stdout
    assert "collected 3 tests, 1 ran" in run.stdout
    assert "3 tests share cases.txt::same" in run.stdout
    assert run.stdout.rstrip().splitlines()[-1].count("1 passed")


def test_items_sharing_an_id_fail_the_run_even_when_each_of_them_ran(tmp_path: Path) -> None:
    # Without xdist all three run, but the id names none of them: a failure could not be
    # told apart, and --dist loadgroup would drop two of them.
    _write(tmp_path, "conftest.py", SHARED_ID_CONFTEST)
    (tmp_path / "cases.txt").write_text("three cases\n")
    run = _pytest(tmp_path, "-p", "no:xdist")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "3 tests share cases.txt::same" in run.stdout
    assert "collected 3 tests" not in run.stdout  # all three ran
