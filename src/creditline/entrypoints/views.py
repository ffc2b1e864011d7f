"""How the engine's results look: as JSON data for scripts and as rich tables for people.

Every view is a :class:`View`: ``data`` (JSON-able, for ``--format json``) and
``parts`` (rich renderables, for ``--format table``). Views only present what the
engine returned; they decide nothing.

In JSON every credit amount appears twice, exactly: as a decimal string of credits
(``"amount": "2.5"``, the same notation the command line accepts) and as an integer
of micro-credits (``"amount_micros": 2500000``). Times are ISO 8601 in UTC.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from rich.console import RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from creditline import (
    Balance,
    DebitResult,
    ExpiryReport,
    Grant,
    LedgerEntry,
    Member,
    Organization,
    Project,
    VerifyReport,
    format_credits,
)
from creditline.domain.plans import Plan
from creditline.domain.pricing import Quote, RateCard, RateCardHistory
from creditline.domain.reports import UsageReport
from creditline.domain.reservations import Reservation
from creditline.domain.usage import EventResult, Metering, StoredUsage
from creditline.entrypoints.jsonl import BadLine, ImportReport
from creditline.entrypoints.usage_export import NAMED, usage_report_csv, usage_rows
from creditline.services.reservations import Settlement

if TYPE_CHECKING:
    from creditline.demo import DemoReport

__all__ = [
    "Whole",
    "View",
    "bad_lines_view",
    "balance_view",
    "database_view",
    "debit_view",
    "demo_view",
    "examples_view",
    "expiry_view",
    "grant_view",
    "grants_view",
    "history_view",
    "import_view",
    "member_view",
    "metering_view",
    "org_rate_card_view",
    "org_status_view",
    "orgs_view",
    "plan_view",
    "plans_view",
    "project_view",
    "quote_view",
    "ratecard_check_view",
    "ratecard_view",
    "ratecards_view",
    "reservation_view",
    "reservations_view",
    "settlement_view",
    "usage_event_view",
    "usage_events_view",
    "usage_report_csv",
    "usage_report_view",
    "usage_result_view",
    "verify_view",
]

_NEVER = "never"


@dataclass(frozen=True, slots=True)
class View:
    """One result ready to print: ``data`` for JSON, ``parts`` for a terminal."""

    data: Any
    parts: tuple[RenderableType, ...]


@dataclass(frozen=True, slots=True)
class Whole:
    """A line a terminal must print whole, never wrapped or cut at the terminal's width
    (a link, a key: copied from the terminal, it must stay one piece)."""

    text: str
    style: str = ""

    def __rich__(self) -> Text:
        return Text(self.text, style=self.style)


# -- JSON pieces ------------------------------------------------------------------------


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def _credits(name: str, micros: int) -> dict[str, Any]:
    return {name: format_credits(micros), f"{name}_micros": micros}


def _org_data(org: Organization) -> dict[str, Any]:
    return {
        "id": org.id,
        "name": org.name,
        "external_ref": org.external_ref,
        "consumption_order": [k.value for k in org.consumption_order],
        "created_at": _iso(org.created_at),
        "country": org.country,
    }


def _project_data(project: Project) -> dict[str, Any]:
    return {
        "id": project.id,
        "org_id": project.org_id,
        "name": project.name,
        "created_at": _iso(project.created_at),
    }


def _member_data(member: Member) -> dict[str, Any]:
    return {
        "id": member.id,
        "org_id": member.org_id,
        "name": member.name,
        "email": member.email,
        "created_at": _iso(member.created_at),
    }


def _grant_data(grant: Grant) -> dict[str, Any]:
    basis = grant.cost_basis
    return {
        "id": grant.id,
        "org_id": grant.org_id,
        "kind": grant.kind.value,
        **_credits("amount", grant.amount),
        **_credits("remaining", grant.remaining),
        "effective_at": _iso(grant.effective_at),
        "expires_at": _iso(grant.expires_at),
        "source": {"type": grant.source.type.value, "ref": grant.source.ref},
        "cost_basis": None
        if basis is None
        else {"unit_price_minor": basis.unit_price_minor, "currency": basis.currency},
        "created_at": _iso(grant.created_at),
        "scope": None if grant.scope is None else grant.scope.to_document(),
    }


def _entry_data(entry: LedgerEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "org_id": entry.org_id,
        "grant_id": entry.grant_id,
        "type": entry.type.value,
        **_credits("amount", entry.amount),
        "cause": {"type": entry.cause.type.value, "ref": entry.cause.ref},
        "project_id": entry.project_id,
        "member_id": entry.member_id,
        "occurred_at": _iso(entry.occurred_at),
        "recorded_at": _iso(entry.recorded_at),
    }


def _balance_data(balance: Balance) -> dict[str, Any]:
    return {
        "org_id": balance.org_id,
        "as_of": _iso(balance.as_of),
        **_credits("total", balance.total),
        **_credits("available", balance.available),
        **_credits("pending", balance.pending),
        **_credits("expired_unswept", balance.expired_unswept),
        "by_kind": {k.value: format_credits(v) for k, v in balance.by_kind.items()},
        "by_kind_micros": {k.value: v for k, v in balance.by_kind.items()},
        **_credits("general", balance.general),
        **_credits("scoped", balance.scoped),
        "scoped_grants": [
            {
                "grant_id": c.grant_id,
                "kind": c.kind.value,
                **_credits("remaining", c.remaining),
                "scope": c.scope.to_document(),
                "expires_at": _iso(c.expires_at),
            }
            for c in balance.scoped_grants
        ],
    }


def _expiry_data(report: ExpiryReport) -> dict[str, Any]:
    return {
        "grants": report.grants,
        **_credits("amount", report.amount),
        "organizations": [
            {"org_id": e.org_id, "grants": e.grants, **_credits("amount", e.amount)}
            for e in report.organizations
        ],
    }


def _verify_data(report: VerifyReport) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "organizations": report.organizations,
        "grants": report.grants,
        "problems": [str(p) for p in report.problems],
    }


# -- tables -----------------------------------------------------------------------------


def _when(moment: datetime | None) -> str:
    return _NEVER if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _table(title: str, *columns: str) -> Table:
    """A table whose ``id``-like columns fold rather than lose characters."""
    table = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
    for name in columns:
        numeric = name.startswith(
            ("credits", "amount", "remaining", "grants", "held", "consumed", "shortfall")
        )
        table.add_column(name, justify="right" if numeric else "left", overflow="fold")
    return table


def _key_values(title: str, rows: Iterable[tuple[str, str]]) -> Table:
    table = Table(title=title, title_justify="left", show_header=False, show_edge=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    for key, value in rows:
        table.add_row(key, value)
    return table


def _orgs_table(orgs: Sequence[Organization]) -> Table:
    table = _table("Organizations", "id", "name", "external ref", "consumption order", "country")
    for org in orgs:
        table.add_row(
            org.id,
            org.name,
            org.external_ref or "",
            ", ".join(k.value for k in org.consumption_order),
            org.country or "",
        )
    return table


def _grants_table(grants: Sequence[Grant], title: str = "Grants") -> Table:
    scoped = any(g.scope is not None for g in grants)
    columns = ["id", "kind", "amount", "remaining", "effective (UTC)", "expires (UTC)", "source"]
    table = _table(title, *columns, *(["for (scoped)"] if scoped else []))
    for g in grants:
        row = [
            g.id,
            g.kind.value,
            format_credits(g.amount),
            format_credits(g.remaining),
            _when(g.effective_at),
            _when(g.expires_at),
            f"{g.source.type.value}:{g.source.ref}",
        ]
        if scoped:
            row.append("anything" if g.scope is None else g.scope.describe())
        table.add_row(*row)
    return table


def _history_table(
    entries: Sequence[LedgerEntry], names: Mapping[str, str], title: str = "History"
) -> Table:
    table = _table(
        title, "#", "when (UTC)", "type", "credits", "grant", "cause", "project", "member"
    )
    for e in entries:
        table.add_row(
            str(e.id),
            _when(e.occurred_at),
            e.type.value,
            Text(f"{'+' if e.amount > 0 else ''}{format_credits(e.amount)}"),
            e.grant_id,
            str(e.cause),
            names.get(e.project_id or "", e.project_id or ""),
            names.get(e.member_id or "", e.member_id or ""),
        )
    return table


def _balance_table(balance: Balance) -> Table:
    rows = [
        ("organization", balance.org_id),
        ("as of (UTC)", _when(balance.as_of)),
        ("total", format_credits(balance.total)),
        ("available", format_credits(balance.available)),
        ("pending", format_credits(balance.pending)),
        ("expired, not yet swept", format_credits(balance.expired_unswept)),
    ]
    if not balance.scoped:
        rows += [(f"  {k.value}", format_credits(v)) for k, v in balance.by_kind.items()]
        return _key_values("Balance (credits)", rows)
    # Scoped credits are shown apart: each pays only for what its scope covers.
    rows.append(("available for anything", format_credits(balance.general)))
    rows += [(f"  {k.value}", format_credits(v)) for k, v in balance.by_kind.items()]
    rows.append(("available for some operations", format_credits(balance.scoped)))
    rows += [
        (f"  {c.scope.describe()}", f"{format_credits(c.remaining)} ({c.kind.value})")
        for c in balance.scoped_grants
    ]
    return _key_values("Balance (credits)", rows)


def _verify_text(report: VerifyReport) -> Text:
    counted = f"organizations: {report.organizations}, grants: {report.grants}"
    if report.ok:
        return Text(f"OK: every balance matches its ledger entries ({counted})", style="green")
    lines = [f"problems: {len(report.problems)} ({counted})"]
    lines += [f"  {p}" for p in report.problems]
    return Text("\n".join(lines), style="red")


# -- views ------------------------------------------------------------------------------


def database_view(url: str, dialect: str) -> View:
    return View(
        {"database": url, "dialect": dialect, "schema": "current"},
        (Text(f"database {url} ({dialect}): schema is up to date"),),
    )


def orgs_view(orgs: Sequence[Organization]) -> View:
    return View([_org_data(o) for o in orgs], (_orgs_table(orgs),))


def org_view(org: Organization) -> View:
    return View(_org_data(org), (_orgs_table([org]),))


def project_view(project: Project) -> View:
    table = _table("Project", "id", "organization", "name")
    table.add_row(project.id, project.org_id, project.name)
    return View(_project_data(project), (table,))


def member_view(member: Member) -> View:
    table = _table("Member", "id", "organization", "name", "email")
    table.add_row(member.id, member.org_id, member.name, member.email or "")
    return View(_member_data(member), (table,))


def grant_view(grant: Grant) -> View:
    return View(_grant_data(grant), (_grants_table([grant], "Grant"),))


def grants_view(grants: Sequence[Grant]) -> View:
    return View([_grant_data(g) for g in grants], (_grants_table(grants),))


def debit_view(result: DebitResult) -> View:
    data = {
        "status": result.status.value,
        **_credits("amount", result.amount),
        "cause": None
        if result.cause is None
        else {"type": result.cause.type.value, "ref": result.cause.ref},
        "replayed": result.replayed,
        "allocations": [
            {"grant_id": a.grant_id, **_credits("amount", a.amount)} for a in result.allocations
        ],
    }
    table = _table("Debit", "grant", "credits")
    for a in result.allocations:
        table.add_row(a.grant_id, format_credits(a.amount))
    replay = " (replayed: this idempotency key was already used)" if result.replayed else ""
    summary = Text(
        f"{result.status.value}: {format_credits(result.amount)} credits, cause {result.cause}"
        + replay
    )
    return View(data, (summary, table))


def balance_view(balance: Balance) -> View:
    return View(_balance_data(balance), (_balance_table(balance),))


def history_view(entries: Sequence[LedgerEntry]) -> View:
    return View([_entry_data(e) for e in entries], (_history_table(entries, {}),))


def expiry_view(report: ExpiryReport) -> View:
    """What ``expire`` did: a sentence, and a table by organization when anything expired."""
    if not report.organizations:
        nothing = Text(
            "Nothing to expire: no grant past its expiry holds credits, no hold is overdue."
        )
        return View(_expiry_data(report), (nothing,))
    table = _table("Expired", "organization", "grants", "credits")
    for e in report.organizations:
        table.add_row(e.org_id, str(e.grants), format_credits(e.amount))
    orgs = len(report.organizations)
    holds = report.reservations
    released = f" and released {_count(holds, 'overdue hold')}" if holds else ""
    summary = Text(
        f"Expired {format_credits(report.amount)} credits from {_count(report.grants, 'grant')}"
        f"{released} in {_count(orgs, 'organization')}."
    )
    return View(_expiry_data(report), (summary, table))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def verify_view(report: VerifyReport) -> View:
    return View(_verify_data(report), (_verify_text(report),))


def demo_view(report: DemoReport) -> View:
    names = {p.id: p.name for p in report.projects} | {m.id: m.name for m in report.members}
    org = report.org
    expired = -sum(e.amount for e in report.expired)
    purchases = [
        {"id": p.id, "pack": p.pack, **_credits("credits", p.credits), "status": p.status.value}
        for p in report.purchases
    ]
    data = {
        "organization": _org_data(org),
        "reused": report.reused,
        "projects": [_project_data(p) for p in report.projects],
        "members": [_member_data(m) for m in report.members],
        "started_at": _iso(report.started_at),
        "ended_at": _iso(report.ended_at),
        "events": report.events,
        **_credits("spent", report.spent),
        "renewals": report.renewals,
        "purchases": purchases,
        "expired": [_entry_data(e) for e in report.expired],
        **_credits("expired_total", expired),
        "balance": _balance_data(report.balance),
        "grants": [_grant_data(g) for g in report.grants],
        "history": [_entry_data(e) for e in report.history],
        "verify": _verify_data(report.verify),
    }
    story = "resumed from an earlier run" if report.reused else "created"
    bought = ", ".join(
        f"{p.pack} ({format_credits(p.credits)} credits, {p.status.value})"
        for p in reversed(report.purchases)
    )
    header = Text.assemble(
        (f"{org.name}", "bold"),
        f" ({org.id}, external ref {org.external_ref!r}): {story}\n",
        f"story: {_when(report.started_at)} to {_when(report.ended_at)} UTC\n",
        f"projects: {', '.join(p.name for p in report.projects)}\n",
        f"members: {', '.join(f'{m.name} <{m.email}>' for m in report.members)}\n",
        f"usage: {report.events} events, {format_credits(report.spent)} credits spent\n",
        f"plan: {report.renewals} monthly grant(s); purchases: {bought or 'none'}\n",
        f"expiry: {format_credits(expired)} credits expired from {len(report.expired)} grant(s)",
    )
    return View(
        data,
        (
            header,
            _balance_table(report.balance),
            _grants_table(report.grants),
            _history_table(report.history, names, f"Last {len(report.history)} ledger entries"),
            _verify_text(report.verify),
        ),
    )


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
        "effective_from": _iso(card.effective_from),
        "operations": list(card.operations),
    }


def _card_tables(card: RateCard) -> tuple[Table, Table]:
    document = card.to_dict()
    rows = [
        ("name", card.name),
        ("version", card.version),
        ("effective from (UTC)", _when(card.effective_from)),
        ("description", card.description),
        ("rounding", card.rounding.describe()),
        ("off-peak", _compact(document.get("off_peak", "none"))),
    ]
    # Documents are free text: "[...]" in them is not rich markup.
    summary = _key_values("Rate card", [(key, escape(value)) for key, value in rows])
    operations = _table("Operations", "operation", "price", "description")
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
    table = _table("Rate cards", "name", "version", "effective from (UTC)", "operations")
    for history in histories:
        for card in history.versions:
            table.add_row(
                Text(card.name),
                Text(card.version),
                _when(card.effective_from),
                Text(", ".join(card.operations)),
            )
    return View(data, (table,))


def ratecard_check_view(source: str, card: RateCard | None, problems: Sequence[str]) -> View:
    """What ``ratecard validate`` found: the card it reads as, or every problem."""
    if card is not None:
        count = len(card.operations)
        text = Text(
            f"OK: {source} is rate card {card.label}, effective {_when(card.effective_from)} "
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
    table = _table("Examples", "platform")
    for platform in platforms:
        table.add_row(Text(platform))
    return View({"folder": folder, "platforms": list(platforms)}, (Text(f"in {folder}"), table))


def org_rate_card_view(org_id: str, name: str) -> View:
    return View(
        {"org_id": org_id, "rate_card": name},
        (Text(f"{org_id} is priced by rate card {name!r}"),),
    )


# -- usage ------------------------------------------------------------------------------


def _quantities(values: Mapping[str, object]) -> dict[str, str]:
    """Quantities as exact decimal text, whatever type they were given in."""
    return {name: str(value) for name, value in values.items()}


def _pairs_text(values: Mapping[str, object]) -> str:
    return ", ".join(f"{k}={v}" for k, v in values.items())


def _components_data(components: Sequence[tuple[str, int]]) -> list[dict[str, Any]]:
    return [{"operation": op, **_credits("cost", cost)} for op, cost in components]


def _result_data(result: EventResult) -> dict[str, Any]:
    return {
        "event_id": result.event_id,
        "status": result.status.value,
        **_credits("cost", result.cost),
        "reason": result.reason,
        "rate_card": result.rate_card,
        "components": _components_data(result.components),
    }


def _stored_data(stored: StoredUsage) -> dict[str, Any]:
    event = stored.event
    return {
        "event_id": event.event_id,
        "org_id": event.org_id,
        "operation": event.operation,
        "timestamp": _iso(event.occurred_at),
        "quantities": _quantities(event.quantities),
        "dimensions": dict(event.dimensions),
        "project_id": event.project_id,
        "member_id": event.member_id,
        "parent_id": event.parent_id,
        "steps": [
            {
                "operation": s.operation,
                "quantities": _quantities(s.quantities),
                "dimensions": dict(s.dimensions),
            }
            for s in event.steps
        ],
        "metadata": dict(event.metadata),
        "status": stored.status,
        **_credits("cost", stored.cost),
        "reason": stored.reason,
        "rate_card": stored.rate_card,
        "components": _components_data(stored.components),
        "allocations": [
            {"grant_id": a.grant_id, **_credits("amount", a.amount)} for a in stored.allocations
        ],
    }


def usage_result_view(result: EventResult) -> View:
    """What became of one recorded event."""
    rows = [
        ("event", result.event_id),
        ("status", result.status.value),
        ("cost (credits)", format_credits(result.cost)),
        ("rate card", result.rate_card or ""),
    ]
    rows += [(f"  {op}", format_credits(cost)) for op, cost in result.components]
    if result.reason is not None:
        rows.append(("reason", result.reason))
    return View(_result_data(result), (_key_values("Usage event", _escaped(rows)),))


def _escaped(rows: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Free text from events and errors: "[...]" in it is not rich markup."""
    return [(escape(key), escape(value)) for key, value in rows]


