"""The README runs as written: every ```sh and ```python block of README.md (and of
docs/*.md), in order, in a temporary folder, against a fresh SQLite database, with the
project's .venv first on PATH (see tests/readme.py for how blocks share variables and
the one change made to them: port 8000 becomes a free port).

Each block is one test, in the README's order, all on one xdist worker (one session
runs them in turn; a test runs the blocks before it first when they have not run).
A block marked ``<!-- not run by tests/e2e/test_readme.py: REASON -->`` is not a test:
the first test lists those blocks with their reasons and fails when there are more than
four, so none is left out silently. ``python -m tests.readme`` lists the blocks.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.readme import Block, BlockFailed, Session, blocks

BLOCKS = blocks()

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("readme")]


def _param(index: int, block: Block) -> object:
    return pytest.param(index, id=f"{block.where}-{block.lang}")


class _Run:
    """The session, how far it got, and the failure of each block that failed."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.done = 0
        self.errors: dict[int, BlockFailed] = {}

    def through(self, index: int) -> None:
        """Run the blocks up to ``index`` not run yet; raise ``index``'s failure."""
        while self.done <= index:
            block = BLOCKS[self.done]
            self.done += 1
            if block.skip is None:
                try:
                    self.session.run(block)
                except BlockFailed as failed:
                    self.errors[self.done - 1] = failed
        if index in self.errors:
            raise self.errors[index]


@pytest.fixture(scope="module")
def readme_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Run]:
    folder: Path = tmp_path_factory.mktemp("readme")
    session = Session(folder)
    try:
        yield _Run(session)
    finally:
        session.close()


def test_the_readme_has_blocks_to_run_and_few_that_cannot_run() -> None:
    runs = [b for b in BLOCKS if b.skip is None]
    not_run = [f"{b.where} ({b.lang}): {b.skip}" for b in BLOCKS if b.skip is not None]
    assert len(runs) >= 15
    assert len(not_run) <= 4, not_run
    # each reason is a sentence a reader can check (the server, the suite, Stripe, timing)
    assert all(len(b.skip or "x" * 20) >= 20 for b in BLOCKS), not_run


@pytest.mark.parametrize("index", [_param(i, b) for i, b in enumerate(BLOCKS) if b.skip is None])
def test_readme_block_runs_as_written(readme_run: _Run, index: int) -> None:
    try:
        readme_run.through(index)
    except BlockFailed as failed:
        pytest.fail(str(failed), pytrace=False)


def test_the_client_example_runs_again_in_the_same_session(readme_run: _Run) -> None:
    # A second run makes a second "Acme" and spends with the same Idempotency-Key
    # ("order-42") for it: keys are scoped per organization, so it is a new request.
    (client,) = [i for i, b in enumerate(BLOCKS) if "creditline.Client(" in b.code]
    readme_run.through(client)
    try:
        readme_run.session.run(BLOCKS[client])
    except BlockFailed as failed:
        pytest.fail(str(failed), pytrace=False)
