"""Statements of the hot paths, run on the driver's own connection.

Recording usage, reserving and debiting run a handful of statements per transaction.
Through SQLAlchemy Core each one costs more to build, compile and process than the
database takes to run it (about 70 µs against 10 µs on SQLite), so these paths write
their SQL once, as text, and run it on the DB-API connection of the unit of work's
transaction (the same transaction: nothing else changes about atomicity).

One statement text serves both databases: ``?`` marks a parameter (psycopg gets
``%s``), and ``IN_LIST`` marks "is one of a list given as one parameter"
(``IN (SELECT value FROM json_each(?))`` on SQLite, ``= ANY(%s)`` on PostgreSQL), so
the text never changes with the list's length and stays in the driver's statement
cache. Timestamps go in and come out in the columns' own storage forms (see
:class:`creditline.adapters.db.tables.UTCDateTime`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from creditline.domain.errors import CommitOutcomeUnknown

from .records import aware, stored_json

__all__ = ["IN_LIST", "Raw", "Sql", "commit_lost", "first_line"]

IN_LIST = "{in_list}"

_IDLE = TransactionStatus.IDLE

_FEW = 8
"""Up to this many rows, PostgreSQL gets an INSERT rather than a COPY."""


class Sql:
    """One statement's text for each database."""

    __slots__ = ("lite", "pg")

    def __init__(self, text: str, pg: str | None = None) -> None:
        """``text`` for both databases, or for SQLite only when ``pg`` is given."""
        pg = text if pg is None else pg
        assert "%" not in text + pg, "psycopg would read % as a parameter"
        self.lite = text.replace(IN_LIST, "IN (SELECT value FROM json_each(?))")
        self.pg = pg.replace(IN_LIST, "= ANY(?)").replace("?", "%s")


def _named(cursor: Any) -> list[dict[str, Any]]:
    """A query's rows, each a mapping of its result columns' names; the cursor closed."""
    names = [column[0] for column in cursor.description]
    found = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    cursor.close()
    return found


