"""Test databases: a fresh SQLite file or a fresh PostgreSQL schema per test.

PostgreSQL is reached at ``CREDITLINE_TEST_POSTGRES_URL`` (default
``postgresql://127.0.0.1:5432/test``). When the server is missing, PostgreSQL tests
fail; they are skipped only when ``CREDITLINE_SKIP_POSTGRES=1`` is set outside CI.
"""

from __future__ import annotations

import functools
import os
import secrets
import shutil
import sqlite3
import subprocess
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


_NAME = "t_template_schema_name"
"""Stands for the schema's name in :func:`_postgres_template`'s script."""


@functools.cache
def _postgres_template() -> str | None:
    """The script that makes a PostgreSQL schema at the newest revision (its tables,
    keys, sequences and revision row), the schema's name written :data:`_NAME`: made
    once per test process by the migrations and read back by ``pg_dump``. ``None``
    where ``pg_dump`` is missing or cannot read the server (each schema is then
    migrated when opened, as before)."""
    from creditline import Creditline

    if shutil.which("pg_dump") is None:
        return None
    with postgres_schema() as url:
        Creditline.open(url).close()
        schema = _schema_of(url)
        dumped = subprocess.run(
            ["pg_dump", "--schema", schema, "--inserts", "--no-owner", "--no-privileges",
             _conninfo()],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    if dumped.returncode != 0:
        return None
    # psql's meta-commands (pg_dump's ``\restrict``) are not SQL: no psql runs this.
    lines = [line for line in dumped.stdout.splitlines() if not line.startswith("\\")]
    return "\n".join(lines).replace(schema, _NAME)


def _schema_of(url: str) -> str:
    """The schema of a URL made by :func:`postgres_schema` (its ``search_path``)."""
    return str(make_url(url).query["options"]).removeprefix("-csearch_path=")


def migrated(db_url: str) -> str:
    """``db_url``, already at the newest schema when it is new, instead of the
    migrations run again for every test (``tests/integration/test_migrations.py`` runs
    them): a SQLite file that does not exist yet becomes a copy of one migrated
    template, and an empty PostgreSQL schema of :func:`postgres_schema` is made by the
    script of one (about a third of the migrations' time)."""
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite" and url.database:
        target = Path(url.database)
        if not target.exists():
            with sqlite3.connect(_sqlite_template()) as source, sqlite3.connect(target) as copy:
                source.backup(copy)
            # a connection's ``with`` commits; it does not close
            source.close()
            copy.close()
    elif url.get_backend_name() == "postgresql" and "options" in url.query:
        script = _postgres_template()
        if script is not None:
            _make_schema(_schema_of(db_url), script)
    return db_url


def _make_schema(schema: str, script: str) -> None:
    """Make ``schema`` by ``script`` when it holds no table yet (in one transaction)."""
    with psycopg.connect(_conninfo(), autocommit=True) as conn:
        found = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = %s", [schema]
        ).fetchone()
        if found is None or found[0] > 0:
            return
        with conn.transaction():
            conn.execute(f'DROP SCHEMA "{schema}"')
            conn.execute(script.replace(_NAME, schema).encode())
