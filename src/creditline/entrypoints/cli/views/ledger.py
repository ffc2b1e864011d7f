"""Views of the ledger: organizations, projects, members, grants, debits, balances,
history, expiry, verification, the database and the demo's report.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

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
from creditline.entrypoints.cli.views.base import (
    NEVER,
    View,
    allocations_data,
    allocations_table,
    cause_data,
    count,
    credit_fields,
    iso,
    key_values,
    new_table,
    when,
)

if TYPE_CHECKING:
    from creditline.entrypoints.cli.demo.world import DemoReport

# -- JSON pieces ------------------------------------------------------------------------


def _org_data(org: Organization) -> dict[str, Any]:
    return {
        "id": org.id,
        "name": org.name,
        "external_ref": org.external_ref,
        "consumption_order": [k.value for k in org.consumption_order],
        "created_at": iso(org.created_at),
        "country": org.country,
    }


def _project_data(project: Project) -> dict[str, Any]:
    return {
        "id": project.id,
        "org_id": project.org_id,
        "name": project.name,
        "created_at": iso(project.created_at),
    }


def _member_data(member: Member) -> dict[str, Any]:
    return {
        "id": member.id,
        "org_id": member.org_id,
        "name": member.name,
        "email": member.email,
        "created_at": iso(member.created_at),
    }


def _grant_data(grant: Grant) -> dict[str, Any]:
    basis = grant.cost_basis
    return {
        "id": grant.id,
        "org_id": grant.org_id,
        "kind": grant.kind.value,
        **credit_fields("amount", grant.amount),
        **credit_fields("remaining", grant.remaining),
        "effective_at": iso(grant.effective_at),
        "expires_at": iso(grant.expires_at),
        "source": cause_data(grant.source),
        "cost_basis": None
        if basis is None
        else {"unit_price_minor": basis.unit_price_minor, "currency": basis.currency},
        "created_at": iso(grant.created_at),
        "scope": None if grant.scope is None else grant.scope.to_document(),
    }


def _entry_data(entry: LedgerEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "org_id": entry.org_id,
        "grant_id": entry.grant_id,
        "type": entry.type.value,
        **credit_fields("amount", entry.amount),
        "cause": cause_data(entry.cause),
        "project_id": entry.project_id,
        "member_id": entry.member_id,
        "occurred_at": iso(entry.occurred_at),
        "recorded_at": iso(entry.recorded_at),
    }


def balance_data(balance: Balance) -> dict[str, Any]:
    return {
        "org_id": balance.org_id,
        "as_of": iso(balance.as_of),
        **credit_fields("total", balance.total),
        **credit_fields("available", balance.available),
        **credit_fields("pending", balance.pending),
        **credit_fields("expired_unswept", balance.expired_unswept),
        "by_kind": {k.value: format_credits(v) for k, v in balance.by_kind.items()},
        "by_kind_micros": {k.value: v for k, v in balance.by_kind.items()},
        **credit_fields("general", balance.general),
        **credit_fields("scoped", balance.scoped),
        "scoped_grants": [
            {
                "grant_id": c.grant_id,
                "kind": c.kind.value,
                **credit_fields("remaining", c.remaining),
                "scope": c.scope.to_document(),
                "expires_at": iso(c.expires_at),
            }
            for c in balance.scoped_grants
        ],
    }


def _expiry_data(report: ExpiryReport) -> dict[str, Any]:
    return {
        "grants": report.grants,
        **credit_fields("amount", report.amount),
        "organizations": [
            {"org_id": e.org_id, "grants": e.grants, **credit_fields("amount", e.amount)}
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


def _orgs_table(orgs: Sequence[Organization]) -> Table:
    table = new_table("Organizations", "id", "name", "external ref", "consumption order", "country")
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
    table = new_table(title, *columns, *(["for (scoped)"] if scoped else []))
    for g in grants:
        row = [
            g.id,
            g.kind.value,
            format_credits(g.amount),
            format_credits(g.remaining),
            when(g.effective_at, NEVER),
            when(g.expires_at, NEVER),
            f"{g.source.type.value}:{g.source.ref}",
        ]
        if scoped:
            row.append("anything" if g.scope is None else g.scope.describe())
        table.add_row(*row)
    return table


def _history_table(
    entries: Sequence[LedgerEntry], names: Mapping[str, str], title: str = "History"
) -> Table:
    table = new_table(
        title, "#", "when (UTC)", "type", "credits", "grant", "cause", "project", "member"
    )
    for e in entries:
        table.add_row(
            str(e.id),
            when(e.occurred_at, NEVER),
            e.type.value,
            Text(f"{'+' if e.amount > 0 else ''}{format_credits(e.amount)}"),
            e.grant_id,
            str(e.cause),
            names.get(e.project_id or "", e.project_id or ""),
            names.get(e.member_id or "", e.member_id or ""),
        )
    return table


def balance_table(balance: Balance) -> Table:
    rows = [
        ("organization", balance.org_id),
        ("as of (UTC)", when(balance.as_of, NEVER)),
        ("total", format_credits(balance.total)),
        ("available", format_credits(balance.available)),
        ("pending", format_credits(balance.pending)),
        ("expired, not yet swept", format_credits(balance.expired_unswept)),
    ]
    if not balance.scoped:
        rows += [(f"  {k.value}", format_credits(v)) for k, v in balance.by_kind.items()]
        return key_values("Balance (credits)", rows)
    # Scoped credits are shown apart: each pays only for what its scope covers.
    rows.append(("available for anything", format_credits(balance.general)))
    rows += [(f"  {k.value}", format_credits(v)) for k, v in balance.by_kind.items()]
    rows.append(("available for some operations", format_credits(balance.scoped)))
    rows += [
        (f"  {c.scope.describe()}", f"{format_credits(c.remaining)} ({c.kind.value})")
        for c in balance.scoped_grants
    ]
    return key_values("Balance (credits)", rows)


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
    table = new_table("Project", "id", "organization", "name")
    table.add_row(project.id, project.org_id, project.name)
    return View(_project_data(project), (table,))


def member_view(member: Member) -> View:
    table = new_table("Member", "id", "organization", "name", "email")
    table.add_row(member.id, member.org_id, member.name, member.email or "")
    return View(_member_data(member), (table,))


def grant_view(grant: Grant) -> View:
    return View(_grant_data(grant), (_grants_table([grant], "Grant"),))


def grants_view(grants: Sequence[Grant]) -> View:
    return View([_grant_data(g) for g in grants], (_grants_table(grants),))


def debit_view(result: DebitResult) -> View:
    data = {
        "status": result.status.value,
        **credit_fields("amount", result.amount),
        "cause": None if result.cause is None else cause_data(result.cause),
        "replayed": result.replayed,
        "allocations": allocations_data(result.allocations),
    }
    table = allocations_table("Debit", result.allocations)
    replay = " (replayed: this idempotency key was already used)" if result.replayed else ""
    summary = Text(
        f"{result.status.value}: {format_credits(result.amount)} credits, cause {result.cause}"
        + replay
    )
    return View(data, (summary, table))


def balance_view(balance: Balance) -> View:
    return View(balance_data(balance), (balance_table(balance),))


def history_view(entries: Sequence[LedgerEntry]) -> View:
    return View([_entry_data(e) for e in entries], (_history_table(entries, {}),))


def expiry_view(report: ExpiryReport) -> View:
    """What ``expire`` did: a sentence, and a table by organization when anything expired."""
    if not report.organizations:
        nothing = Text(
            "Nothing to expire: no grant past its expiry holds credits, no hold is overdue."
        )
        return View(_expiry_data(report), (nothing,))
    table = new_table("Expired", "organization", "grants", "credits")
    for e in report.organizations:
        table.add_row(e.org_id, str(e.grants), format_credits(e.amount))
    orgs = len(report.organizations)
    holds = report.reservations
    released = f" and released {count(holds, 'overdue hold')}" if holds else ""
    summary = Text(
        f"Expired {format_credits(report.amount)} credits from {count(report.grants, 'grant')}"
        f"{released} in {count(orgs, 'organization')}."
    )
    return View(_expiry_data(report), (summary, table))


def verify_view(report: VerifyReport) -> View:
    return View(_verify_data(report), (_verify_text(report),))


def demo_view(report: DemoReport) -> View:
    names = {p.id: p.name for p in report.projects} | {m.id: m.name for m in report.members}
    org = report.org
    expired = -sum(e.amount for e in report.expired)
    purchases = [
        {
            "id": p.id,
            "pack": p.pack,
            **credit_fields("credits", p.credits),
            "status": p.status.value,
        }
        for p in report.purchases
    ]
    data = {
        "organization": _org_data(org),
        "reused": report.reused,
        "projects": [_project_data(p) for p in report.projects],
        "members": [_member_data(m) for m in report.members],
        "started_at": iso(report.started_at),
        "ended_at": iso(report.ended_at),
        "events": report.events,
        **credit_fields("spent", report.spent),
        "renewals": report.renewals,
        "purchases": purchases,
        "expired": [_entry_data(e) for e in report.expired],
        **credit_fields("expired_total", expired),
        "balance": balance_data(report.balance),
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
        f"story: {when(report.started_at, NEVER)} to {when(report.ended_at, NEVER)} UTC\n",
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
            balance_table(report.balance),
            _grants_table(report.grants),
            _history_table(report.history, names, f"Last {len(report.history)} ledger entries"),
            _verify_text(report.verify),
        ),
    )
