"""A commit whose answer never comes back (PostgreSQL).

When the connection breaks after the ``COMMIT`` was sent, the server may have stored the
transaction. Running it again would apply a command without an idempotency key twice,
so the engine retries nothing and raises :class:`CommitOutcomeUnknown` instead.

The tests put a TCP proxy between the engine and the real server. Once armed, it lets
a ``COMMIT`` through, lets the server carry it out, and then closes both sides instead
of passing the server's answer on. So the commit is durable and the engine never hears
of it: the worst case for a retry.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from creditline import Creditline, ManualClock, credits
from creditline.domain.charging import Reserve
from creditline.domain.errors import CommitOutcomeUnknown
from creditline.domain.reservations import ReservationStatus
from tests.conftest import T0
from tests.databases import database, migrated

pytestmark = pytest.mark.postgres

_COMMITTED = b"COMMIT\x00"
"""The tag of the server's CommandComplete for a COMMIT that stored its transaction."""


class CommitCutter:
    """A proxy to PostgreSQL that cuts the connection on the server's answer to a
    ``COMMIT`` (the ``skip`` first ones pass), once :meth:`arm` is called."""

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._skip: int | None = None
        self.cut = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def arm(self, skip: int = 0) -> None:
        with self._lock:
            self._skip = skip

    def close(self) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self._target)
            threading.Thread(target=self._requests, args=(client, server), daemon=True).start()
            threading.Thread(target=self._answers, args=(server, client), daemon=True).start()

    def _requests(self, client: socket.socket, server: socket.socket) -> None:
        _pipe(client, server)

    def _answers(self, server: socket.socket, client: socket.socket) -> None:
        """Pass the server's messages on one by one (a type byte, then a length that
        counts itself), unless one is the awaited COMMIT's answer."""
        pending = b""
        try:
            while data := server.recv(65_536):
                pending += data
                out = bytearray()
                while len(pending) >= 5:
                    size = 1 + int.from_bytes(pending[1:5], "big")
                    if len(pending) < size:
                        break
                    message, pending = pending[:size], pending[size:]
                    if message[:1] == b"C" and message[5:] == _COMMITTED and self._due():
                        client.sendall(out)  # what came before it, and no more
                        self.cut.set()
                        return
                    out += message
                client.sendall(out)
        except OSError:
            pass
        finally:
            _close(client, server)

    def _due(self) -> bool:
        with self._lock:
            if self._skip is None:
                return False
            if self._skip > 0:
                self._skip -= 1
                return False
            self._skip = None
            return True


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65_536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        _close(source, sink)


def _close(*sockets: socket.socket) -> None:
    for sock in sockets:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()


@pytest.fixture
def cut(tmp_path: Path) -> Iterator[tuple[Creditline, CommitCutter, str]]:
    """An engine whose connections go through a :class:`CommitCutter`, and a direct URL
    to the same schema."""
    with database("postgres", tmp_path) as url:
        direct = make_url(migrated(url))
        cutter = CommitCutter(direct.host or "127.0.0.1", direct.port or 5432)
        query = {**direct.query, "sslmode": "disable", "gssencmode": "disable"}
        proxied = direct.set(host="127.0.0.1", port=cutter.port, query=query)
        try:
            with Creditline.open(proxied.render_as_string(False), clock=ManualClock(T0)) as cl:
                yield cl, cutter, direct.set(drivername="postgresql").render_as_string(False)
        finally:
            cutter.close()


def _funded(cl: Creditline) -> str:
    org = cl.create_org("Acme").id
    cl.grant(org, credits(10))
    return org


def test_a_group_whose_commit_answer_is_lost_is_not_run_again(
    cut: tuple[Creditline, CommitCutter, str],
) -> None:
    """Three reserves without keys share a group; its COMMIT is stored and its answer
    lost. Each caller is told the outcome is unknown, and each hold exists once (run
    again one by one, they would have been held twice)."""
    cl, cutter, direct = cut
    org = _funded(cl)
    with psycopg.connect(direct) as blocker:  # holds the organization's lock
        blocker.execute("SELECT 1 FROM balances WHERE org_id = %s FOR UPDATE", [org]).fetchall()
        first = cl.submit(Reserve(org, credits(1)))
        waiting = _wait_for_lock_waiter(blocker)
        assert waiting, "the first reserve never waited for the organization's lock"
        group = [cl.submit(Reserve(org, credits(1))) for _ in range(3)]
        cutter.arm(skip=1)  # the first group's COMMIT passes, the second one's is cut
        blocker.rollback()
    assert first.result(30).amount == credits(1)
    for future in group:
        with pytest.raises(CommitOutcomeUnknown, match="may or may not be stored"):
            future.result(30)
    assert cutter.cut.is_set()
    held = cl.reservations(org, ReservationStatus.OPEN)
    assert len(held) == 4  # the first, and the cut-off group's three, each once
    assert cl.balance(org).available == credits(6)
    assert cl.reserve(org, credits(1)).amount == credits(1)  # the engine goes on
    assert cl.verify().ok


def test_a_keyed_command_sent_again_after_a_lost_commit_is_stored_once(
    cut: tuple[Creditline, CommitCutter, str],
) -> None:
    cl, cutter, _ = cut
    org = _funded(cl)
    cutter.arm()
    with pytest.raises(CommitOutcomeUnknown):
        cl.reserve(org, credits(2), idempotency_key="job-7")
    again = cl.reserve(org, credits(2), idempotency_key="job-7")
    assert [r.id for r in cl.reservations(org, ReservationStatus.OPEN)] == [again.id]
    assert cl.balance(org).available == credits(8)


def test_a_transaction_outside_the_writer_is_not_retried_either(
    cut: tuple[Creditline, CommitCutter, str],
) -> None:
    """A grant commits through the unit of work's own commit (not the writer's
    pipeline): a lost answer there was a retried transient failure, a second grant."""
    cl, cutter, _ = cut
    org = cl.create_org("Acme").id
    cutter.arm()
    with pytest.raises(CommitOutcomeUnknown):
        cl.grant(org, credits(5))
    assert cl.balance(org).available == credits(5)
    assert cl.verify().ok


def _wait_for_lock_waiter(blocker: psycopg.Connection[tuple[object, ...]]) -> bool:
    """Whether another session comes to wait for a lock ``blocker`` holds (within 30 s)."""
    with psycopg.connect(str(blocker.info.dsn), autocommit=True) as watcher:
        for _ in range(300):
            row = watcher.execute(
                "SELECT count(*) FROM pg_locks WHERE NOT granted AND pid <> %s",
                [blocker.info.backend_pid],
            ).fetchone()
            if row is not None and row[0] > 0:
                return True
            threading.Event().wait(0.1)
    return False