def usage_event_view(stored: StoredUsage) -> View:
    """One stored event: its usage, its outcome, its components and who paid."""
    event = stored.event
    rows = [
        ("event", event.event_id),
        ("organization", event.org_id),
        ("operation", event.operation),
        ("timestamp (UTC)", _when(event.occurred_at)),
        ("quantities", _pairs_text(event.quantities)),
        ("dimensions", _pairs_text(event.dimensions)),
        ("project", event.project_id or ""),
        ("member", event.member_id or ""),
        ("status", stored.status),
        ("cost (credits)", format_credits(stored.cost)),
        ("rate card", stored.rate_card or ""),
        ("reason", stored.reason or ""),
    ]
    rows += [
        (f"step {i + 1}", f"{s.operation}: {_pairs_text({**s.quantities, **s.dimensions})}")
        for i, s in enumerate(event.steps)
    ]
    components = _table("Components", "operation", "credits")
    for op, cost in stored.components:
        components.add_row(Text(op), format_credits(cost))
    allocations = _table("Paid by", "grant", "credits")
    for a in stored.allocations:
        allocations.add_row(a.grant_id, format_credits(a.amount))
    parts: tuple[RenderableType, ...] = (_key_values("Usage event", _escaped(rows)),)
    parts += (components,) if stored.components else ()
    parts += (allocations,) if stored.allocations else ()
    return View(_stored_data(stored), parts)


