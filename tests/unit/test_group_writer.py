"""The group commit writer's plumbing, with a fake ``apply`` (no database)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any, NamedTuple

import pytest

from creditline.adapters.group_commit import GroupWriter
from creditline.domain.errors import CommitOutcomeUnknown


class Answer(NamedTuple):
    value: Any = None
    error: BaseException | None = None


class FakeStore:
    """Applies groups of ints; a group holding ``13`` fails whole (an unexpected
    error), one holding ``99`` is committed and then loses its commit's answer, and a
    negative int is refused on its own (an answer with an error)."""

    def __init__(self) -> None:
        self.committed: list[list[int]] = []
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.answered_before_commit: list[bool] = []

    def apply(
        self, group: Sequence[int], before_commit: Callable[[Sequence[Answer]], None] | None
    ) -> list[Answer]:
        self.entered.set()
        self.gate.wait(30)
        if 13 in group:
            raise RuntimeError("unlucky")
        answers = [Answer(error=ValueError(n)) if n < 0 else Answer(n * 10) for n in group]
        if before_commit is not None:
            before_commit(answers)
        self.committed.append([n for n in group if n >= 0])
        if 99 in group:
            raise CommitOutcomeUnknown("server closed the connection unexpectedly")
        return answers


def held_writer(store: FakeStore, **options: Any) -> GroupWriter[int]:
    """A writer whose first group waits at ``store.gate`` until the test opens it."""
    return GroupWriter(store.apply, **options)


def queued_behind(
    store: FakeStore, writer: GroupWriter[int], *rest: int
) -> tuple[Future[Any], list[Future[Any]]]:
    """Submit ``1`` (its group waits at the gate), then ``rest`` (queued meanwhile: the
    next group), then open the gate."""
    first = writer.submit(1)
    assert store.entered.wait(30)
    queued = [writer.submit(n) for n in rest]
    store.gate.set()
    return first, queued


def test_commands_queued_meanwhile_share_one_group_and_are_answered_in_order() -> None:
    store = FakeStore()
    writer = held_writer(store)
    first, rest = queued_behind(store, writer, 2, 3, -4, 5)
    assert [f.result(30) for f in (first, rest[0], rest[1], rest[3])] == [10, 20, 30, 50]
    with pytest.raises(ValueError):
        rest[2].result(30)
    writer.close()
    assert store.committed == [[1], [2, 3, 5]]
    assert (writer.groups, writer.commands) == (2, 5)


def test_a_group_that_fails_whole_is_rerun_one_by_one_so_only_the_bad_command_fails() -> None:
    store = FakeStore()
    writer = held_writer(store)
    first, rest = queued_behind(store, writer, 2, 13, 4)
    assert first.result(30) == 10
    assert [rest[0].result(30), rest[2].result(30)] == [20, 40]
    with pytest.raises(RuntimeError, match="unlucky"):
        rest[1].result(30)
    writer.close()
    assert store.committed == [[1], [2], [4]]


def test_a_group_whose_commit_was_cut_off_is_not_rerun_and_each_caller_is_told() -> None:
    store = FakeStore()
    writer = held_writer(store)
    first, rest = queued_behind(store, writer, 2, 99, 4)
    assert first.result(30) == 10
    for future in rest:
        with pytest.raises(CommitOutcomeUnknown):
            future.result(30)
    writer.close()
    assert store.committed == [[1], [2, 99, 4]]  # once: run again, 2 and 4 would be twice


def test_a_group_never_exceeds_its_weight() -> None:
    store = FakeStore()
    writer = held_writer(store, weight=lambda n: n, max_weight=5)
    first, futures = queued_behind(store, writer, 2, 2, 2, 9)
    assert [f.result(30) for f in futures] == [20, 20, 20, 90]
    writer.close()
    assert first.result(30) == 10
    assert store.committed == [[1], [2, 2], [2], [9]]


def test_the_broken_variant_answers_before_its_commit() -> None:
    store = FakeStore()
    store.gate.set()
    writer = held_writer(store, answer_before_commit=True)
    seen: list[int] = []

    def commit_count_when_answered(_: Any) -> None:
        seen.append(len(store.committed))

    future = writer.submit(1)
    future.add_done_callback(commit_count_when_answered)
    assert future.result(30) == 10
    writer.close()
    assert seen == [0]  # answered while nothing was committed yet: what the crash test catches
