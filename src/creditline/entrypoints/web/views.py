"""What the dashboard's pages show, built from the engine's results: pure functions, no
I/O. The templates only lay these out; every choice of what to say is made here.

- :func:`cause_view`: an entry's cause in words, linked to the page that explains it
  (a usage event, a batch's events, a purchase).
- :func:`usage_table`, :func:`usage_chart`, :func:`usage_csv`: a usage report for the
  usage page, filtered and regrouped, its chart data and its CSV export.
- :func:`burn_down`: the overview's chart and table, with the forecast at the burn rate.
- :func:`banner`: what an organization without credits is told, and its way out.
- :func:`depletion_rule`: what happens when an organization's credits run out, in words.
- :func:`preferred_currency`: the currency an organization's prices are shown in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from creditline.domain.amounts import format_credits
from creditline.domain.grace import GraceBilling, GraceState, GraceTerms
from creditline.domain.ledger import Cause, CauseType
from creditline.domain.money import Money, unit_price_minor
from creditline.domain.organizations import Organization
from creditline.domain.overview import Overview
from creditline.domain.packs import Catalogue, Pack
from creditline.domain.plans import DepletionPolicy, Plan
from creditline.domain.purchases import Purchase
from creditline.domain.quotes import BindingQuote
from creditline.domain.reports import UsageReport, UsageRow
from creditline.domain.usage import Metering
from creditline.entrypoints import usage_export
from creditline.entrypoints.web.render import credits_text, day, money_text, segment, when
from creditline.services.grace import GraceStatus

__all__ = [
    "Banner",
    "quote_rows",
    "any_amount_price",
    "BurnDown",
    "CauseView",
    "UsageTable",
    "banner",
    "burn_down",
    "cause_view",
    "pack_offers",
    "preferred_currency",
    "usage_chart",
    "usage_csv",
    "usage_table",
]

NONE_KEY = "-"
"""How a group's missing key (an event without a project or a member) is filtered on."""
HISTORY_DAYS = 30
"""The fewest past days the overview's burn-down shows (more in a longer cycle)."""
FORECAST_DAYS = 120
"""The most days a burn-down forecasts ahead (a later run-out date is told in words)."""
CHART_SERIES = 8
"""The most series a usage chart draws; the rest are summed as ``other``."""


# -- causes -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CauseView:
    """An entry's cause for people: ``label``, the page that explains it, if any, and
    the cause's id (shown on hover)."""

    label: str
    href: str | None = None
    title: str = ""


_CAUSE_WORDS = {
    CauseType.USAGE_EVENT: "usage event",
    CauseType.USAGE_BATCH: "usage batch",
    CauseType.DEBIT: "debit",
    CauseType.PURCHASE: "purchase",
    CauseType.PLAN_CYCLE: "plan cycle",
    CauseType.OPERATOR: "operator",
    CauseType.EXPIRY: "expiry",
    CauseType.RESERVATION: "reservation",
    CauseType.REFUND: "refund of purchase",
    CauseType.SYSTEM: "system",
}
_CAUSE_PAGES = {
    CauseType.USAGE_EVENT: "events",
    CauseType.USAGE_BATCH: "batches",
    CauseType.PURCHASE: "purchases",
    CauseType.REFUND: "purchases",
}


def cause_view(
    cause: Cause, prefix: str | None = "/portal", detail: str | None = None
) -> CauseView:
    """``usage event: run-42`` linked to ``/portal/events/run-42``; an operator's
    reason as ``operator: goodwill``. ``detail``: what the cause is, in words
    (``pipeline, 1 event``), shown instead of its id. ``prefix=None``: never linked."""
    words = _CAUSE_WORDS[cause.type]
    label = f"{words}: {cause.ref}" if detail is None else detail
    title = f"{words} {cause.ref}"
    page = _CAUSE_PAGES.get(cause.type)
    if page is None or prefix is None:
        return CauseView(label, None, title)
    return CauseView(label, f"{prefix}/{page}/{segment(cause.ref)}", title)


# -- usage ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UsageLine:
    """One group in one period: its events and their cost (micro-credits)."""

    key: str | None
    name: str
    period: str
    events: int
    cost: int


@dataclass(frozen=True, slots=True)
class UsageTable:
    """A usage report as the usage page shows it: one line per group and period."""

    group: str
    periods: tuple[str, ...]
    lines: tuple[UsageLine, ...]
    groups: tuple[tuple[str | None, str, int], ...]
    """Each group's key, name and total cost, the costliest first."""

    @property
    def events(self) -> int:
        return sum(line.events for line in self.lines)

    @property
    def cost(self) -> int:
        return sum(line.cost for line in self.lines)


