"""The demo: one AI lab's first month of credits, told through the public facade only.

"Demo AI Lab" (external reference ``demo``) signs up on 5 January 2026 with two
projects and three members. It gets three grants:

- 1,000 *included* credits from its plan, expiring at the end of the month;
- 5,000 *prepaid* credits it bought (EUR 0.02 a credit), expiring six months later;
- 250 *promotional* credits from a launch promotion, expiring on 1 April.

Through January its projects spend 842.275 credits, all drawn from the included
grant (consumption order: included first). On 2 February the clock moves past the
end of the month and the expiry run takes the 157.725 included credits left over;
February's usage then draws on the prepaid credits.

The clock is a :class:`~creditline.ManualClock`, so everything except the ids is the
same on every machine.

Re-running: the demo organization is found by its external reference and reused.
Every project, member, grant and debit has a natural key (a name, an e-mail
address, an idempotency key), so a second run replays the first instead of adding
to it: the database ends in the same state and the report is the same, ids
included. A run that stopped half-way is completed by the next one.

The demo travels in time and runs expiry over the whole database, so it refuses a
database that holds any organization other than its own: give it a database of its
own (``make run`` uses ``sqlite:///var/demo.db``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from creditline import (
    Balance,
    Cause,
    CauseType,
    CostBasis,
    Creditline,
    ExpiryReport,
    Grant,
    GrantKind,
    GrantSource,
    LedgerEntry,
    ManualClock,
    Member,
    Organization,
    Project,
    SourceType,
    VerifyReport,
    credits,
)
from creditline.domain.errors import ConfigurationError

__all__ = ["DEMO_REF", "START", "DemoReport", "run"]

DEMO_REF = "demo"
"""The demo organization's external reference: how a re-run finds it."""

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
MONTH_END = datetime(2026, 2, 1, tzinfo=UTC)
EXPIRY_RUN = datetime(2026, 2, 2, 6, 0, tzinfo=UTC)
END = datetime(2026, 2, 3, 18, 0, tzinfo=UTC)
HISTORY_SHOWN = 15

PROJECTS = ("support-bot", "eval-pipeline")
MEMBERS = (
    ("Ada Lovelace", "ada@demo-ai-lab.example"),
    ("Grace Hopper", "grace@demo-ai-lab.example"),
    ("Alan Turing", "alan@demo-ai-lab.example"),
)


@dataclass(frozen=True, slots=True)
class _Lot:
    key: str
    kind: GrantKind
    credits: str
    expires_at: datetime
    source: GrantSource
    cost_basis: CostBasis | None = None


GRANTS = (
    _Lot(
        "demo-plan-2026-01",
        GrantKind.INCLUDED,
        "1000",
        MONTH_END,
        GrantSource(SourceType.PLAN, "plan_team_2026_01"),
    ),
    _Lot(
        "demo-purchase-0001",
        GrantKind.PREPAID,
        "5000",
        datetime(2026, 7, 5, 9, 0, tzinfo=UTC),
        GrantSource(SourceType.PURCHASE, "pur_demo_0001"),
        CostBasis(2, "EUR"),
    ),
    _Lot(
        "demo-launch-promo",
        GrantKind.PROMOTIONAL,
        "250",
        datetime(2026, 4, 1, tzinfo=UTC),
        GrantSource(SourceType.OPERATOR, "launch-promo-2026"),
    ),
)


@dataclass(frozen=True, slots=True)
class _Usage:
    """One metered call: when, by which project and member (e-mail), for how much."""

    event: str
    at: datetime
    project: str
    member: str
    credits: str


def _at(day: int, hour: int, minute: int, month: int = 1) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


_ADA, _GRACE, _ALAN = (email for _, email in MEMBERS)
_BOT, _EVAL = PROJECTS

JANUARY = (
    _Usage("evt_demo_0001", _at(6, 10, 15), _BOT, _ADA, "42.5"),
    _Usage("evt_demo_0002", _at(6, 14, 40), _EVAL, _GRACE, "118.75"),
    _Usage("evt_demo_0003", _at(8, 9, 5), _BOT, _ALAN, "63.2"),
    _Usage("evt_demo_0004", _at(12, 16, 30), _EVAL, _GRACE, "205"),
    _Usage("evt_demo_0005", _at(15, 11, 0), _BOT, _ADA, "57.8"),
    _Usage("evt_demo_0006", _at(19, 13, 20), _EVAL, _ALAN, "148.125"),
    _Usage("evt_demo_0007", _at(23, 10, 45), _BOT, _ADA, "71.4"),
    _Usage("evt_demo_0008", _at(27, 15, 10), _EVAL, _GRACE, "96.6"),
    _Usage("evt_demo_0009", _at(30, 17, 55), _BOT, _ALAN, "38.9"),
)
FEBRUARY = (
    _Usage("evt_demo_0010", _at(2, 9, 30, month=2), _BOT, _ADA, "45.25"),
    _Usage("evt_demo_0011", _at(3, 11, 10, month=2), _EVAL, _GRACE, "310.5"),
    _Usage("evt_demo_0012", _at(3, 16, 45, month=2), _BOT, _ALAN, "22.075"),
)


