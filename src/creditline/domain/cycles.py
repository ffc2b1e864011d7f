"""Billing cycles and the expiry rules of granted credits (requirements B3, B4, B5, D5).

**A cycle** is a half-open period ``[start, end)`` of UTC instants: an instant equal to
a cycle's end belongs to the next cycle. Cycles are numbered from an anchor: index 0
is the cycle containing the anchor instant, index ``k + 1`` starts exactly where ``k``
ends, and negative indices are the cycles before the anchor.

**The anchor** (:class:`CycleAnchor`) is an instant (the organization's sign-up or
plan start), a kind, and the IANA time zone the boundaries are read in:

- ``calendar``: boundaries at local midnight on the 1st of a month, so a monthly
  cycle runs "from the 1st to the last day of each month" [001] (D5). Cycle 0 is the
  month holding the anchor instant, so it starts before the anchor unless the anchor
  is that midnight. An annual calendar cycle runs twelve months from the 1st of the
  anchor's month.
- ``signup``: boundaries at the anchor's local wall time (day, hour, minute, second,
  microsecond) in every month, the day clamped to the month's length.

**Months are always counted from the original anchor**, never from the previous
boundary, so a cycle never drifts: anchored on Jan 31, cycles start on Feb 28 (29 in
a leap year), Mar 31, Apr 30, May 31... An annual cycle is twelve months by the same
rule: anchored on Feb 29 2024, years start on Feb 28 2025, 2026 and 2027, and on
Feb 29 again in 2028.

**Time zones and daylight saving.** A boundary is a local wall time in the anchor's
zone, converted to UTC (so a Berlin calendar cycle starts at 23:00 or 22:00 UTC the
day before, depending on the season). Two local times need a rule:

- a local time that does not exist (the spring-forward gap) moves forward by the
  length of the gap: 02:30 on the night New York jumps from 02:00 to 03:00 is 03:30
  EDT (07:30 UTC);
- a local time that happens twice (the fall-back fold) is its first occurrence
  (``fold=0``, the earlier UTC instant): 01:30 on the night New York falls back is
  01:30 EDT (05:30 UTC), not 01:30 EST.

That is what :mod:`zoneinfo` does with ``fold=0``, which this module always uses, for
cycle 0 too: an anchor in the second occurrence of a folded hour starts its cycle 0
one hour before the anchor instant (the cycle still contains the anchor).

**Expiry rules** (:class:`ExpiryRule`, B3) say when a granted lot stops being
spendable: ``never`` [003]; ``after`` a fixed term from the grant's effective time
(6 months [000]); at the ``end_of_cycle`` it was granted in [001 standard, 002
included]; or ``rollover`` for N more cycles [001 professional]. :func:`expires_at`
turns a rule into the instant the grant expires. That instant is exclusive, as
everywhere in creditline (``Grant.is_spendable``: ``effective_at <= now <
expires_at``): a grant expiring at ``T`` is spendable at ``T - 1µs`` and not at ``T``.
"""

from __future__ import annotations

import calendar
import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import MAXYEAR, MINYEAR, UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from creditline.domain.errors import InvalidSetting, InvalidTime
from creditline.domain.time import require_aware

__all__ = [
    "AnchorKind",
    "BillingInterval",
    "Cycle",
    "CycleAnchor",
    "ExpiryKind",
    "ExpiryRule",
    "Term",
    "TermUnit",
    "cycle_at",
    "cycle_start",
    "cycles_between",
    "expires_at",
    "nth_cycle",
    "parse_expiry",
    "time_zone",
]


class BillingInterval(enum.StrEnum):
    """How long a cycle lasts: a month, or twelve months (a year)."""

    MONTHLY = "monthly"
    ANNUAL = "annual"

    @property
    def months(self) -> int:
        """The cycle's length in months."""
        return 12 if self is BillingInterval.ANNUAL else 1


class AnchorKind(enum.StrEnum):
    """Where cycle boundaries fall (see the module docstring)."""

    CALENDAR = "calendar"
    SIGNUP = "signup"