def usage_table(
    report: UsageReport,
    group: str,
    filters: Mapping[str, str],
    names: Mapping[str, str],
) -> UsageTable:
    """The report's rows (grouped by ``group``, the filtered dimensions and the period)
    kept where every filtered dimension has its value (:data:`NONE_KEY`: none), and
    summed per ``group`` and period. ``names`` names projects and members by id."""
    columns = report.columns
    where = {columns.index(dim): value for dim, value in filters.items() if dim in columns}
    at_group, at_period = columns.index(group), _index(columns, "period")
    sums: dict[tuple[str | None, str], list[int]] = {}
    for row in report.rows:
        if any((row.keys[i] or NONE_KEY) != value for i, value in where.items()):
            continue
        period = "" if at_period is None else row.keys[at_period] or ""
        cell = sums.setdefault((row.keys[at_group], period), [0, 0])
        cell[0] += row.events
        cell[1] += row.cost
    lines = tuple(
        UsageLine(key, _name(key, names), period, events, cost)
        for (key, period), (events, cost) in sorted(sums.items(), key=_line_order)
    )
    totals: dict[str | None, int] = {}
    for line in lines:
        totals[line.key] = totals.get(line.key, 0) + line.cost
    groups = tuple(
        (key, _name(key, names), cost)
        for key, cost in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0] or ""))
    )
    periods = tuple(sorted({line.period for line in lines}))
    return UsageTable(group, periods, lines, groups)


def _index(columns: Sequence[str], name: str) -> int | None:
    return columns.index(name) if name in columns else None


def _line_order(item: tuple[tuple[str | None, str], list[int]]) -> tuple[str, str]:
    (key, period), _ = item
    return period, key or ""


def _name(key: str | None, names: Mapping[str, str]) -> str:
    if key is None:
        return "(none)"
    return names.get(key, key)


def usage_chart(table: UsageTable) -> dict[str, object]:
    """The usage chart's data: the periods, and per group (the costliest
    :data:`CHART_SERIES`, the rest as ``other``) its credits in each period, as exact
    decimal text."""
    shown = [key for key, _, _ in table.groups[:CHART_SERIES]]
    names = {key: name for key, name, _ in table.groups}
    cells: dict[tuple[str | None, str], int] = {}
    other: dict[str, int] = {}
    for line in table.lines:
        if line.key in shown:
            cells[(line.key, line.period)] = line.cost
        else:
            other[line.period] = other.get(line.period, 0) + line.cost
    series = [
        {
            "label": names[key],
            "data": [format_credits(cells.get((key, p), 0)) for p in table.periods],
        }
        for key in shown
    ]
    if other:
        series.append(
            {"label": "other", "data": [format_credits(other.get(p, 0)) for p in table.periods]}
        )
    return {"kind": "usage", "labels": list(table.periods), "series": series}


def usage_csv(table: UsageTable) -> str:
    """The usage page's lines as CSV, in the one format of usage reports
    (:mod:`creditline.entrypoints.usage_export`): the group (a project or member with its
    name), the period, the events and the cost."""
    rows = [UsageRow((line.key, line.period), line.events, line.cost) for line in table.lines]
    names = {line.key: line.name for line in table.lines if line.key is not None}
    return usage_export.usage_csv((table.group, "period"), rows, names)


# -- the overview ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BurnPoint:
    """One day of the burn-down table: the closing balance (past days), what was burnt,
    and the forecast (today and after), in micro-credits."""

    day: date
    closing: int | None
    burnt: int | None
    forecast: int | None


@dataclass(frozen=True, slots=True)
class BurnDown:
    points: tuple[BurnPoint, ...]
    chart: dict[str, object] = field(default_factory=dict)


def burn_down(overview: Overview) -> BurnDown:
    """The burn-down's days (the cycle's, and at least the last 30), then, from today,
    the available credits falling at the burn rate (the forecast) up to the day they run
    out or, if later, the end of the cycle."""
    today = overview.as_of.date()
    points = [
        BurnPoint(d.day, d.closing, d.burnt, overview.balance.available if d.day == today else None)
        for d in overview.burn_down
    ]
    for offset, value in enumerate(_forecast(overview), start=1):
        points.append(BurnPoint(today + timedelta(days=offset), None, None, value))
    chart: dict[str, object] = {
        "kind": "burndown",
        "labels": [p.day.isoformat() for p in points],
        "closing": [_maybe(p.closing) for p in points],
        "burnt": [_maybe(p.burnt) for p in points],
        "forecast": [_maybe(p.forecast) for p in points],
        "runs_out": None if overview.depletes_on is None else overview.depletes_on.isoformat(),
    }
    return BurnDown(tuple(points), chart)