@dataclass(frozen=True, slots=True)
class DemoReport:
    """What the demo did and where it left the organization (amounts in micro-credits).

    Attributes:
        org: the demo organization.
        reused: it existed before this run (the run replayed instead of adding).
        projects, members: its projects and members.
        debits: how many debits the scenario spends.
        spent: micro-credits those debits spent.
        expiry: what this run's expiry sweep expired (nothing on a re-run).
        expiry_run_at: when the sweep ran (the simulated clock).
        expired: the organization's expire entries (the same on every run).
        balance, grants: the organization at the end of the scenario.
        history: its newest ledger entries, newest first.
        verify: the whole database checked against its ledger.
    """

    org: Organization
    reused: bool
    projects: list[Project]
    members: list[Member]
    debits: int
    spent: int
    expiry: ExpiryReport
    expiry_run_at: datetime
    expired: list[LedgerEntry]
    balance: Balance
    grants: list[Grant]
    history: list[LedgerEntry]
    verify: VerifyReport


def _demo_org(cl: Creditline) -> Organization | None:
    """The demo organization, or None; refuses a database holding anything else."""
    orgs = cl.list_orgs(limit=2)
    strangers = [o for o in orgs if o.external_ref != DEMO_REF]
    if strangers:
        raise ConfigurationError(
            "the demo moves a simulated clock and expires grants across the whole database, "
            f"which holds other organizations ({strangers[0].name!r}); "
            "run it on a database of its own, e.g. --db sqlite:///var/demo.db"
        )
    return orgs[0] if orgs else None


def _projects(cl: Creditline, org: Organization) -> list[Project]:
    have = {p.name for p in cl.projects(org.id)}
    for name in PROJECTS:
        if name not in have:
            cl.create_project(org.id, name)
    return cl.projects(org.id)


def _members(cl: Creditline, org: Organization) -> list[Member]:
    have = {m.email for m in cl.members(org.id)}
    for name, email in MEMBERS:
        if email not in have:
            cl.add_member(org.id, name, email)
    return cl.members(org.id)


def _spend(
    cl: Creditline,
    clock: ManualClock,
    org: Organization,
    usage: tuple[_Usage, ...],
    ids: dict[str, str],
) -> int:
    for u in usage:
        clock.set(u.at)
        cl.spend(
            org.id,
            credits(u.credits),
            cause=Cause(CauseType.USAGE_EVENT, u.event),
            project_id=ids[u.project],
            member_id=ids[u.member],
            idempotency_key=u.event,
        )
    return sum(credits(u.credits) for u in usage)


def run(cl: Creditline, clock: ManualClock) -> DemoReport:
    """Play the scenario on ``cl``, whose clock must be ``clock`` (it is moved).

    Raises:
        ConfigurationError: the database holds organizations other than the demo's.
    """
    clock.set(START)
    existing = _demo_org(cl)
    org = existing or cl.create_org("Demo AI Lab", external_ref=DEMO_REF)
    projects = _projects(cl, org)
    members = _members(cl, org)
    ids = {p.name: p.id for p in projects} | {m.email or m.name: m.id for m in members}
    for lot in GRANTS:
        cl.grant(
            org.id,
            credits(lot.credits),
            lot.kind,
            expires_at=lot.expires_at,
            source=lot.source,
            cost_basis=lot.cost_basis,
            idempotency_key=lot.key,
        )
    spent = _spend(cl, clock, org, JANUARY, ids)
    clock.set(EXPIRY_RUN)
    expiry = cl.expire_due()
    spent += _spend(cl, clock, org, FEBRUARY, ids)
    clock.set(END)
    return DemoReport(
        org=org,
        reused=existing is not None,
        projects=projects,
        members=members,
        debits=len(JANUARY) + len(FEBRUARY),
        spent=spent,
        expiry=expiry,
        expiry_run_at=EXPIRY_RUN,
        expired=list(reversed(cl.history(org.id, types=["expire"]))),
        balance=cl.balance(org.id),
        grants=cl.grants(org.id),
        history=cl.history(org.id, limit=HISTORY_SHOWN),
        verify=cl.verify(),
    )