def time_zone(name: object) -> tzinfo:
    """The IANA time zone called ``name`` (``"Europe/Berlin"``, ``"UTC"``).

    ``"UTC"`` (every plan's default) is :data:`datetime.UTC` and needs no time zone
    database; other names are read from the system's database (or the ``tzdata``
    package) by :mod:`zoneinfo`.

    Raises:
        InvalidSetting: for anything that is not the name of a zone in the time zone
            database, and for ``"localtime"``, which names the host's zone.
    """
    reason = "must be an IANA time zone name such as 'UTC' or 'Europe/Berlin'"
    if not isinstance(name, str) or not name or name == "localtime":
        raise InvalidSetting("time zone", name, reason)
    if name == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise InvalidSetting("time zone", name, reason) from None


@dataclass(frozen=True, slots=True)
class CycleAnchor:
    """What an organization's cycles are counted from.

    Attributes:
        kind: ``calendar`` or ``signup`` (see the module docstring).
        at: the anchor instant (the sign-up or plan start), stored in UTC.
        time_zone: the IANA zone boundaries are read in; ``"UTC"`` unless said.

    Raises:
        InvalidTime: for a naive ``at``.
        InvalidSetting: for an unknown kind or time zone.
    """

    kind: AnchorKind
    at: datetime
    time_zone: str = "UTC"

    def __post_init__(self) -> None:
        if not isinstance(self.kind, AnchorKind):
            raise InvalidSetting("cycle anchor", self.kind, "one of calendar, signup")
        object.__setattr__(self, "at", require_aware(self.at, "cycle anchor"))
        time_zone(self.time_zone)

    @classmethod
    def calendar(cls, at: datetime, time_zone: str = "UTC") -> CycleAnchor:
        """Cycles on calendar months (from the 1st, local midnight)."""
        return cls(AnchorKind.CALENDAR, at, time_zone)

    @classmethod
    def signup(cls, at: datetime, time_zone: str = "UTC") -> CycleAnchor:
        """Cycles from ``at``'s local day and time of day, in every month."""
        return cls(AnchorKind.SIGNUP, at, time_zone)


@dataclass(frozen=True, slots=True)
class Cycle:
    """One billing cycle: ``[start, end)`` in UTC, ``index`` counted from the anchor.

    ``t in cycle`` is ``start <= t < end``.
    """

    index: int
    start: datetime
    end: datetime

    def __contains__(self, at: object) -> bool:
        return isinstance(at, datetime) and self.start <= at < self.end


# -- boundaries ---------------------------------------------------------------------------


def _base(anchor: CycleAnchor) -> datetime:
    """Cycle 0's start as a naive local wall time (``fold`` cleared: see the docstring)."""
    local = anchor.at.astimezone(time_zone(anchor.time_zone)).replace(tzinfo=None, fold=0)
    if anchor.kind is AnchorKind.CALENDAR:
        return datetime(local.year, local.month, 1)
    return local


def _add_months(wall: datetime, months: int) -> datetime:
    """``wall`` moved by ``months``, its day clamped to the target month's length.

    Only ever called with the original anchor (or grant time) as ``wall``: clamping the
    result and adding again would drift (Jan 31 -> Feb 28 -> Mar 28).
    """
    year, month0 = divmod(wall.year * 12 + wall.month - 1 + months, 12)
    if not MINYEAR <= year <= MAXYEAR:
        raise InvalidTime(f"{months} months from {wall.date()} is outside the years 1 to 9999")
    day = min(wall.day, calendar.monthrange(year, month0 + 1)[1])
    return wall.replace(year=year, month=month0 + 1, day=day)


def _to_utc(wall: datetime, zone: tzinfo) -> datetime:
    """A local wall time as a UTC instant: gaps move forward, folds take the first."""
    try:
        return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    except OverflowError:
        raise InvalidTime(f"{wall} in {zone} is outside the years 1 to 9999") from None


def _start(base: datetime, zone: tzinfo, interval: BillingInterval, index: int) -> datetime:
    return _to_utc(_add_months(base, index * interval.months), zone)


def cycle_start(anchor: CycleAnchor, interval: BillingInterval, index: int) -> datetime:
    """The UTC instant cycle ``index`` starts (and cycle ``index - 1`` ends).

    Always computed from the original anchor: cycle 13 of a cycle anchored on the 31st
    starts on the 31st or on its month's last day, whatever the months in between.
    """
    return _start(_base(anchor), time_zone(anchor.time_zone), interval, index)


def nth_cycle(anchor: CycleAnchor, interval: BillingInterval, index: int) -> Cycle:
    """Cycle ``index``: from its start to the next cycle's start."""
    base, zone = _base(anchor), time_zone(anchor.time_zone)
    return Cycle(
        index, _start(base, zone, interval, index), _start(base, zone, interval, index + 1)
    )