def _forecast(overview: Overview) -> list[int]:
    """The available credits at the end of each day after today, at the burn rate, until
    they run out or the cycle ends, whichever is later (:data:`FORECAST_DAYS` at most)."""
    rate, left = overview.burn_rate, overview.balance.available
    if rate <= 0 or left <= 0:
        return []
    today = overview.as_of.date()
    days = -(-left // rate)
    if overview.depletes_on is not None:
        days = max(days, (overview.depletes_on - today).days)
    if overview.cycle is not None:
        days = max(days, (overview.cycle.end.date() - today).days)
    return [max(0, left - rate * k) for k in range(1, min(days, FORECAST_DAYS) + 1)]


def _maybe(micros: int | None) -> str | None:
    return None if micros is None else format_credits(micros)


# -- the state banner ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Banner:
    """What an organization without credits is told: ``kind`` (``read_only``,
    ``paused``, ``flex``), a title, a sentence, and the ways out."""

    kind: str
    title: str
    text: str
    buy: bool
    renews_on: str | None


def banner(overview: Overview, can_buy: bool) -> Banner | None:
    """The banner of the overview's state, or ``None`` while credits are available."""
    renews = overview.cycle.next_renewal_at if overview.cycle is not None else None
    renews_on = None if renews is None else day(renews)
    wait = f" or wait for the renewal on {renews_on}" if renews_on else ""
    way_out = "Buy credits" if can_buy else "Contact sales to get credits"
    if overview.read_only:
        return Banner(
            "read_only",
            "This organization is read-only",
            f"It has no credits left, so its account is read-only. {way_out}{wait} to continue.",
            can_buy,
            renews_on,
        )
    if overview.paused:
        return Banner(
            "paused",
            "New operations are paused",
            f"There are no credits left: new operations are refused. {way_out}{wait} to "
            "resume; operations already running finish.",
            can_buy,
            renews_on,
        )
    if overview.on_flex:
        limit = overview.flex_limit
        cap = "" if limit is None else f" of a limit of {credits_text(limit)}"
        return Banner(
            "flex",
            "You are using flex credits",
            f"Included and prepaid credits are used up: usage goes on as flex credits, "
            f"billed at the end of the month ({credits_text(overview.flex_used)}{cap} used "
            f"this month). {way_out}{wait} to stop using flex.",
            can_buy,
            renews_on,
        )
    return None


def grace_banner(status: GraceStatus | None, can_buy: bool) -> Banner | None:
    """The banner of the organization's grace state (:mod:`creditline.domain.grace`), or
    ``None`` while it is active: shown on every portal page."""
    if status is None or status.terms is None or status.standing.state is GraceState.ACTIVE:
        return None  # no grace where it does not apply (another plan, a dunning hold)
    s, until = status.standing, status.until
    since = when(s.since)
    way_out = "Buy credits" if can_buy else "Contact sales to get credits"
    if s.state is GraceState.GRACE:
        left = "" if status.left is None else f" {credits_text(status.left)} credits of grace left"
        ends = "" if until is None else f"{',' if left else ''} until {when(until)}"
        return Banner(
            "grace",
            "Credits ran out: grace period",
            f"Credits ran out on {since}. Usage goes on during a grace period:{left}{ends}; "
            f"then the organization becomes read-only. {way_out} to end it now.",
            can_buy,
            None,
        )
    if s.state is GraceState.READ_ONLY:
        then = "" if until is None else f" It will be paused on {when(until)}."
        return Banner(
            "read_only",
            "This organization is read-only",
            f"Its grace period ended on {since}: new operations are refused, its data stays "
            f"readable.{then} {way_out} to continue.",
            can_buy,
            None,
        )
    return Banner(
        "paused",
        "This organization is paused",
        f"Paused since {since}, after its grace period and read-only time: every new "
        f"operation is refused. {way_out} to resume at once.",
        can_buy,
        None,
    )


# -- prices ---------------------------------------------------------------------------------------


_GRACE_POLICIES = (DepletionPolicy.PAUSE, DepletionPolicy.READ_ONLY)


def _grace_words(grace: GraceTerms) -> str:
    """``72 hours or 50 credits (billed as flex), then read-only for 168 hours, then
    paused``."""
    limits = [f"{grace.hours} hours"] if grace.hours is not None else []
    if grace.credits is not None:
        limits.append(f"{credits_text(grace.credits)} credits")
    billed = "billed as flex" if grace.billing is GraceBilling.FLEX else "not billed"
    then = "until credits are bought"
    if grace.read_only_hours is not None:
        then = f"for {grace.read_only_hours} hours, then paused"
    return f"{' or '.join(limits)} ({billed}), then read-only {then}"


def depletion_rule(metering: Metering) -> str:
    """What happens when the organization's credits run out, as the one rule that applies:
    its depletion policy, with flex switched off for it pausing like ``pause``, and
    flex's monthly limit and price when it is on (``"usage continues up to 500 credits a
    month, billed at the end of the month, at $0.12 a credit"``)."""
    plan = metering.plan
    policy = metering.depletion
    grace = plan.grace
    if grace is not None and metering.hold is None and policy in _GRACE_POLICIES:
        return f"usage continues during a grace period of {_grace_words(grace)}"
    if policy is DepletionPolicy.UNLIMITED:
        return "usage continues: it is never refused"
    if policy is DepletionPolicy.READ_ONLY:
        return "the account becomes read-only: new operations are refused"
    if policy is DepletionPolicy.FLEX and metering.flex_enabled:
        if plan.flex_limit is None:
            limit = "with no monthly limit"
        else:
            limit = f"up to {credits_text(plan.flex_limit)} credits a month"
        price = plan.flex_price
        cost = (
            ""
            if price is None
            else f", at {money_text(price.unit_price_minor, price.currency)} a credit"
        )
        return f"usage continues {limit}, billed at the end of the month{cost}"
    if policy is DepletionPolicy.FLEX:
        return "new operations are paused (flex billing is off for this organization)"
    return "new operations are paused"


def catalogue_currencies(catalogue: Catalogue | None) -> list[str]:
    """Every currency the catalogue sells in, sorted."""
    if catalogue is None:
        return []
    found: set[str] = set()
    for pack in catalogue.packs:
        found.update(pack.prices_minor)
    if catalogue.any_amount is not None:
        found.update(catalogue.any_amount.unit_prices_minor)
    return sorted(found)


def preferred_currency(
    org: Organization,
    purchases: Iterable[Purchase],
    plan: Plan,
    offered: Sequence[str],
) -> str | None:
    """The currency to show prices in: the organization's own (its ``currency``
    metadata), else the one it last paid in, else its plan's flex price's, else the
    first offered; always one that is offered (``None``: nothing is)."""
    wanted = [
        str(org.metadata.get("currency", "")).upper(),
        *(p.price.currency for p in purchases),
        plan.flex_price.currency if plan.flex_price is not None else "",
    ]
    return next((c for c in wanted if c in offered), offered[0] if offered else None)


@dataclass(frozen=True, slots=True)
class PackOffer:
    """A pack as the buy page shows it in one currency: its price and the price of one
    of its credits (``None``: not sold in that currency)."""

    pack: Pack
    price: Money | None
    unit_price: Money | None


def pack_offers(catalogue: Catalogue | None, currency: str | None) -> list[PackOffer]:
    if catalogue is None:
        return []
    offers = []
    for pack in catalogue.packs:
        minor = None if currency is None else pack.prices_minor.get(currency)
        if minor is None or currency is None:
            offers.append(PackOffer(pack, None, None))
            continue
        unit = Money(unit_price_minor(minor, pack.credits), currency)
        offers.append(PackOffer(pack, Money(minor, currency), unit))
    return offers


def any_amount_price(catalogue: Catalogue | None, currency: str | None) -> Money | None:
    """The price of one credit bought in any amount, in ``currency`` (``None``: not sold)."""
    rate = None if catalogue is None else catalogue.any_amount
    minor = None if rate is None or currency is None else rate.unit_prices_minor.get(currency)
    return None if minor is None or currency is None else Money(minor, currency)


def quote_rows(quotes: Iterable[BindingQuote], now: datetime) -> list[tuple[BindingQuote, str]]:
    """Binding quotes with their state at ``now`` (issued, used, expired), for
    ``_macros.html``'s ``quotes_table``."""
    return [(q, q.state(now).value) for q in quotes]