class Raw:
    """The driver connection of a SQLAlchemy connection's transaction."""

    __slots__ = ("_dbapi", "_times", "postgres")

    def __init__(self, conn: Connection) -> None:
        self._dbapi: Any = conn.connection.driver_connection
        self.postgres = conn.dialect.name == "postgresql"
        self._times: dict[datetime, Any] = {}

    def records(self, sql: Sql, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """The rows of a query, each a mapping of its result columns' names (a statement
        names a column it computes or takes through a join with ``AS``)."""
        return _named(self._dbapi.execute(sql.pg if self.postgres else sql.lite, params))

    def records_together(
        self, queries: Sequence[tuple[Sql, Sequence[Any]]], *, begin: bool = False
    ) -> list[list[dict[str, Any]]]:
        """The rows of several queries, run in order (as :meth:`records`): on PostgreSQL
        sent in one pipeline, one round trip for all of them.

        ``begin``: these are the transaction's first statements. On PostgreSQL its
        ``BEGIN`` then goes in the same pipeline, where psycopg would wait for it alone
        (see :meth:`_own_begin`)."""
        if not self.postgres:
            return [self.records(sql, params) for sql, params in queries]
        dbapi = self._dbapi
        opening = begin and self._own_begin()
        with dbapi.pipeline():
            if opening:
                dbapi.execute("BEGIN", prepare=False).close()
            cursors = [dbapi.execute(sql.pg, params) for sql, params in queries]
        return [_named(cursor) for cursor in cursors]

    def _own_begin(self) -> bool:
        """Take the start of the transaction from psycopg (PostgreSQL); whether taken.

        psycopg starts a transaction by itself before the first statement, and in a
        pipeline it then waits for the ``BEGIN``'s answer: one round trip more. So the
        connection is switched to autocommit, where psycopg sends nothing of its own,
        and the caller sends the ``BEGIN`` ahead of its statements, in their pipeline;
        the transaction is then the server's, and ``commit()``/``rollback()`` end it as
        before (psycopg sends them whenever the server is in a transaction). The pool
        switches the connection back when it is returned
        (``engine._restore_transactions``). The switch is made before the pipeline
        opens: inside one, psycopg would ask the server first. Not taken where a
        transaction is already under way."""
        dbapi = self._dbapi
        if dbapi.autocommit or dbapi.info.transaction_status != _IDLE:
            return False
        dbapi.autocommit = True
        return True

    @property
    def began_here(self) -> bool:
        """Whether this transaction's ``BEGIN`` was sent in a pipeline
        (:meth:`records_together`), so that its ``COMMIT`` may be sent the same way
        (:meth:`pipeline`)."""
        return self.postgres and bool(self._dbapi.autocommit)

    def rows(self, sql: Sql, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """The rows of a query, as tuples in the order of its columns."""
        cursor = self._dbapi.execute(sql.pg if self.postgres else sql.lite, params)
        found = [tuple(row) for row in cursor.fetchall()]
        cursor.close()
        return found

    def stream(
        self, sql: Sql, params: Sequence[Any], size: int, pg_types: Sequence[str]
    ) -> Iterator[tuple[Any, ...]]:
        """The rows of a query, for results too large to hold: on PostgreSQL through
        ``COPY (query) TO STDOUT`` inside the transaction, its columns read as
        ``pg_types`` (one round trip, about 1.5 times a server-side cursor's rate); on
        SQLite, ``size`` rows at a time from its own cursor."""
        if self.postgres:
            with (
                self._dbapi.cursor() as cursor,
                cursor.copy(f"COPY ({sql.pg}) TO STDOUT", params) as copy,
            ):
                copy.set_types(list(pg_types))
                yield from copy.rows()
            return
        cursor = self._dbapi.execute(sql.lite, params)
        try:
            while batch := cursor.fetchmany(size):
                yield from batch
        finally:
            cursor.close()

    def run(self, sql: Sql, params: Sequence[Any] = ()) -> int:
        """Run a statement; the number of rows it changed."""
        cursor = self._dbapi.execute(sql.pg if self.postgres else sql.lite, params)
        count: int = cursor.rowcount
        cursor.close()
        return count

    def many(self, sql: Sql, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        if len(rows) == 1:  # one round trip (psycopg's executemany syncs a pipeline)
            self._dbapi.execute(sql.pg if self.postgres else sql.lite, rows[0]).close()
            return
        cursor = self._dbapi.cursor()
        try:
            cursor.executemany(sql.pg if self.postgres else sql.lite, rows)
        finally:
            cursor.close()

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Insert rows in one round trip: ``COPY`` on PostgreSQL, ``executemany`` on SQLite."""
        if not rows:
            return
        names = ", ".join(columns)
        if self.postgres and self.pipelined and len(rows) > _FEW:  # no COPY in a pipeline
            marks = ",".join(["%s"] * len(columns))
            with self._dbapi.cursor() as cursor:
                cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)
            return
        if self.postgres and len(rows) <= _FEW:
            # COPY (and a pipelined executemany) cost several round trips: a few rows go
            # in one multi-row INSERT, one round trip.
            marks = "(" + ",".join(["%s"] * len(columns)) + ")"
            values = ",".join([marks] * len(rows))
            flat = [value for row in rows for value in row]
            self._dbapi.execute(f"INSERT INTO {table} ({names}) VALUES {values}", flat).close()
            return
        if self.postgres:
            with (
                self._dbapi.cursor() as cursor,
                cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
            return
        marks = ",".join("?" * len(columns))
        cursor = self._dbapi.cursor()
        try:
            cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)
        finally:
            cursor.close()

    @property
    def pipelined(self) -> bool:
        """Whether the connection is in psycopg's pipeline mode (statements are sent
        without waiting for their results; errors come at the pipeline's end)."""
        return getattr(self._dbapi, "_pipeline", None) is not None

    def pipeline(self, *, commit: bool = False) -> AbstractContextManager[Any]:
        """Send the statements of the block in one go (PostgreSQL; nothing on SQLite).

        ``commit``: the block holds the transaction's last statements, and its
        ``COMMIT`` is sent behind them, in the same round trip. Only where the
        transaction began in a pipeline (:attr:`began_here`), and only when the block
        ends without an error: a statement that fails makes the server skip the rest of
        the pipeline, the ``COMMIT`` too, and the error is raised at the block's end; the
        transaction is then rolled back as any other. The unit of work's own commit
        afterwards finds nothing left to commit."""
        if commit and self.began_here:
            return self._committing()
        return self._dbapi.pipeline() if self.postgres else nullcontext()

    @contextmanager
    def _committing(self) -> Iterator[None]:
        sent = False
        try:
            with self._dbapi.pipeline():
                yield
                self._dbapi.execute("COMMIT", prepare=False).close()
                sent = True
        except psycopg.Error as exc:
            if sent and commit_lost(exc):
                raise CommitOutcomeUnknown(first_line(exc)) from exc
            raise

    def in_list(self, values: Sequence[Any]) -> Any:
        """The parameter for an ``IN_LIST``."""
        return list(values) if self.postgres else json.dumps(list(values))

    def when(self, moment: datetime) -> Any:
        """An aware timestamp in its storage form: UTC text on SQLite, as is on PostgreSQL.

        Each distinct instant is converted once (a batch's rows share a few).
        """
        if self.postgres:
            return moment
        stored = self._times.get(moment)
        if stored is None:
            naive = moment.astimezone(UTC).replace(tzinfo=None)
            stored = self._times[moment] = naive.isoformat(" ", "microseconds")
        return stored

    read_when = staticmethod(aware)
    """A stored timestamp, back as an aware UTC datetime."""

    read_json = staticmethod(stored_json)
    """A stored JSON value (SQLite keeps the text, psycopg parses it)."""

    def json(self, value: Any) -> str:
        return json.dumps(value, separators=(",", ":"))


_LOST_SESSION = frozenset({"57P01", "57P02", "57P03"})
"""Server shutting down or ending the session (admin_shutdown, crash_shutdown,
cannot_connect_now): it answers no more."""


def commit_lost(error: BaseException) -> bool:
    """Whether a PostgreSQL error raised while a ``COMMIT`` was on its way (the driver's,
    or SQLAlchemy's wrapping it) leaves the commit's outcome unknown: the connection
    broke (no SQLSTATE, a connection exception, the session ended), so the server may
    have committed before the answer was lost. An error the server sent about the
    statements (a constraint, a serialization failure) means the transaction was rolled
    back."""
    if isinstance(error, DBAPIError):
        return error.connection_invalidated or (error.orig is not None and commit_lost(error.orig))
    if not isinstance(error, psycopg.Error):
        return False
    state = error.sqlstate
    return state is None or state.startswith("08") or state in _LOST_SESSION


def first_line(error: BaseException) -> str:
    """The first line of an error's message (a driver's runs over several), or its
    class's name when it has none."""
    text = str(error.orig if isinstance(error, DBAPIError) else error).strip()
    return text.splitlines()[0] if text else type(error).__name__