def cycle_at(anchor: CycleAnchor, interval: BillingInterval, at: datetime) -> Cycle:
    """The cycle containing the instant ``at`` (``start <= at < end``).

    At a boundary the new cycle has begun: ``cycle_at(a, i, c.end)`` is the cycle after
    ``c``. Instants before the anchor's cycle 0 have negative indices.

    Raises:
        InvalidTime: for a naive ``at``.
    """
    moment = require_aware(at, "cycle time")
    base, zone = _base(anchor), time_zone(anchor.time_zone)
    local = moment.astimezone(zone)
    months = (local.year - base.year) * 12 + local.month - base.month
    index = months // interval.months  # exact or one too many; the loops settle it
    while _start(base, zone, interval, index) > moment:
        index -= 1
    while _start(base, zone, interval, index + 1) <= moment:
        index += 1
    return nth_cycle(anchor, interval, index)


def cycles_between(
    anchor: CycleAnchor, interval: BillingInterval, since: datetime, until: datetime
) -> list[Cycle]:
    """Every cycle that starts in ``[since, until)``, in order.

    Consecutive windows ``[a, b)``, ``[b, c)`` return each boundary exactly once, so a
    scheduler that was down from ``a`` to ``c`` finds every cycle it missed.

    Raises:
        InvalidTime: for naive times, or ``until`` before ``since``.
    """
    start = require_aware(since, "window start")
    end = require_aware(until, "window end")
    if end < start:
        raise InvalidTime("the window ends before it starts")
    cycle = cycle_at(anchor, interval, start)
    if cycle.start < start:
        cycle = nth_cycle(anchor, interval, cycle.index + 1)
    found = []
    while cycle.start < end:
        found.append(cycle)
        cycle = nth_cycle(anchor, interval, cycle.index + 1)
    return found


# -- expiry rules -------------------------------------------------------------------------


class ExpiryKind(enum.StrEnum):
    """The four expiry rules of B3 (see :class:`ExpiryRule`)."""

    NEVER = "never"
    AFTER = "after"
    END_OF_CYCLE = "end_of_cycle"
    ROLLOVER = "rollover"


class TermUnit(enum.StrEnum):
    DAYS = "days"
    MONTHS = "months"
    YEARS = "years"


_MAX_TERM = {TermUnit.DAYS: 36_600, TermUnit.MONTHS: 1_200, TermUnit.YEARS: 100}
_MAX_ROLLOVER = 1_200
_TERM = re.compile(r"^\s*([0-9]+)\s*(day|month|year)s?\s*$")


@dataclass(frozen=True, slots=True)
class Term:
    """A fixed length of time: ``Term(6, TermUnit.MONTHS)`` is ``"6 months"``.

    Months and years are calendar months counted with the clamping rule (a year is
    twelve of them); days are local calendar days, so the time of day is kept.
    """

    count: int
    unit: TermUnit

    def __str__(self) -> str:
        unit = self.unit.value
        return f"{self.count} {unit[:-1] if self.count == 1 else unit}"