def usage_events_view(events: Sequence[StoredUsage]) -> View:
    table = _table(
        "Usage events", "event", "when (UTC)", "operation", "status", "credits", "rate card",
        "project", "member",
    )  # fmt: skip
    for s in events:
        e = s.event
        table.add_row(
            Text(e.event_id), _when(e.occurred_at), Text(e.operation), s.status,
            format_credits(s.cost), Text(s.rate_card or ""), e.project_id or "",
            e.member_id or "",
        )  # fmt: skip
    return View([_stored_data(s) for s in events], (table,))


def _bad_lines_text(source: str, bad: Sequence[BadLine], lines: int) -> Text:
    head = f"{source}: {len(bad)} bad line{'' if len(bad) == 1 else 's'} of {lines}"
    return Text("\n".join([head, *(f"  {b}" for b in bad)]), style="red")


def _bad_data(bad: Sequence[BadLine]) -> list[dict[str, Any]]:
    return [{"line": b.line, "problems": list(b.problems)} for b in bad]


def bad_lines_view(source: str, bad: Sequence[BadLine], lines: int) -> View:
    """Why an import sent nothing: every bad line, with its line number."""
    data = {"file": source, "lines": lines, "recorded": False, "bad_lines": _bad_data(bad)}
    return View(data, (_bad_lines_text(source, bad, lines),))


