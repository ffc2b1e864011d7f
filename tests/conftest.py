from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from creditline import Creditline, ManualClock
from tests.databases import database, migrated
from tests.live import ALLOW_NETWORKS_ENV, LOCAL_NETWORKS

# The tests' webhook receivers listen on the loopback, which a server refuses to send to
# by default: every engine, CLI call and live server of the suite allows it (a test about
# refusals opens its engine with webhook_allow_networks=() instead).
os.environ[ALLOW_NETWORKS_ENV] = LOCAL_NETWORKS

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
    engine = Creditline.open(migrated(db_url), clock=clock)
    yield engine
    engine.close()