@dataclass(frozen=True, slots=True)
class ExpiryRule:
    """When granted credits expire (B3). Build one with the class methods.

    - :meth:`never`: they do not [003].
    - :meth:`after`: a fixed term after the grant's effective time [000]; months
      clamp like cycles do (granted Aug 31, six months: expires Feb 28 or 29).
    - :meth:`end_of_cycle`: at the end of the cycle the grant was made in [001, 002].
    - :meth:`rollover`: granted in cycle ``k``, spendable through cycle ``k + N`` and
      expired at its end [001 professional: "roll over for up to 3 months"].

    The document form (plans) is ``"never"``, ``"end_of_cycle"``,
    ``{ after = "6 months" }`` or ``{ rollover_cycles = 3 }`` (:func:`parse_expiry`,
    :meth:`to_document`).

    Attributes:
        kind: which rule.
        term: the term of an ``after`` rule, else ``None``.
        cycles: N of a ``rollover`` rule (1 or more), else ``None``.
    """

    kind: ExpiryKind
    term: Term | None = None
    cycles: int | None = None

    def __post_init__(self) -> None:
        problems = _rule_problems(self)
        if problems:
            raise InvalidSetting("expiry rule", self, "; ".join(problems))

    @classmethod
    def never(cls) -> ExpiryRule:
        return cls(ExpiryKind.NEVER)

    @classmethod
    def after(cls, *, days: int = 0, months: int = 0, years: int = 0) -> ExpiryRule:
        """A fixed term: give exactly one of ``days``, ``months``, ``years``."""
        given = [(n, u) for n, u in ((days, "days"), (months, "months"), (years, "years")) if n]
        if len(given) != 1:
            raise InvalidSetting("expiry rule", given, "give exactly one of days, months, years")
        ((count, unit),) = given
        return cls(ExpiryKind.AFTER, term=Term(count, TermUnit(unit)))

    @classmethod
    def end_of_cycle(cls) -> ExpiryRule:
        return cls(ExpiryKind.END_OF_CYCLE)

    @classmethod
    def rollover(cls, cycles: int) -> ExpiryRule:
        return cls(ExpiryKind.ROLLOVER, cycles=cycles)

    @property
    def needs_cycle(self) -> bool:
        """Whether the expiry depends on billing cycles (and so on an anchor)."""
        return self.kind in (ExpiryKind.END_OF_CYCLE, ExpiryKind.ROLLOVER)

    def to_document(self) -> str | dict[str, Any]:
        """The document form, which :func:`parse_expiry` reads back to an equal rule."""
        if self.term is not None:
            return {"after": str(self.term)}
        if self.cycles is not None:
            return {"rollover_cycles": self.cycles}
        return self.kind.value


def _rule_problems(rule: ExpiryRule) -> list[str]:
    if not isinstance(rule.kind, ExpiryKind):
        return [f"kind: one of {', '.join(k.value for k in ExpiryKind)}"]
    problems = []
    if (rule.kind is ExpiryKind.AFTER) != (rule.term is not None):
        problems.append("a term is given with, and only with, an after rule")
    if (rule.kind is ExpiryKind.ROLLOVER) != (rule.cycles is not None):
        problems.append("cycles are given with, and only with, a rollover rule")
    if rule.term is not None:
        problems.extend(_term_problems(rule.term))
    if rule.cycles is not None and not _whole(rule.cycles, 1, _MAX_ROLLOVER):
        problems.append(
            f"rollover cycles: a whole number from 1 to {_MAX_ROLLOVER} (0 cycles is end_of_cycle)"
        )
    return problems


def _term_problems(term: Term) -> list[str]:
    if not isinstance(term.unit, TermUnit):
        return ["term unit: one of days, months, years"]
    if not _whole(term.count, 1, _MAX_TERM[term.unit]):
        return [f"term: a whole number of {term.unit.value} from 1 to {_MAX_TERM[term.unit]}"]
    return []