def import_view(report: ImportReport) -> View:
    """An import's summary: events per outcome, credits charged, what was not accepted."""
    counts = {status.value: count for status, count in report.counts.items()}
    data = {
        "file": report.source,
        "lines": report.lines,
        "recorded": True,
        "sent": report.sent,
        **counts,
        "skipped": len(report.bad),
        **_credits("charged", report.charged),
        "bad_lines": _bad_data(report.bad),
        "not_accepted": [{"line": line, **_result_data(r)} for line, r in report.not_accepted],
    }
    summary = Text(
        f"{report.source}: {report.sent} events sent from {report.lines} lines: "
        + ", ".join(f"{count} {status}" for status, count in counts.items())
        + f"; {format_credits(report.charged)} credits charged"
    )
    parts: tuple[RenderableType, ...] = (summary,)
    if report.not_accepted:
        table = _table("Not accepted", "line", "event", "status", "reason")
        for line, r in report.not_accepted:
            table.add_row(str(line), Text(r.event_id), r.status.value, Text(r.reason or ""))
        parts += (table,)
    if report.bad:
        parts += (_bad_lines_text(f"skipped: {report.source}", report.bad, report.lines),)
    return View(data, parts)


# -- reservations -----------------------------------------------------------------------


def _reservation_data(res: Reservation) -> dict[str, Any]:
    return {
        "id": res.id,
        "org_id": res.org_id,
        "status": res.status.value,
        **_credits("amount", res.amount),
        **_credits("held", res.held),
        **_credits("consumed", res.consumed),
        **_credits("shortfall", res.shortfall),
        "holds": [{"grant_id": a.grant_id, **_credits("amount", a.amount)} for a in res.holds],
        "cause": {"type": res.cause.type.value, "ref": res.cause.ref},
        "project_id": res.project_id,
        "member_id": res.member_id,
        "expires_at": _iso(res.expires_at),
        "created_at": _iso(res.created_at),
        "settled_at": _iso(res.settled_at),
        "metadata": dict(res.metadata),
        "operation": res.operation,
        "dimensions": dict(res.dimensions),
    }


