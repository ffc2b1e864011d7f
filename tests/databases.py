"""Test databases: a fresh SQLite file or a fresh PostgreSQL schema per test.

PostgreSQL is reached at ``CREDITLINE_TEST_POSTGRES_URL`` (default
``postgresql://127.0.0.1:5432/test``). When the server is missing, PostgreSQL tests
fail; they are skipped only when ``CREDITLINE_SKIP_POSTGRES=1`` is set outside CI.
"""

from __future__ import annotations

import functools
import os
import secrets
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

POSTGRES_URL = os.environ.get("CREDITLINE_TEST_POSTGRES_URL", "postgresql://127.0.0.1:5432/test")


def _conninfo() -> str:
    url = make_url(POSTGRES_URL)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def postgres_unavailable_reason() -> str | None:
    try:
        with psycopg.connect(_conninfo(), connect_timeout=5):
            return None
    except psycopg.Error as exc:
        return f"PostgreSQL at {POSTGRES_URL} is unreachable: {exc}"


def skip_postgres_allowed() -> bool:
    return os.environ.get("CREDITLINE_SKIP_POSTGRES") == "1" and not os.environ.get("CI")


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A new empty schema; yields a database URL whose connections use it."""
    reason = postgres_unavailable_reason()
    if reason:
        if skip_postgres_allowed():
            pytest.skip(reason)
        pytest.fail(reason + " (set CREDITLINE_SKIP_POSTGRES=1 to skip outside CI)")
    schema = f"t_{secrets.token_hex(6)}"
    with psycopg.connect(_conninfo(), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = make_url(POSTGRES_URL).set(
        drivername="postgresql+psycopg", query={"options": f"-csearch_path={schema}"}
    )
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(_conninfo(), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@contextmanager
def database(kind: str, tmp_path: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'creditline.db'}"
    else:
        with postgres_schema() as url:
            yield url


@functools.cache
def _sqlite_template() -> Path:
    """A SQLite file at the newest schema, made once per test process."""
    from creditline import Creditline

    path = Path(tempfile.mkdtemp(prefix="creditline-template-")) / "template.db"
    Creditline.open(f"sqlite:///{path}").close()
    return path


def migrated(db_url: str) -> str:
    """``db_url``, with its SQLite file (when it does not exist yet) already at the newest
    schema: a copy of one migrated template instead of the migrations run again for
    every test. PostgreSQL URLs are returned as they are (migrated when opened)."""
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite" and url.database:
        target = Path(url.database)
        if not target.exists():
            with sqlite3.connect(_sqlite_template()) as source, sqlite3.connect(target) as copy:
                source.backup(copy)
            # a connection's ``with`` commits; it does not close
            source.close()
            copy.close()
    return db_url