def _whole(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


_FORMS = '"never", "end_of_cycle", { after = "6 months" } or { rollover_cycles = 3 }'


def parse_expiry(raw: object, where: str = "expiry") -> ExpiryRule:
    """Read an expiry rule from its document form (see :class:`ExpiryRule`).

    Args:
        raw: ``"never"``, ``"end_of_cycle"``, ``{"after": "6 months"}`` (days, months or
            years, singular or plural) or ``{"rollover_cycles": 3}``.
        where: the rule's place in its document, which starts every problem.

    Raises:
        InvalidSetting: named ``where``, whose reason lists every problem, each
            starting with its place (``grant_expiry.after: ...``), joined by ``"; "``.
    """
    problems: list[str] = []
    rule = _parse_rule(raw, where, problems)
    if problems or rule is None:
        raise InvalidSetting(where, raw, "; ".join(problems))
    return rule


def _parse_rule(raw: object, where: str, problems: list[str]) -> ExpiryRule | None:
    if isinstance(raw, str) and raw in (ExpiryKind.NEVER, ExpiryKind.END_OF_CYCLE):
        return ExpiryRule(ExpiryKind(raw))
    if not isinstance(raw, Mapping):
        problems.append(f"{where}: {raw!r} is not one of {_FORMS}")
        return None
    problems.extend(
        f"{where}.{key}: unknown key" for key in sorted(map(str, set(raw) - _RULE_KEYS))
    )
    given = sorted(_RULE_KEYS & set(raw))
    if len(given) != 1:
        problems.append(f"{where}: give exactly one of after, rollover_cycles")
        return None
    if given == ["after"]:
        term = _parse_term(raw["after"], f"{where}.after", problems)
        return None if term is None else ExpiryRule(ExpiryKind.AFTER, term=term)
    cycles = raw["rollover_cycles"]
    if not _whole(cycles, 1, _MAX_ROLLOVER):
        problems.append(
            f"{where}.rollover_cycles: must be a whole number from 1 to {_MAX_ROLLOVER}, "
            f"got {cycles!r} (0 cycles is end_of_cycle)"
        )
        return None
    return ExpiryRule(ExpiryKind.ROLLOVER, cycles=cycles)


_RULE_KEYS = {"after", "rollover_cycles"}


def _parse_term(raw: object, where: str, problems: list[str]) -> Term | None:
    match = _TERM.match(raw) if isinstance(raw, str) else None
    if match is None:
        problems.append(
            f"{where}: {raw!r} is not a whole number and a unit (days, months or years), "
            'as "6 months"'
        )
        return None
    term = Term(int(match[1]), TermUnit(match[2] + "s"))
    found = _term_problems(term)
    problems.extend(f"{where}: {p}" for p in found)
    return None if found else term


# -- expiry instants ----------------------------------------------------------------------


def expires_at(
    rule: ExpiryRule,
    granted_at: datetime,
    *,
    anchor: CycleAnchor | None = None,
    interval: BillingInterval = BillingInterval.MONTHLY,
    cycle: Cycle | None = None,
    zone: str | None = None,
) -> datetime | None:
    """The instant a grant made at ``granted_at`` under ``rule`` expires, or ``None``.

    The instant is exclusive: the grant is spendable at ``expires_at - 1µs`` and not at
    ``expires_at`` (``[effective_at, expires_at)``, as ``Grant.is_spendable``).

    - ``never``: ``None``.
    - ``after``: ``granted_at`` plus the term, as local wall time in ``zone`` (default
      the anchor's zone, else UTC), months clamped, then back to UTC.
    - ``end_of_cycle``: the end of ``cycle``; without one, of the anchor's cycle holding
      ``granted_at``.
    - ``rollover`` N: the end of cycle ``k + N``, ``k`` being ``cycle.index`` or else
      the index of the anchor's cycle holding ``granted_at``. Needs the anchor.

    Pass ``cycle`` when a grant belongs to a cycle it was not made in (credits for a
    missed cycle granted late): its expiry follows that cycle.

    Raises:
        InvalidSetting: a cycle rule with neither the cycle nor the anchor it needs.
        InvalidTime: a naive time, or an expiry not after ``granted_at`` (a grant made
            late for a cycle that has already ended).
    """
    granted = require_aware(granted_at, "grant time")
    if rule.kind is ExpiryKind.NEVER:
        return None
    if rule.term is not None:
        name = zone or (anchor.time_zone if anchor is not None else "UTC")
        end = _after(rule.term, granted, time_zone(name))
    else:
        end = _cycle_end(rule, granted, anchor, interval, cycle)
    if end <= granted:
        raise InvalidTime(
            f"a grant made at {granted.isoformat()} would expire at {end.isoformat()} "
            f"({rule.to_document()}): the expiry must be after it"
        )
    return end


def _after(term: Term, granted: datetime, zone: tzinfo) -> datetime:
    wall = granted.astimezone(zone).replace(tzinfo=None, fold=0)
    if term.unit is TermUnit.DAYS:
        try:
            return _to_utc(wall + timedelta(days=term.count), zone)
        except OverflowError:
            raise InvalidTime(f"{term} after {granted.isoformat()} is past the year 9999") from None
    months = term.count * (12 if term.unit is TermUnit.YEARS else 1)
    return _to_utc(_add_months(wall, months), zone)


def _cycle_end(
    rule: ExpiryRule,
    granted: datetime,
    anchor: CycleAnchor | None,
    interval: BillingInterval,
    cycle: Cycle | None,
) -> datetime:
    if rule.kind is ExpiryKind.END_OF_CYCLE and cycle is not None:
        return cycle.end
    if anchor is None:
        raise InvalidSetting(
            "expiry rule",
            rule.to_document(),
            "needs the billing cycle: pass the cycle anchor"
            + (" or the cycle" if rule.kind is ExpiryKind.END_OF_CYCLE else ""),
        )
    index = cycle.index if cycle is not None else cycle_at(anchor, interval, granted).index
    return cycle_start(anchor, interval, index + (rule.cycles or 0) + 1)
