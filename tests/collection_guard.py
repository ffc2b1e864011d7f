"""A pytest plugin: the session fails unless every collected test ran exactly once.

A test "ran" when it reported an outcome: passed, failed, errored, xfailed or xpassed.
A skipped test did not run: a skip fails the run too, listed by id and reason, except
where a developer asked for skips outside CI (``CREDITLINE_SKIP_POSTGRES=1`` or
``CREDITLINE_SKIP_BROWSER=1`` without ``CI``).

Under xdist the controller sees both sides: the ids each worker collected
(``pytest_xdist_node_collection_finished``) and every report the workers send back. Two
items that share an id are one test to xdist's ``--dist loadgroup`` scheduler, which
then runs only one of them and reports nothing about the others; this plugin makes that
(and any other test that never reports) fail the run, listing the ids concerned.

The check is left out when the run could not have run everything: ``--collect-only``,
an interrupted session (Ctrl-C, collection errors, an internal error) and a run stopped by ``-x`` or
``--maxfail``. It is registered by ``tests/conftest.py`` (``pytest_plugins``); its own
tests run pytest on generated files in a subprocess (tests/e2e/test_collection_guard.py).
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

import pytest

__all__ = ["CollectionGuard"]

_SHOWN = 20
"""How many ids a failure lists; the count says how many there are."""


class CollectionGuard:
    """Counts the collected ids and the ids that reported an outcome, on the process that
    sees the whole run (the only process without xdist, the controller with it)."""

    def __init__(self) -> None:
        self.collected: list[str] | None = None
        self.ran: Counter[str] = Counter()
        self.found: list[str] = []
        self.skipped: dict[str, str] = {}

    # -- what was collected ----------------------------------------------------------------

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        if not _is_controller(session.config):
            self.collected = [item.nodeid for item in session.items]

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        # Every worker collects the same ids (xdist checks it); the first one is enough.
        if self.collected is None:
            self.collected = list(ids)

    # -- what ran --------------------------------------------------------------------------

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # Every test that runs reports its setup (passed, failed or skipped); a worker that
        # crashed reports its test with when="???".
        if report.when in ("setup", "???"):
            self.ran[report.nodeid] += 1
        if report.skipped and not hasattr(report, "wasxfail"):
            longrepr = report.longrepr
            reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
            self.skipped[report.nodeid] = reason.removeprefix("Skipped: ")

    # -- the check -------------------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if not self._applies(session, exitstatus):
            return
        self.found = self.problems()
        if self.found:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        # Printed with the summaries, just above the short summary and the closing line.
        if self.found:
            terminalreporter.write_sep("=", "not every collected test ran", red=True, bold=True)
            for line in self.found:
                terminalreporter.write_line(line)

    def _applies(self, session: pytest.Session, exitstatus: int) -> bool:
        config = session.config
        if self.collected is None or config.option.collectonly:
            return False
        finished = (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED)
        if exitstatus not in finished or session.shouldstop:
            return False
        stopped_early = bool(config.option.maxfail) and exitstatus == pytest.ExitCode.TESTS_FAILED
        return not stopped_early

    def problems(self) -> list[str]:
        """One line per problem, with the ids concerned; empty when all is well."""
        assert self.collected is not None
        collected = Counter(self.collected)
        lines: list[str] = []
        ran = sum(self.ran.values())
        if ran != len(self.collected):
            lines.append(f"collected {len(self.collected)} tests, {ran} ran")
        shared = {nodeid: n for nodeid, n in collected.items() if n > 1}
        if shared:
            lines.append(
                f"ids shared by several collected tests ({len(shared)}; xdist runs one per id):"
            )
            lines += _first([f"  {n} tests share {nodeid}" for nodeid, n in shared.items()])
        missing = [nodeid for nodeid in collected if nodeid not in self.ran]
        if missing:
            lines.append(f"collected tests that never ran ({len(missing)}):")
            lines += _first([f"  {nodeid}" for nodeid in missing])
        if self.skipped and not _skips_asked():
            lines.append(f"skipped tests ({len(self.skipped)}; a skipped test did not run):")
            lines += _first([f"  {nodeid}: {why}" for nodeid, why in self.skipped.items()])
        unknown = [nodeid for nodeid in self.ran if nodeid not in collected]
        if unknown:
            lines.append(f"tests that ran but were not collected ({len(unknown)}):")
            lines += _first([f"  {nodeid}" for nodeid in unknown])
        return lines


def _first(lines: list[str]) -> list[str]:
    more = len(lines) - _SHOWN
    return lines[:_SHOWN] + ([f"  ... and {more} more"] if more > 0 else [])


def _skips_asked() -> bool:
    """Skips a developer asked for, outside CI (no PostgreSQL or Chromium at hand)."""
    asked = ("CREDITLINE_SKIP_POSTGRES", "CREDITLINE_SKIP_BROWSER")
    return not os.environ.get("CI") and any(os.environ.get(n) == "1" for n in asked)


def _is_controller(config: pytest.Config) -> bool:
    """True on xdist's controller (which collects nothing itself)."""
    return bool(getattr(config.option, "numprocesses", None)) and not hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    # Workers only run tests; the controller (or the single process) checks.
    if not hasattr(config, "workerinput"):
        config.pluginmanager.register(CollectionGuard(), "collection-guard")
