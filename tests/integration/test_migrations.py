import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from creditline import Creditline
from creditline.adapters.db.engine import make_engine
from creditline.adapters.db.migrate import (
    alembic_config,
    current_revision,
    head_revision,
    upgrade,
)
from creditline.adapters.db.tables import metadata
from creditline.domain.errors import SchemaOutOfDate


def test_migrations_build_exactly_the_declared_schema(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        with engine.connect() as conn:
            differences = compare_metadata(MigrationContext.configure(conn), metadata)
        assert differences == []
    finally:
        engine.dispose()


def test_upgrade_twice_is_harmless_and_downgrade_empties_the_schema(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        upgrade(engine)
        upgrade(engine)
        config = alembic_config()
        with engine.connect() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "base")
        tables = set(inspect(engine).get_table_names()) - {"alembic_version"}
        assert tables == set()
    finally:
        engine.dispose()


def test_opening_without_migrating_refuses_a_schema_behind_the_code(db_url: str) -> None:
    with pytest.raises(SchemaOutOfDate) as caught:
        Creditline.open(db_url, migrate=False)
    assert caught.value.head == head_revision()
    assert caught.value.current is None