def _reservations_table(found: Sequence[Reservation], title: str) -> Table:
    table = _table(
        title, "id", "status", "amount", "held", "consumed", "shortfall", "expires (UTC)",
        "project", "member",
    )  # fmt: skip
    for r in found:
        table.add_row(
            r.id, r.status.value, format_credits(r.amount), format_credits(r.held),
            format_credits(r.consumed), format_credits(r.shortfall), _when(r.expires_at),
            r.project_id or "", r.member_id or "",
        )  # fmt: skip
    return table


def reservation_view(res: Reservation) -> View:
    return View(_reservation_data(res), (_reservations_table([res], "Reservation"),))


def reservations_view(found: Sequence[Reservation]) -> View:
    return View(
        [_reservation_data(r) for r in found], (_reservations_table(found, "Reservations"),)
    )


def settlement_view(settlement: Settlement) -> View:
    """What one commit or release did to a reservation."""
    res = settlement.reservation
    data = {
        **_credits("consumed", settlement.consumed),
        **_credits("released", settlement.released),
        **_credits("shortfall", settlement.shortfall),
        "replayed": settlement.replayed,
        "reservation": _reservation_data(res),
    }
    replay = " (replayed: it was settled already)" if settlement.replayed else ""
    summary = Text(
        f"{res.id} {res.status.value}: consumed {format_credits(settlement.consumed)}, "
        f"released {format_credits(settlement.released)}, shortfall "
        f"{format_credits(settlement.shortfall)} credits; {format_credits(res.held)} "
        f"still held{replay}"
    )
    return View(data, (summary, _reservations_table([res], "Reservation")))


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
        ("forbidden operations", ", ".join(sorted(gates.forbid_operations))),
        *((f"allowed {dim}", ", ".join(sorted(v))) for dim, v in sorted(gates.allow.items())),
        *((f"max {name}", str(cap)) for name, cap in sorted(gates.max.items())),
    ]


