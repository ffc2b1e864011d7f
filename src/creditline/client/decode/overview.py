"""The dashboard's overview of an organization."""

from __future__ import annotations

from creditline.client.decode._common import Doc, record
from creditline.domain.grants import GrantKind
from creditline.domain.overview import BurnDay, CycleProgress, ExpiringCredits, Overview


def cycle_progress(d: Doc | None) -> CycleProgress | None:
    return None if d is None else record(CycleProgress, d)


def expiring_credits(d: Doc) -> ExpiringCredits:
    return record(ExpiringCredits, d)


def burn_day(d: Doc) -> BurnDay:
    return record(BurnDay, d)


def overview(d: Doc) -> Overview:
    """The overview (its credits by kind, in the answer a map, are pairs)."""
    by_kind = tuple((GrantKind(k), v) for k, v in d["by_kind_micros"].items())
    return record(Overview, d, by_kind=by_kind)
