"""Group commit under load: 4 processes of 16 threads each reserving, committing,
recording usage and spending (each keyed debit sent twice) against one organization,
on SQLite and PostgreSQL. No overdraw, every acknowledged write durable and charged
once, each idempotency key charged once, ``verify`` clean, and commits shared.

The deliberately broken writer (answering before its commit) is caught by the crash
test against a live server (tests/e2e/test_crash_ingest.py), where a lost
acknowledged write can be seen.
"""

from __future__ import annotations

import pytest

from creditline import Creditline, credits
from tests.concurrency import run
from tests.group_commit import GroupJob, check_group_promises
from tests.metering import card_doc

PROCESSES = 4
THREADS = 16
OPS = 6
GRANTED = credits(250)  # less than the ~384 operations ask: some are refused

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("concurrency")]


def test_threads_and_processes_share_commits_and_keep_every_promise(db_url: str) -> None:
    with Creditline.open(db_url) as cl:
        cl.load_rate_card(card_doc())
        org = cl.create_org("Contended").id
        cl.grant(org, GRANTED)

    result = run(db_url, GroupJob(org, THREADS, OPS), PROCESSES)

    assert result.overlapped, result.describe()
    with Creditline.open(db_url, migrate=False) as cl:
        check_group_promises(result, cl, org, GRANTED)
    assert result.refused > 0, result.describe()  # the credits did run out
    commands, groups = result.total("commands"), result.total("groups")
    assert commands > groups, f"no commit was shared: {commands} commands in {groups} groups"
