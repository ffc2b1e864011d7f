"""Schema migrations with Alembic, run from inside creditline (no alembic.ini needed)."""

from __future__ import annotations

import functools

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from creditline.domain.errors import SchemaOutOfDate

__all__ = ["alembic_config", "current_revision", "ensure_current", "head_revision", "upgrade"]


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", "creditline.adapters.db:migrations")
    return config


@functools.cache
def head_revision() -> str:
    """The newest revision the code knows (read once per process)."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> str:
    """Bring the schema to the newest revision; safe to run from several processes.

    A schema already at the newest revision is left alone without loading the
    migrations (every CLI command and server start opens the database this way)."""
    if current_revision(engine) == head_revision():
        return head_revision()
    config = alembic_config()
    with engine.connect() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
    return head_revision()


def ensure_current(engine: Engine) -> None:
    current, head = current_revision(engine), head_revision()
    if current != head:
        raise SchemaOutOfDate(current, head)