def plan_view(plan: Plan) -> View:
    """A plan: JSON is its document form (:meth:`Plan.to_dict`)."""
    return View(plan.to_dict(), (_key_values("Plan", _escaped(_plan_rows(plan))),))


def plans_view(plans: Sequence[Plan]) -> View:
    table = _table("Plans", "plan", "depletion", "flex", "forbidden operations")
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
        _metering_data(metering), (_key_values("Metering", _escaped(_metering_rows(metering))),)
    )


def org_status_view(balance: Balance, metering: Metering, read_only: bool) -> View:
    """An organization's balance and how its usage is metered now."""
    data = {
        **_metering_data(metering),
        "read_only": read_only,
        "balance": _balance_data(balance),
    }
    rows = [*_metering_rows(metering), ("read-only", "yes" if read_only else "no")]
    return View(data, (_key_values("Organization status", _escaped(rows)), _balance_table(balance)))


def with_plans(view: View, plans: list[str]) -> View:
    """A rate card's view with the names of the plans loaded beside it."""
    data = {**view.data, "plans": plans} if isinstance(view.data, dict) else view.data
    line = f"plans: {', '.join(plans)}" if plans else "plans: none in this example set"
    return View(data, (*view.parts, line))


# -- usage reports ------------------------------------------------------------------------


