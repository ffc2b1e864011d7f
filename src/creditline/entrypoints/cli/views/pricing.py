"""Views of prices and plans: rate cards, quotes, example sets, plans, metering and an
organization's status.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.markup import escape
from rich.table import Table
from rich.text import Text

from creditline import Balance, format_credits
from creditline.domain.plans import Plan
from creditline.domain.pricing import Quote, RateCard, RateCardHistory
from creditline.domain.usage import Metering
from creditline.entrypoints.cli.views.base import (
    NEVER,
    View,
    escaped,
    iso,
    key_values,
    new_table,
    when,
)
from creditline.entrypoints.cli.views.ledger import balance_data, balance_table

# -- rate cards and quotes --------------------------------------------------------------


def _compact(value: Any) -> str:
    """A document value on one line, without JSON's quotes: ``{credits: 10, per: 1000}``."""
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {_compact(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_compact(v) for v in value) + "]"
    return str(value)


def _card_summary(card: RateCard) -> dict[str, Any]:
    return {
        "name": card.name,
        "version": card.version,
        "effective_from": iso(card.effective_from),
        "operations": list(card.operations),
    }


def _card_tables(card: RateCard) -> tuple[Table, Table]:
    document = card.to_dict()
    rows = [
        ("name", card.name),
        ("version", card.version),
        ("effective from (UTC)", when(card.effective_from, NEVER)),
        ("description", card.description),
        ("rounding", card.rounding.describe()),
        ("off-peak", _compact(document.get("off_peak", "none"))),
    ]
    # Documents are free text: "[...]" in them is not rich markup.
    summary = key_values("Rate card", [(key, escape(value)) for key, value in rows])
    operations = new_table("Operations", "operation", "price", "description")
    for name, offer in document["operations"].items():
        price = "; ".join(f"{k}: {_compact(v)}" for k, v in offer.items() if k != "description")
        operations.add_row(Text(name), Text(price), Text(offer.get("description", "")))
    return summary, operations


def ratecard_view(card: RateCard) -> View:
    """One version: JSON is its document (:meth:`RateCard.to_dict`), exact."""
    return View(card.to_dict(), _card_tables(card))


def ratecards_view(histories: Sequence[RateCardHistory]) -> View:
    data = [
        {"name": h.name, "versions": [_card_summary(card) for card in h.versions]}
        for h in histories
    ]
    table = new_table("Rate cards", "name", "version", "effective from (UTC)", "operations")
    for history in histories:
        for card in history.versions:
            table.add_row(
                Text(card.name),
                Text(card.version),
                when(card.effective_from, NEVER),
                Text(", ".join(card.operations)),
            )
    return View(data, (table,))


def ratecard_check_view(source: str, card: RateCard | None, problems: Sequence[str]) -> View:
    """What ``ratecard validate`` found: the card it reads as, or every problem."""
    if card is not None:
        count = len(card.operations)
        text = Text(
            f"OK: {source} is rate card {card.label}, effective {when(card.effective_from, NEVER)} "
            f"UTC, with {count} operation{'' if count == 1 else 's'}: "
            f"{', '.join(card.operations)}",
            style="green",
        )
        return View({"file": source, "valid": True, **_card_summary(card)}, (text,))
    lines = [f"{source}: {len(problems)} problem{'' if len(problems) == 1 else 's'}"]
    lines += [f"  {problem}" for problem in problems]
    return View(
        {"file": source, "valid": False, "problems": list(problems)},
        (Text("\n".join(lines), style="red"),),
    )


def quote_view(quote: Quote) -> View:
    """A quote: JSON is :meth:`Quote.to_dict`; for people, :meth:`Quote.describe`."""
    return View(quote.to_dict(), (Text(quote.describe()),))


def examples_view(folder: str, platforms: Sequence[str]) -> View:
    table = new_table("Examples", "platform")
    for platform in platforms:
        table.add_row(Text(platform))
    return View({"folder": folder, "platforms": list(platforms)}, (Text(f"in {folder}"), table))


def org_rate_card_view(org_id: str, name: str) -> View:
    return View(
        {"org_id": org_id, "rate_card": name},
        (Text(f"{org_id} is priced by rate card {name!r}"),),
    )


# -- plans and metering -----------------------------------------------------------------


def _plan_rows(plan: Plan) -> list[tuple[str, str]]:
    gates = plan.gates
    limit, holds = plan.flex_limit, plan.max_open_reservations
    return [
        ("plan", plan.name),
        ("depletion", plan.depletion.value),
        ("flex enabled", "yes" if plan.flex_enabled else "no"),
        ("flex limit (credits/month)", "none" if limit is None else format_credits(limit)),
        ("max open reservations", "no limit" if holds is None else str(holds)),
        *(
            ()
            if plan.max_hold_hours is None
            else (("longest hold (hours)", str(plan.max_hold_hours)),)
        ),
        ("grace", "none" if plan.grace is None else plan.grace.describe()),
        ("forbidden operations", ", ".join(sorted(gates.forbid_operations))),
        *((f"allowed {dim}", ", ".join(sorted(v))) for dim, v in sorted(gates.allow.items())),
        *((f"max {name}", str(cap)) for name, cap in sorted(gates.max.items())),
    ]


def plan_view(plan: Plan) -> View:
    """A plan: JSON is its document form (:meth:`Plan.to_dict`)."""
    return View(plan.to_dict(), (key_values("Plan", escaped(_plan_rows(plan))),))


def plans_view(plans: Sequence[Plan]) -> View:
    table = new_table("Plans", "plan", "depletion", "flex", "forbidden operations")
    for p in plans:
        table.add_row(
            Text(p.name),
            p.depletion.value,
            "yes" if p.flex_enabled else "no",
            Text(", ".join(sorted(p.gates.forbid_operations))),
        )
    return View([p.to_dict() for p in plans], (table,))


def _metering_data(metering: Metering) -> dict[str, Any]:
    return {
        "org_id": metering.org_id,
        "plan": metering.plan.name,
        "rate_card": metering.rate_card,
        "depletion": metering.depletion.value,
        "flex_enabled": metering.flex_enabled,
        "consumption_order": [k.value for k in metering.order],
    }


def _metering_rows(metering: Metering) -> list[tuple[str, str]]:
    return [
        ("organization", metering.org_id),
        ("plan", metering.plan.name),
        ("rate card", metering.rate_card),
        ("depletion", metering.depletion.value),
        ("flex enabled", "yes" if metering.flex_enabled else "no"),
    ]


def metering_view(metering: Metering) -> View:
    return View(
        _metering_data(metering), (key_values("Metering", escaped(_metering_rows(metering))),)
    )


def org_status_view(balance: Balance, metering: Metering, read_only: bool) -> View:
    """An organization's balance and how its usage is metered now."""
    data = {
        **_metering_data(metering),
        "read_only": read_only,
        "balance": balance_data(balance),
    }
    rows = [*_metering_rows(metering), ("read-only", "yes" if read_only else "no")]
    return View(data, (key_values("Organization status", escaped(rows)), balance_table(balance)))


def with_plans(view: View, plans: list[str]) -> View:
    """A rate card's view with the names of the plans loaded beside it."""
    data = {**view.data, "plans": plans} if isinstance(view.data, dict) else view.data
    line = f"plans: {', '.join(plans)}" if plans else "plans: none in this example set"
    return View(data, (*view.parts, line))
