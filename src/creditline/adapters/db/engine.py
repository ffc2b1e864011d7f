"""Opening a database: SQLite by a file path (the default) or PostgreSQL by a URL.

SQLite runs in WAL mode with ``synchronous=FULL`` (a commit survives power loss) and
every write transaction starts with ``BEGIN IMMEDIATE``, which takes the database's
write lock up front: two writers never both read a balance and then both write.
Read-only transactions use a plain deferred ``BEGIN`` and, in WAL mode, never block
writers.

PostgreSQL runs through psycopg 3 at READ COMMITTED; a money movement locks the
organization's balance row (``SELECT ... FOR UPDATE``) before it reads anything else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from creditline.adapters.db.checkpoint import AUTOCHECKPOINT_PAGES
from creditline.domain.errors import ConfigurationError, InvalidDatabaseUrl

__all__ = ["READ_ONLY", "make_engine", "normalize_url", "redact"]

READ_ONLY = "creditline_read_only"
"""Execution option: a transaction that only reads (SQLite starts it deferred)."""

_BUSY_TIMEOUT_MS = 60_000


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
        cursor.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        # Checkpoints run in the background (checkpoint.py); this is only the safety net.
        cursor.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_PAGES}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

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
    return create_engine(parsed, **options)
