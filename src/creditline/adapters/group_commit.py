"""Group commit: one writer thread per database per process (RELIABILITY rule 11).

Callers :meth:`GroupWriter.submit` a command and get a future. The writer thread takes
every command queued so far (up to a group's weight), hands them in arrival order to
the ``apply`` function it was made with (one transaction, one commit, retried whole on
transient failures by that function) and answers each future with its command's own
answer once ``apply`` has returned, that is once the commit is durable. So concurrent
callers share one commit (one fsync) without any of them being answered early.

A group that fails as a whole for a reason that is not transient (an unexpected error
in one command, an integrity error) is re-run one command at a time, so only the bad
command fails and every other is applied and answered as if alone. But a group whose
commit was cut off (:class:`CommitOutcomeUnknown`: the connection broke while the
``COMMIT`` was on its way) may be stored: running it again could apply a command without
an idempotency key twice, so every caller of the group gets that error, to send its
command again under the same idempotency key or event id.

``answer_before_commit`` is a deliberately broken variant for the crash tests: it
answers the callers before the commit and then waits a little before committing, so
that a process killed in that window loses writes it acknowledged. Nothing but a test
may switch it on.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any, Generic, Protocol, TypeVar

from creditline.domain.errors import CommitOutcomeUnknown

__all__ = ["Answered", "GroupWriter"]

C = TypeVar("C")


class Answered(Protocol):
    """What ``apply`` returns per command: a value, or the error the call raises."""

    @property
    def value(self) -> Any: ...
    @property
    def error(self) -> BaseException | None: ...


Apply = Callable[[Sequence[C], Callable[[Sequence[Answered]], None] | None], Sequence[Answered]]

_STOP = object()


class GroupWriter(Generic[C]):
    """A thread that applies queued commands in groups (see the module docstring).

    Args:
        apply: ``apply(commands, before_commit)`` runs one group in one transaction and
            returns an answer per command; it calls ``before_commit(answers)`` (when
            given) after writing and before committing.
        weight: how much of a group a command takes (its events, its debits).
        max_weight: the most a group takes (a command heavier than that is a group
            of its own).
        name: the thread's name.
        answer_before_commit: the broken variant (tests only).
    """

    def __init__(
        self,
        apply: Apply[C],
        *,
        weight: Callable[[C], int] = lambda _: 1,
        max_weight: int = 10_000,
        name: str = "creditline-writer",
        answer_before_commit: bool = False,
    ) -> None:
        self._apply = apply
        self._weight = weight
        self._max_weight = max_weight
        self._early = answer_before_commit
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._held: tuple[C, Future[Any]] | None = None
        self._lock = threading.Lock()
        self._closed = False
        self.groups = 0
        """Groups committed (or answered) so far: commands / groups is the sharing."""
        self.commands = 0
        self.pid = os.getpid()
        """The process the thread runs in (a forked child must make its own writer)."""
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def submit(self, command: C) -> Future[Any]:
        """Queue ``command``; the future is answered once its group is committed."""
        future: Future[Any] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("the writer is closed")
            self._queue.put((command, future))
        return future

    def close(self) -> None:
        """Apply what is queued, then stop the thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(_STOP)
        if threading.current_thread() is not self._thread:
            self._thread.join()

    # -- the writer thread ---------------------------------------------------------------

    def _take(self) -> tuple[list[tuple[C, Future[Any]]], bool]:
        """The next group, in arrival order; and whether to stop after it."""
        first = self._held if self._held is not None else self._queue.get()
        self._held = None
        if first is _STOP:
            return [], True
        group = [first]
        total = self._weight(first[0])
        while total < self._max_weight:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _STOP:
                return group, True
            heavy = self._weight(item[0])
            if total + heavy > self._max_weight:
                self._held = item
                break
            group.append(item)
            total += heavy
        return group, False

    def _loop(self) -> None:
        while True:
            group, stop = self._take()
            live = [(c, f) for c, f in group if f.set_running_or_notify_cancel()]
            if live:
                self._run(live)
            if stop:
                return

    def _run(self, group: list[tuple[C, Future[Any]]]) -> None:
        commands = [c for c, _ in group]
        futures = [f for _, f in group]
        answered = False

        def early(answers: Sequence[Answered]) -> None:
            nonlocal answered
            answered = True
            _answer(futures, answers)
            time.sleep(0.05)  # widen the window a crash can fall into

        try:
            answers = self._apply(commands, early if self._early else None)
        except BaseException as exc:  # every caller must be answered, whatever failed
            if answered:
                return
            if len(group) == 1 or isinstance(exc, CommitOutcomeUnknown):
                for future in futures:  # a cut-off commit may be stored: no re-run
                    _fail(future, exc)
                return
            for item in group:  # alone, so only the bad command fails
                self._run([item])
            return
        self.groups += 1
        self.commands += len(group)
        if not answered:
            _answer(futures, answers)


def _answer(futures: Sequence[Future[Any]], answers: Sequence[Answered]) -> None:
    for future, answer in zip(futures, answers, strict=True):
        if answer.error is not None:
            _fail(future, answer.error)
        else:
            future.set_result(answer.value)


def _fail(future: Future[Any], exc: BaseException) -> None:
    if isinstance(exc, Exception):
        future.set_exception(exc)
    else:  # KeyboardInterrupt and the like: the caller still gets an answer
        future.set_exception(RuntimeError(f"the writer was interrupted: {exc!r}"))