def usage_report_view(report: UsageReport, period: str | None) -> View:
    """A usage report by ``period`` (``None``: the whole window): one row per group,
    then the total."""
    data = {
        "org_id": report.org_id,
        "group_by": [c for c in report.columns if c != "period"],
        "period": period,
        "since": _iso(report.since),
        "until": _iso(report.until),
        "rows": usage_rows(report.columns, report.rows, report.names),
        "events": report.events,
        **_credits("cost", report.cost),
    }
    window = Text(f"Usage of {report.org_id}\n{_when(report.since)} to {_when(report.until)} UTC")
    headers = [h for c in report.columns for h in ((c, f"{c} id") if c in NAMED else (c,))]
    table = _table("", *headers, "events", "credits")
    for row in report.rows:
        cells: list[Text] = []
        for column, key in zip(report.columns, row.keys, strict=True):
            if key is None:
                cells.append(Text("(none)", style="dim"))
            else:
                cells.append(Text(report.name(key) or key if column in NAMED else key))
            if column in NAMED:
                cells.append(Text(key or "", style="dim"))
        table.add_row(*cells, str(row.events), format_credits(row.cost))
    blanks = [""] * (len(headers) - 1) if headers else []
    total = ["total", *blanks] if headers else []
    table.add_row(*total, str(report.events), format_credits(report.cost), style="bold")
    return View(data, (window, table))
