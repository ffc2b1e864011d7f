from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from creditline import Creditline, ManualClock
from tests.databases import database

# The session fails unless every collected test ran (see tests/collection_guard.py).
pytest_plugins = ["tests.collection_guard"]

settings.register_profile("default", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("default")

T0 = datetime(2026, 1, 1, tzinfo=UTC)

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database of each kind: SQLite and PostgreSQL."""
    with database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def cl(db_url: str, clock: ManualClock) -> Iterator[Creditline]:
    engine = Creditline.open(db_url, clock=clock)
    yield engine
    engine.close()
