"""Helpers shared by the metering tests: example sets, a small rate card, snapshots.

The small card (named ``default``, so every organization is priced by it without
being assigned a card) has version ``v1`` in force from 2025-12-01, before the test
clock starts (2026-01-01), so late events can be priced by it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from creditline import Cause, CauseType, Creditline, EntryType, LedgerEntry, credits
from creditline.domain.errors import UsageEventNotFound
from creditline.domain.plans import Plan
from creditline.domain.pricing import RateCard
from creditline.domain.usage import EventStatus, StoredUsage
from tests.concurrency import Report, Worker

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
PLATFORMS = ["otai", "aixplain", "datarobot", "ai-engine", "roboflow"]
V1_FROM = datetime(2025, 12, 1, tzinfo=UTC)


def load_example(cl: Creditline, platform: str) -> tuple[RateCard, list[Plan]]:
    """Load ``examples/<platform>/`` (its rate card and its plans) into the engine."""
    folder = EXAMPLES / platform
    card = cl.load_rate_card((folder / "ratecard.toml").read_text(encoding="utf-8"))
    plans = cl.load_plans((folder / "plans.toml").read_text(encoding="utf-8"))
    return card, plans


def card_doc(version: str = "v1", effective_from: datetime = V1_FROM, ping: str = "1") -> dict:
    """The small card: ``ping`` (flat), ``translate`` (10 credits per 1M characters),
    ``render`` (by ``mode``: basic 1, pro 3, max 12 credits) and ``pipeline``."""
    return {
        "name": "default",
        "version": version,
        "effective_from": effective_from.isoformat(),
        "operations": {
            "ping": {"flat": ping},
            "translate": {"per_unit": {"credits": "10", "quantity": "characters", "per": 10**6}},
            "render": {"dimensions": ["mode"], "matrix": {"basic": "1", "pro": "3", "max": "12"}},
            "pipeline": {"pipeline": {"allow": ["ping", "translate"]}},
        },
    }


class Snapshot(NamedTuple):
    """What a rejected input must leave unchanged."""

    total: int
    available: int
    held: int
    entries: list[LedgerEntry]
    events: list[StoredUsage]
    remaining: dict[str, int]


def snapshot(cl: Creditline, org_id: str) -> Snapshot:
    balance = cl.balance(org_id)
    return Snapshot(
        balance.total,
        balance.available,
        balance.held,
        cl.history(org_id, limit=10_000),
        cl.usage_events(org_id, limit=10_000),
        remaining(cl, org_id),
    )


def remaining(cl: Creditline, org_id: str) -> dict[str, int]:
    """Each grant's remaining micro-credits, by grant id."""
    return {g.id: g.remaining for g in cl.grants(org_id)}


def entries_of(cl: Creditline, org_id: str, *types: EntryType) -> list[LedgerEntry]:
    return list(reversed(cl.history(org_id, limit=10_000, types=list(types))))


def plan_doc(name: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, **fields}


# -- a job for the multi-process harness (tests/concurrency.py) ----------------------------


@dataclass(frozen=True)
class RecordJob:
    """Record one same usage event ``sends`` times from each worker, as a client
    retrying on timeouts would. Reports ``accepted`` and ``refused`` (first outcomes),
    the ``duplicate`` answers in totals, each answer's ``cost`` summed, and any other
    answer as an error.

    ``broken`` runs a DELIBERATELY WRONG client-side dedup instead (never copy it):
    look the event up, and if it is not stored yet, charge its price with a plain
    debit, then record it; two workers that look at the same time both charge. It
    exists so the test can show the checker catches a double charge (rule 8).
    """

    org_id: str
    event_id: str
    occurred_at: datetime
    sends: int
    broken: bool = False

    def __call__(self, worker: Worker, report: Report) -> None:
        for n in range(self.sends):
            try:
                if self.broken and n == 0:
                    self._check_then_charge(worker)
                result = worker.cl.record(
                    self.org_id, self.event_id, "translate", {"characters": 1_000_000},
                    occurred_at=self.occurred_at,
                )  # fmt: skip
            except Exception as exc:
                report.error(exc)
                continue
            report.add("cost", result.cost)
            if result.status is EventStatus.ACCEPTED:
                report.accepted += 1
            elif result.status is EventStatus.REFUSED:
                report.refused += 1
            elif result.status is EventStatus.DUPLICATE:
                report.add("duplicate", 1)
            else:
                report.error(result.error or RuntimeError(str(result)))

    def _check_then_charge(self, worker: Worker) -> None:
        try:
            worker.cl.usage_event(self.org_id, self.event_id)
        except UsageEventNotFound:
            time.sleep(BROKEN_WINDOW)
            cause = Cause(CauseType.USAGE_EVENT, self.event_id)
            worker.cl.spend(self.org_id, credits(10), cause=cause)


BROKEN_WINDOW = 0.3
"""Seconds the broken client sleeps between its check and its charge: the workers are
released together, so every one of them sees the event missing."""
