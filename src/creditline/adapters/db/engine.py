"""Opening a database: SQLite by a file path (the default) or PostgreSQL by a URL.

SQLite runs in WAL mode with ``synchronous=FULL`` (a commit survives power loss) and
every write transaction starts with ``BEGIN IMMEDIATE``, which takes the database's
write lock up front: two writers never both read a balance and then both write.
Within one process, writers also queue first-come first-served on a :class:`WriterQueue`
before ``BEGIN IMMEDIATE``: SQLite's own busy handler retries by sleeping (up to 100 ms a
try), so under contention a waiter could lose to newcomers again and again; the queue
hands the lock over in arrival order, and SQLite's lock is then only contended by other
processes.
Read-only transactions use a plain deferred ``BEGIN`` and, in WAL mode, never block
writers.

PostgreSQL runs through psycopg 3 at READ COMMITTED; a money movement locks the
organization's balance row (``SELECT ... FOR UPDATE``) before it reads anything else.
"""

from __future__ import annotations

import threading
import weakref
from collections import deque
from pathlib import Path
from typing import Any

from psycopg.pq import TransactionStatus
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from creditline.adapters.db.checkpoint import AUTOCHECKPOINT_PAGES
from creditline.domain.errors import ConfigurationError, InvalidDatabaseUrl

__all__ = [
    "BUSY_TIMEOUT_MS",
    "READ_ONLY",
    "WriterQueue",
    "make_engine",
    "normalize_url",
    "redact",
    "writer_queue",
]

READ_ONLY = "creditline_read_only"
"""Execution option: a transaction that only reads (SQLite starts it deferred)."""

BUSY_TIMEOUT_MS = 60_000


class WriterQueue:
    """A first-come first-served lock: :meth:`acquire` waits behind every earlier
    caller, and :meth:`release` hands the lock straight to the longest waiter."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._held = False
        self._waiters: deque[threading.Lock] = deque()

    def acquire(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the lock; ``False`` if it did not come."""
        with self._mutex:
            if not self._held:
                self._held = True
                return True
            turn = threading.Lock()
            turn.acquire()
            self._waiters.append(turn)
        if turn.acquire(timeout=timeout):
            return True
        with self._mutex:
            if turn in self._waiters:
                self._waiters.remove(turn)
                return False
        # Handed over between the timeout and the check: it is ours after all.
        return True

    def release(self) -> None:
        with self._mutex:
            if self._waiters:
                self._waiters.popleft().release()  # the lock passes on, still held
            else:
                self._held = False


_QUEUES: weakref.WeakKeyDictionary[Engine, WriterQueue] = weakref.WeakKeyDictionary()


def writer_queue(engine: Engine) -> WriterQueue | None:
    """The queue this process's writers of ``engine`` take before ``BEGIN IMMEDIATE``
    (SQLite), or ``None`` (PostgreSQL locks rows, not the database)."""
    return _QUEUES.get(engine)


def redact(url: str) -> str:
    """The URL with any password hidden, for messages and logs."""
    if "://" not in url:
        return url  # a bare file path has no password
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


def normalize_url(url: str | Path) -> URL:
    """Accept ``sqlite:///path``, ``postgresql://...`` or a bare file path.

    Raises:
        InvalidDatabaseUrl: for anything else, with the reason.
    """
    text = str(url).strip()
    if not text:
        raise InvalidDatabaseUrl(text, "empty")
    if "://" not in text:
        if text.startswith(("postgres", "sqlite", "mysql")) or ":" in text.split("/")[0]:
            raise InvalidDatabaseUrl(redact(text), "expected a file path or a scheme://... URL")
        return URL.create("sqlite", database=str(Path(text).expanduser()))
    try:
        parsed = make_url(text)
    except ArgumentError as exc:
        raise InvalidDatabaseUrl(redact(text), "not a database URL") from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_url(parsed, text)
    if backend in ("postgresql", "postgres"):
        return _postgres_url(parsed, text)
    raise InvalidDatabaseUrl(
        redact(text), f"unsupported database {backend!r}: SQLite or PostgreSQL"
    )


def _sqlite_url(parsed: URL, text: str) -> URL:
    if parsed.drivername not in ("sqlite", "sqlite+pysqlite"):
        raise InvalidDatabaseUrl(redact(text), "use the sqlite:/// scheme")
    if not parsed.database or parsed.database == ":memory:":
        raise InvalidDatabaseUrl(
            redact(text), "SQLite needs a file path (an in-memory database is not durable)"
        )
    return parsed


def _postgres_url(parsed: URL, text: str) -> URL:
    if parsed.drivername not in ("postgresql", "postgres", "postgresql+psycopg"):
        raise InvalidDatabaseUrl(redact(text), "PostgreSQL is reached through psycopg 3")
    if not parsed.database:
        raise InvalidDatabaseUrl(redact(text), "no database name")
    return parsed.set(drivername="postgresql+psycopg")


def _sqlite_engine(url: URL) -> Engine:
    database = url.database
    assert database is not None
    try:
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigurationError(f"cannot create the folder of {database}: {exc.strerror}") from exc
    # A pool of file connections: opening one (and its PRAGMAs) costs more than a debit.
    engine = create_engine(
        url, pool_size=5, max_overflow=10, connect_args={"timeout": 60, "check_same_thread": False}
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin event, not the driver, decide how a transaction starts.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        # Checkpoints run in the background (checkpoint.py); this is only the safety net.
        cursor.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_PAGES}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    _QUEUES[engine] = WriterQueue()
    return engine


def make_engine(url: str | Path, **options: Any) -> Engine:
    """Create the SQLAlchemy engine for ``url`` (see the module docstring)."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed)
    options.setdefault("pool_size", 5)
    options.setdefault("max_overflow", 10)
    # No pre-ping (a round trip per transaction): a connection found dead is invalidated
    # and the whole transaction retried (see uow.is_transient).
    options.setdefault("pool_recycle", 3600)
    engine = create_engine(parsed, **options)
    event.listen(engine, "checkin", _restore_transactions)
    return engine


def _restore_transactions(dbapi_conn: Any, _record: Any) -> None:
    """Give the pool back a connection on which psycopg starts transactions itself.

    A charging group sends its own ``BEGIN`` in its first pipeline, which needs the
    connection in autocommit (``raw.Raw._own_begin``); by the time the connection is
    returned its transaction has ended (the pool rolls back what is left), and the next
    user must find the usual mode."""
    if dbapi_conn is None or dbapi_conn.closed or not dbapi_conn.autocommit:
        return
    if dbapi_conn.info.transaction_status == TransactionStatus.IDLE:
        dbapi_conn.autocommit = False
    else:  # cannot happen after the pool's reset; never hand such a connection out
        dbapi_conn.close()
