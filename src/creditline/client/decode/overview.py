"""The dashboard's overview of an organization."""

from __future__ import annotations

from datetime import date

from creditline.client.decode._common import Doc, maybe_when, when
from creditline.client.decode.credits import balance
from creditline.domain.grants import GrantKind
from creditline.domain.overview import BurnDay, CycleProgress, ExpiringCredits, Overview
from creditline.domain.plans import DepletionPolicy


def cycle_progress(d: Doc | None) -> CycleProgress | None:
    if d is None:
        return None
    return CycleProgress(
        d["plan"], d["index"], when(d["start"]), when(d["end"]),
        maybe_when(d["next_renewal_at"]), d["elapsed_seconds"], d["total_seconds"],
    )  # fmt: skip


def expiring_credits(d: Doc) -> ExpiringCredits:
    return ExpiringCredits(
        d["grant_id"], GrantKind(d["kind"]), d["remaining_micros"], when(d["expires_at"])
    )


def burn_day(d: Doc) -> BurnDay:
    return BurnDay(date.fromisoformat(d["day"]), d["closing_micros"], d["burnt_micros"])


def overview(d: Doc) -> Overview:
    depletes_on = d["depletes_on"]
    return Overview(
        org_id=d["org_id"],
        as_of=when(d["as_of"]),
        balance=balance(d["balance"]),
        by_kind=tuple((GrantKind(k), v) for k, v in d["by_kind_micros"].items()),
        expiring=tuple(expiring_credits(e) for e in d["expiring"]),
        depletion=DepletionPolicy(d["depletion"]),
        read_only=d["read_only"],
        paused=d["paused"],
        on_flex=d["on_flex"],
        flex_used=d["flex_used_micros"],
        flex_limit=d["flex_limit_micros"],
        cycle=cycle_progress(d["cycle"]),
        burn_down=tuple(burn_day(p) for p in d["burn_down"]),
        burn_rate=d["burn_rate_micros"],
        depletes_on=None if depletes_on is None else date.fromisoformat(depletes_on),
    )
