"""The ``creditline`` command: a thin shell over :class:`creditline.Creditline`.

Each command parses its arguments, makes one call on the engine and renders the
result as a table (``--format table``, the default) or as JSON (``--format json``,
for scripts; see :mod:`creditline.entrypoints.views`). Amounts on the command line
are decimal credits (``2.5``); the engine counts in micro-credits.

Every error the engine raises on purpose becomes one line on stderr, ``error: ...``,
and the exit code that :data:`EXIT_CODES` gives its class; nothing else decides an
exit code. Usage mistakes (an unknown option, a bad choice) are click's and exit 2.
"""

from __future__ import annotations

import enum
import inspect
import json
import logging
import os
import re
import signal
import sys
import threading
import tomllib
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.console import Console
from rich.progress import MofNCompleteColumn, Progress
from rich.text import Text
from typer.core import TyperGroup

from creditline import (
    Cause,
    CauseType,
    CostBasis,
    Creditline,
    EntryType,
    GrantKind,
    GrantSource,
    ManualClock,
    SourceType,
    format_credits,
    parse_credits,
)
from creditline.adapters.clock import SystemClock
from creditline.adapters.db.engine import normalize_url
from creditline.bootstrap import mailer_from_env, payments_from_env
from creditline.domain.cycles import AnchorKind, BillingInterval
from creditline.domain.errors import (
    ConfigurationError,
    Conflict,
    CreditlineError,
    InsufficientCredits,
    InvalidAmount,
    InvalidRateCard,
    InvalidSetting,
    InvalidTime,
    NotFound,
    PaymentError,
    PlanGateRefused,
    RefundRefused,
    SelfServeUnavailable,
    StorageError,
    ValidationError,
)
from creditline.domain.plans import PLAN_GRANT_KINDS, DepletionPolicy
from creditline.domain.pricing import Step
from creditline.domain.pricing.ratecard_format import parse_ratecard
from creditline.domain.reservations import ReservationStatus
from creditline.domain.time import Clock, require_aware
from creditline.domain.usage import EventResult, EventStatus, UsageEvent, UsageStep
from creditline.entrypoints import cycle_views, jsonl, views
from creditline.services.ratecards import DEFAULT_RATE_CARD
from creditline.services.scheduler import TickReport, run_worker

__all__ = ["EXIT_CODES", "UsageRefused", "UsageRejected", "VerificationFailed", "app", "main"]

DEFAULT_DATABASE_URL = "sqlite:///creditline.db"
DATABASE_URL_ENV = "CREDITLINE_DATABASE_URL"
_PIPE_WIDTH = 160


class VerificationFailed(Exception):
    """``creditline verify`` found problems (they are printed before this is raised)."""

    def __init__(self, problems: int) -> None:
        self.problems = problems
        super().__init__(f"verification found {problems} problems")


class UsageRefused(CreditlineError):
    """Usage the engine refused (a replayed refusal, or refusals in an import): exit 5."""


class UsageRejected(ValidationError):
    """Bad lines or rejected events in an import (reported before this is raised)."""


EXIT_CODES: dict[type[Exception], int] = {
    CreditlineError: 1,
    ValidationError: 2,
    NotFound: 3,
    Conflict: 4,
    InsufficientCredits: 5,
    PlanGateRefused: 5,
    UsageRefused: 5,
    ConfigurationError: 6,
    StorageError: 7,
    VerificationFailed: 8,
    PaymentError: 9,
    RefundRefused: 5,
    SelfServeUnavailable: 10,
}
"""The one table from error class to exit code; a class not listed takes its nearest
listed base class's code. Click's own usage errors also exit 2. Refused usage (no
credits to cover it, the plan's gates) exits 5, like a refused spend, and so does a
refused refund; a purchase the payment provider cannot make (or no provider) exits 9;
a purchase refused because self-serve buying is not available in the organization's
country exits 10 (contact sales: ``creditline sales request``)."""


def _insufficient(exc: InsufficientCredits) -> str:
    return (
        f"insufficient credits in {exc.org_id}: needed {format_credits(exc.needed)} credits, "
        f"{format_credits(exc.available)} available"
    )


def _self_serve(exc: SelfServeUnavailable) -> str:
    return f"{exc}: creditline sales request {exc.org_id} [--pack NAME | --amount CREDITS]"


_MESSAGES: dict[type[Exception], Callable[[Any], str]] = {
    InsufficientCredits: _insufficient,
    SelfServeUnavailable: _self_serve,
}
"""Messages that read better in credits than the engine's micro-credits."""


def _nearest(table: dict[type[Exception], Any], exc: Exception) -> Any:
    return next((table[c] for c in type(exc).__mro__ if c in table), None)


def exit_code(exc: Exception) -> int:
    code: int = _nearest(EXIT_CODES, exc)
    return code


def describe(exc: Exception) -> str:
    """The one line printed for ``exc``."""
    message = _nearest(_MESSAGES, exc) or str
    return " ".join(str(message(exc)).split())


class _Shell(TyperGroup):
    """The root command: turns the engine's errors into one line and an exit code."""

    def invoke(self, ctx: Any) -> Any:  # typer's own (vendored) click Context
        try:
            return super().invoke(ctx)
        except (CreditlineError, VerificationFailed) as exc:
            typer.echo(f"error: {describe(exc)}", err=True)
            raise typer.Exit(exit_code(exc)) from None


app = typer.Typer(
    cls=_Shell,
    name="creditline",
    help="An exact credits engine: organizations, grants, spending, an append-only ledger.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
org_app = typer.Typer(help="Organizations: the holders of balances.", no_args_is_help=True)
project_app = typer.Typer(help="Projects inside an organization.", no_args_is_help=True)
member_app = typer.Typer(help="Members of an organization.", no_args_is_help=True)
app.add_typer(org_app, name="org")
app.add_typer(project_app, name="project")
app.add_typer(member_app, name="member")
ratecard_app = typer.Typer(
    help="Rate cards: versioned price lists, loaded from TOML or JSON files.",
    no_args_is_help=True,
)
examples_app = typer.Typer(
    help="The example sets of the seed platforms (examples/PLATFORM/).", no_args_is_help=True
)

if TYPE_CHECKING:
    from creditline import demo
app.add_typer(ratecard_app, name="ratecard")
app.add_typer(examples_app, name="examples")


# -- parsing ----------------------------------------------------------------------------


class Format(enum.StrEnum):
    TABLE = "table"
    JSON = "json"


FormatOption = Annotated[
    Format, typer.Option("--format", "-f", help="table for people, json for scripts.")
]
OrgArg = Annotated[str, typer.Argument(metavar="ORG", help="Organization id (org_...).")]
AmountArg = Annotated[
    str, typer.Argument(metavar="AMOUNT", help="Credits, a decimal number above zero: 2.5")
]
# A negative AMOUNT ("-5") then reaches _amount and its one-line refusal, rather than
# click taking it for an unknown option.
_NUMBERS = {"ignore_unknown_options": True}


def _amount(text: str) -> int:
    """AMOUNT: a decimal number of credits above zero, exact to one micro-credit."""
    micros = parse_credits(text)
    if micros <= 0:
        raise InvalidAmount(text, "must be greater than zero")
    return micros


def _time(text: str | None, what: str) -> datetime | None:
    """An ISO 8601 timestamp with a time zone (``2026-02-01T00:00:00Z``), or None."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidTime(
            f"{what} {text!r} is not an ISO 8601 timestamp (e.g. 2026-02-01T00:00:00Z)"
        ) from None
    return require_aware(moment, what)


def _cost_basis(unit_price_minor: int | None, currency: str | None) -> CostBasis | None:
    """--unit-price-minor and --currency: both or neither."""
    if unit_price_minor is None and currency is None:
        return None
    if unit_price_minor is None or currency is None:
        raise InvalidSetting(
            "cost basis", unit_price_minor or currency, "give --unit-price-minor and --currency"
        )
    return CostBasis(unit_price_minor, currency)


@dataclass(frozen=True, slots=True)
class _Session:
    """The global options: which database, and which clock."""

    url: str
    clock: Clock | None


def _open(
    ctx: typer.Context,
    *,
    migrate: bool = False,
    clock: Clock | None = None,
    outside: demo.Outside | None = None,
) -> Creditline:
    """The engine on the session's database, closed when the command ends; with the
    payment provider and mailer the environment configures (so ``tick`` and ``worker``
    charge invoices and send receipts as the API does), or the demo's world in memory
    (``outside``: Stripe and a webhook receiver, no mailer)."""
    session = ctx.find_object(_Session)
    assert session is not None
    try:
        if outside is not None:
            cl = Creditline.open(
                session.url, clock=clock, migrate=migrate, payments=outside.payments,
                webhook_sender=outside.receiver, webhook_allow_networks=outside.networks,
            )  # fmt: skip
        else:
            cl = Creditline.open(
                session.url,
                clock=clock or session.clock,
                migrate=migrate,
                payments=payments_from_env(os.environ),
                mailer=mailer_from_env(os.environ),
            )
    except OSError as exc:  # a SQLite directory that cannot be made; the engine lets it out
        where = normalize_url(session.url).render_as_string(hide_password=True)
        raise ConfigurationError(f"cannot open {where}: {exc.strerror or exc}") from exc
    ctx.call_on_close(cl.close)
    return cl


def _emit(fmt: Format, view: views.View) -> None:
    _PRINTERS[fmt](view)


def _print_table(view: views.View) -> None:
    # Piped output gets room for a whole table instead of the 80 columns rich assumes.
    console = Console(highlight=False, width=None if sys.stdout.isatty() else _PIPE_WIDTH)
    for part in view.parts:
        # A link or a key is printed as one line, however narrow the terminal.
        console.print(part, soft_wrap=isinstance(part, views.Whole))


def _print_json(view: views.View) -> None:
    typer.echo(json.dumps(view.data, indent=2, ensure_ascii=False))


_PRINTERS: dict[Format, Callable[[views.View], None]] = {
    Format.TABLE: _print_table,
    Format.JSON: _print_json,
}


# -- commands ---------------------------------------------------------------------------


@app.callback()
def _global(
    ctx: typer.Context,
    db: Annotated[
        str,
        typer.Option(
            "--db",
            envvar=DATABASE_URL_ENV,
            metavar="URL",
            help="sqlite:///file.db, postgresql://user@host/db, or a file path (SQLite).",
        ),
    ] = DEFAULT_DATABASE_URL,
    now: Annotated[
        str | None,
        typer.Option(
            "--now",
            metavar="ISO-TIMESTAMP",
            help="Pin the clock (with a time zone: 2026-02-01T00:00:00Z); for tests.",
            hidden=True,
        ),
    ] = None,
) -> None:
    """creditline: credits for AI platforms, exact to the micro-credit."""
    moment = _time(now, "--now")
    ctx.obj = _Session(db, ManualClock(moment) if moment else None)


@app.command()
def init(ctx: typer.Context, fmt: FormatOption = Format.TABLE) -> None:
    """Create the database schema, or bring it up to date."""
    session = ctx.find_object(_Session)
    assert session is not None
    cl = _open(ctx, migrate=True)
    url = normalize_url(session.url).render_as_string(hide_password=True)
    _emit(fmt, views.database_view(url, cl.dialect))


@org_app.command("create")
def org_create(
    ctx: typer.Context,
    name: str,
    *,
    external_ref: Annotated[
        str | None, typer.Option(help="Your platform's id for it; unique.")
    ] = None,
    consumption_order: Annotated[
        str | None,
        typer.Option(help=f"Grant kinds, first spent first: {GrantKind.names()}."),
    ] = None,
    country: Annotated[
        str | None,
        typer.Option(
            metavar="CC", help="Its country, ISO 3166-1 alpha-2 (DE); decides self-serve buying."
        ),
    ] = None,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Create an organization with a zero balance."""
    org = _open(ctx).create_org(
        name, external_ref=external_ref, consumption_order=consumption_order, country=country
    )
    _emit(fmt, views.org_view(org))


@org_app.command("list")
def org_list(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
    after: Annotated[str | None, typer.Option(help="Page on after this id.")] = None,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """List organizations, by id."""
    _emit(fmt, views.orgs_view(_open(ctx).list_orgs(limit=limit, after_id=after)))


@project_app.command("create")
def project_create(
    ctx: typer.Context, org: OrgArg, name: str, fmt: FormatOption = Format.TABLE
) -> None:
    """Create a project in an organization."""
    _emit(fmt, views.project_view(_open(ctx).create_project(org, name)))


@member_app.command("add")
def member_add(
    ctx: typer.Context,
    org: OrgArg,
    name: str,
    email: Annotated[str | None, typer.Option(help="Unique within the organization.")] = None,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Add a member to an organization."""
    _emit(fmt, views.member_view(_open(ctx).add_member(org, name, email)))


ScopeOption = Annotated[
    list[str] | None,
    typer.Option(
        "--scope",
        metavar="OPERATION[:DIM=V|V,...]",
        help="A scoped grant: pays only for this operation (with these dimension values; "
        '"any" for any value); repeat for more. Or JSON: [{"operation": "train"}].',
    ),
]
ForOption = Annotated[
    str | None,
    typer.Option(
        "--operation",
        metavar="OPERATION",
        help="What the credits pay for: scoped grants covering it pay first.",
    ),
]
ForDimensionOption = Annotated[
    list[str] | None,
    typer.Option("--dimension", "-d", metavar="NAME=VALUE", help="With --operation: mode=Basic"),
]


def _scope_rules(items: Sequence[str] | None) -> list[dict[str, Any]] | None:
    """``--scope`` options as a scope's rules: ``train``, ``train:mode=Basic|Business``,
    ``train:mode=any,delivery=Fast``, or one JSON document."""
    if not items:
        return None
    rules: list[dict[str, Any]] = []
    for item in items:
        text = item.strip()
        if text.startswith(("[", "{")):
            try:
                document = json.loads(text)
            except json.JSONDecodeError as exc:
                raise InvalidSetting("--scope", item, f"not JSON: {exc}") from None
            rules += document if isinstance(document, list) else [document]
            continue
        operation, _, rest = text.partition(":")
        rule: dict[str, Any] = {"operation": operation.strip()}
        dims = _pairs([p for p in rest.split(",") if p.strip()], "--scope dimension")
        if dims:
            rule["dimensions"] = {
                name: value if value == "any" else value.split("|") for name, value in dims.items()
            }
        rules.append(rule)
    return rules


def _target(operation: str | None, dimension: Sequence[str] | None) -> dict[str, Any]:
    if dimension and operation is None:
        raise InvalidSetting("--dimension", dimension[0], "needs --operation")
    dims = _pairs(dimension, "--dimension") if dimension else None
    return {"operation": operation, "dimensions": dims}


@app.command(context_settings=_NUMBERS)
def grant(
    ctx: typer.Context,
    org: OrgArg,
    amount: AmountArg,
    *,
    kind: Annotated[GrantKind, typer.Option(help="Decides when it is spent.")] = (
        GrantKind.PREPAID
    ),
    expires: Annotated[
        str | None, typer.Option(metavar="ISO", help="First instant it is no longer spendable.")
    ] = None,
    effective: Annotated[
        str | None, typer.Option(metavar="ISO", help="First instant it is spendable [now].")
    ] = None,
    source_type: Annotated[SourceType, typer.Option(help="What made it.")] = SourceType.OPERATOR,
    source_ref: Annotated[str, typer.Option(help="Its reference (purchase id...).")] = "manual",
    unit_price_minor: Annotated[
        int | None, typer.Option(help="Price of one credit in minor units (cents).")
    ] = None,
    currency: Annotated[str | None, typer.Option(help="ISO 4217 code of the price.")] = None,
    idempotency_key: Annotated[
        str | None, typer.Option(help="A retry with the same key returns the same grant.")
    ] = None,
    scope: ScopeOption = None,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Grant credits to an organization as a new lot (with --scope: for some operations
    only, spent first by them)."""
    new = _open(ctx).grant(
        org,
        _amount(amount),
        kind,
        expires_at=_time(expires, "--expires"),
        effective_at=_time(effective, "--effective"),
        source=GrantSource(source_type, source_ref),
        cost_basis=_cost_basis(unit_price_minor, currency),
        idempotency_key=idempotency_key,
        scope=_scope_rules(scope),
    )
    _emit(fmt, views.grant_view(new))


@app.command(context_settings=_NUMBERS)
def spend(
    ctx: typer.Context,
    org: OrgArg,
    amount: AmountArg,
    *,
    project: Annotated[str | None, typer.Option(help="Project id to attribute it to.")] = None,
    member: Annotated[str | None, typer.Option(help="Member id to attribute it to.")] = None,
    idempotency_key: Annotated[
        str | None, typer.Option(help="A retry with the same key is answered, not re-spent.")
    ] = None,
    cause_ref: Annotated[
        str | None, typer.Option(help="What spent it (a debit reference); [the key or new]")
    ] = None,
    operation: ForOption = None,
    dimension: ForDimensionOption = None,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Spend credits, drawn from the grants in the consumption order; all or nothing."""
    result = _open(ctx).spend(
        org,
        _amount(amount),
        cause=Cause(CauseType.DEBIT, cause_ref) if cause_ref is not None else None,
        project_id=project,
        member_id=member,
        idempotency_key=idempotency_key,
        **_target(operation, dimension),
    )
    _emit(fmt, views.debit_view(result))


@app.command()
def balance(ctx: typer.Context, org: OrgArg, fmt: FormatOption = Format.TABLE) -> None:
    """An organization's balance now: total, available, by kind; scoped credits (for
    some operations only) apart from the general ones."""
    _emit(fmt, views.balance_view(_open(ctx).balance(org)))


@app.command()
def grants(
    ctx: typer.Context,
    org: OrgArg,
    active: Annotated[bool, typer.Option("--active", help="Only grants with credits left.")] = (
        False
    ),
    fmt: FormatOption = Format.TABLE,
) -> None:
    """An organization's grants: kind, amount, remaining, expiry."""
    _emit(fmt, views.grants_view(_open(ctx).grants(org, include_spent=not active)))


@app.command()
def history(
    ctx: typer.Context,
    org: OrgArg,
    *,
    limit: Annotated[int, typer.Option(help="At most this many entries (1 to 10000).")] = 50,
    before: Annotated[int | None, typer.Option(help="Page on: entries older than this id.")] = (
        None
    ),
    types: Annotated[
        list[EntryType] | None, typer.Option("--type", help="Only these entry types.")
    ] = None,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """An organization's ledger entries, newest first, each with its cause."""
    entries = _open(ctx).history(org, limit, before_id=before, types=types or ())
    _emit(fmt, views.history_view(entries))


@app.command()
def expire(ctx: typer.Context, fmt: FormatOption = Format.TABLE) -> None:
    """Expire what is left of every grant past its expiry (safe to run again)."""
    _emit(fmt, views.expiry_view(_open(ctx).expire_due()))


@app.command()
def verify(ctx: typer.Context, fmt: FormatOption = Format.TABLE) -> None:
    """Recompute every balance from the ledger; exit 8 when anything disagrees."""
    report = _open(ctx).verify()
    _emit(fmt, views.verify_view(report))
    if not report.ok:
        raise VerificationFailed(len(report.problems))


@app.command("demo")
def demo_command(ctx: typer.Context, fmt: FormatOption = Format.TABLE) -> None:
    """Play four months of an AI lab's credits up to now on a database of its own, then
    show it.

    Needs no set-up (creates the schema). Re-running resumes the same story on the
    same organization: at the same moment (--now) it adds nothing. Payments and alert
    webhooks stay in memory. Refuses a database holding other organizations.
    """
    session = ctx.find_object(_Session)
    assert session is not None
    now = (session.clock or SystemClock()).now()
    clock = ManualClock(now)
    from creditline import demo  # the demo's world (Stripe in memory): this command only

    outside = demo.Outside()
    report = demo.run(_open(ctx, migrate=True, clock=clock, outside=outside), clock, outside, now)
    _emit(fmt, views.demo_view(report))


# -- rate cards and quotes --------------------------------------------------------------


class Syntax(enum.StrEnum):
    TOML = "toml"
    JSON = "json"


_SYNTAX: dict[Syntax, Literal["toml", "json"]] = {Syntax.TOML: "toml", Syntax.JSON: "json"}


class RateCardRejected(ValidationError):
    """``ratecard validate`` found problems (they are printed before this is raised)."""

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        self.source = source
        self.problems = list(problems)
        count = len(self.problems)
        super().__init__(
            f"{source} is not a valid rate card: {count} problem{'' if count == 1 else 's'}"
        )


CardFileArg = Annotated[
    Path,
    typer.Argument(
        metavar="FILE",
        exists=True,
        dir_okay=False,
        readable=True,
        help="A rate card document: TOML, or JSON (by a .json suffix or --syntax).",
    ),
]
SyntaxOption = Annotated[
    Syntax | None,
    typer.Option(help="How to read FILE [by its suffix: .json is JSON, anything else TOML]."),
]
AtOption = Annotated[
    str | None,
    typer.Option("--at", metavar="ISO", help="At this time (2026-02-01T00:00:00Z) [now]."),
]
EXAMPLES_ENV = "CREDITLINE_EXAMPLES"
ExamplesDirOption = Annotated[
    Path | None,
    typer.Option(
        "--dir",
        envvar=EXAMPLES_ENV,
        metavar="FOLDER",
        file_okay=False,
        help="The examples folder [examples/ of the creditline source tree].",
    ),
]


def _card_file(file: Path, syntax: Syntax | None) -> tuple[bytes, Literal["toml", "json"]]:
    """FILE's bytes (the parser reports bad UTF-8 like any other problem) and its syntax."""
    chosen = syntax or (Syntax.JSON if file.suffix.lower() == ".json" else Syntax.TOML)
    try:
        return file.read_bytes(), _SYNTAX[chosen]
    except OSError as exc:
        raise InvalidSetting("rate card file", str(file), exc.strerror or str(exc)) from None


def _pairs(items: Sequence[str] | None, what: str) -> dict[str, str]:
    """``NAME=VALUE`` items as a mapping; values stay text (exact decimals, names)."""
    pairs: dict[str, str] = {}
    for item in items or ():
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise InvalidSetting(what, item, "expected NAME=VALUE")
        if name in pairs:
            raise InvalidSetting(what, item, f"{name} is given twice")
        pairs[name] = value.strip()
    return pairs


_STEP_FORM = "expected OPERATION;q=NAME=VALUE,...;d=NAME=VALUE,..."


def _step(spec: str) -> Step:
    """A pipeline step: ``translate;q=characters=1000000;d=model=azure-translator``."""
    operation, *parts = spec.split(";")
    found: dict[str, list[str]] = {"q": [], "d": []}
    for part in filter(str.strip, parts):
        kind, sep, rest = part.partition("=")
        if not sep or kind.strip() not in found:
            raise InvalidSetting("--step", spec, _STEP_FORM)
        found[kind.strip()] += rest.split(",")
    if not operation.strip():
        raise InvalidSetting("--step", spec, _STEP_FORM)
    return Step(
        operation.strip(),
        _pairs(found["q"], "--step quantity"),
        _pairs(found["d"], "--step dimension"),
    )


def _examples_dir(folder: Path | None) -> Path:
    """The examples folder: --dir / $CREDITLINE_EXAMPLES, else the source tree's."""
    # src/creditline/entrypoints/cli.py -> the checkout's root holds examples/.
    found = folder or Path(__file__).resolve().parents[3] / "examples"
    if not found.is_dir():
        raise ConfigurationError(
            f"no examples folder at {found}: pass --dir FOLDER or set {EXAMPLES_ENV}"
        )
    return found


def _platforms(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if (p / "ratecard.toml").is_file())


@ratecard_app.command("validate")
def ratecard_validate(
    file: CardFileArg, syntax: SyntaxOption = None, fmt: FormatOption = Format.TABLE
) -> None:
    """Check a rate card file without loading it: OK, or every problem (exit 2)."""
    source, chosen = _card_file(file, syntax)
    try:
        card = parse_ratecard(source, syntax=chosen)
    except InvalidRateCard as exc:
        _emit(fmt, views.ratecard_check_view(str(file), None, exc.problems))
        raise RateCardRejected(str(file), exc.problems) from None
    _emit(fmt, views.ratecard_check_view(str(file), card, ()))


@ratecard_app.command("load")
def ratecard_load(
    ctx: typer.Context,
    file: CardFileArg,
    syntax: SyntaxOption = None,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Load a rate card version from a file; loading the same version again changes nothing.

    A card's first version may take effect at any time; later versions take effect now
    or later, so usage already priced keeps its price.
    """
    source, chosen = _card_file(file, syntax)
    _emit(fmt, views.ratecard_view(_open(ctx).load_rate_card(source, chosen)))


@ratecard_app.command("show")
def ratecard_show(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The card's name.")] = DEFAULT_RATE_CARD,
    at: AtOption = None,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """A rate card's version in force now (or at --at): its prices, operation by operation."""
    _emit(fmt, views.ratecard_view(_open(ctx).rate_card(name, _time(at, "--at"))))


@ratecard_app.command("list")
def ratecard_list(ctx: typer.Context, fmt: FormatOption = Format.TABLE) -> None:
    """Every loaded rate card and its versions."""
    _emit(fmt, views.ratecards_view(_open(ctx).rate_cards()))


@org_app.command("set-rate-card")
def org_set_rate_card(
    ctx: typer.Context,
    org: OrgArg,
    name: Annotated[
        str | None, typer.Argument(help="A loaded card's name; leave out for the default card.")
    ] = None,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Price an organization's usage by a rate card."""
    chosen = _open(ctx).set_rate_card(org, name)
    _emit(fmt, views.org_rate_card_view(org, chosen))


@app.command("quote")
def quote_command(
    ctx: typer.Context,
    operation: Annotated[str, typer.Argument(metavar="OPERATION", help="train, translate, ...")],
    *,
    org: Annotated[
        str | None, typer.Option(metavar="ORG", help="Price by this organization's rate card.")
    ] = None,
    rate_card: Annotated[
        str | None, typer.Option(metavar="NAME", help="Price by this rate card [default].")
    ] = None,
    quantity: Annotated[
        list[str] | None,
        typer.Option("--quantity", "-q", metavar="NAME=VALUE", help="Usage: -q minutes=12.5"),
    ] = None,
    dimension: Annotated[
        list[str] | None,
        typer.Option("--dimension", "-d", metavar="NAME=VALUE", help="Choice: -d mode=Basic"),
    ] = None,
    step: Annotated[
        list[str] | None,
        typer.Option(
            metavar="SPEC",
            help="A pipeline step, in order: 'OPERATION;q=NAME=VALUE,...;d=NAME=VALUE,...'",
        ),
    ] = None,
    at: AtOption = None,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Price an operation without spending: the total and its breakdown."""
    quote = _open(ctx).quote(
        org,
        operation,
        _pairs(quantity, "--quantity"),
        _pairs(dimension, "--dimension"),
        steps=[_step(spec) for spec in step or ()],
        at=_time(at, "--at"),
        rate_card=rate_card,
    )
    _emit(fmt, views.quote_view(quote))


@examples_app.command("list")
def examples_list(folder: ExamplesDirOption = None, fmt: FormatOption = Format.TABLE) -> None:
    """The platforms that have an example set."""
    where = _examples_dir(folder)
    _emit(fmt, views.examples_view(str(where), _platforms(where)))


@examples_app.command("load")
def examples_load(
    ctx: typer.Context,
    platform: Annotated[str, typer.Argument(metavar="PLATFORM", help="otai, aixplain, ...")],
    folder: ExamplesDirOption = None,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Load a platform's example set: its rate card (FOLDER/PLATFORM/ratecard.toml) and
    its plans (plans.toml, when there is one). Loading it again changes nothing."""
    where = _examples_dir(folder)
    platforms = _platforms(where)
    if platform not in platforms:
        raise InvalidSetting("platform", platform, f"one of {', '.join(platforms)}")
    cl = _open(ctx)
    card = cl.load_rate_card((where / platform / "ratecard.toml").read_bytes())
    plans_file = where / platform / "plans.toml"
    plans = cl.load_plans(plans_file.read_text(encoding="utf-8")) if plans_file.is_file() else []
    packs_file = where / platform / "packs.toml"  # its credit packs, when it sells any
    if packs_file.is_file():
        cl.load_packs(packs_file.read_bytes())
    _emit(fmt, views.with_plans(views.ratecard_view(card), [p.name for p in plans]))


# -- usage ------------------------------------------------------------------------------

usage_app = typer.Typer(
    help="Usage events: record, import, list, show, void and amend.", no_args_is_help=True
)
plan_app = typer.Typer(help="Plans: gates and depletion policies.", no_args_is_help=True)
app.add_typer(usage_app, name="usage")
app.add_typer(plan_app, name="plan")


def _outcome_error(result: EventResult) -> Exception | None:
    """The error that decides ``usage record``'s exit code: the engine's own, or for a
    duplicate of a refused event (no new error: the first outcome replayed), a refusal."""
    if result.error is not None:
        return result.error
    if not result.accepted:
        return UsageRefused(
            f"event {result.event_id!r} was refused when first recorded: {result.reason}"
        )
    return None


QuantityOption = Annotated[
    list[str] | None,
    typer.Option("--quantity", "-q", metavar="NAME=VALUE", help="Usage: -q minutes=12.5"),
]
DimensionOption = Annotated[
    list[str] | None,
    typer.Option("--dimension", "-d", metavar="NAME=VALUE", help="Choice: -d mode=Basic"),
]
EventArg = Annotated[str, typer.Argument(metavar="EVENT_ID", help="The event's own id.")]
ProjectOption = Annotated[
    str | None, typer.Option(metavar="ID", help="Project id to attribute it to.")
]
MemberOption = Annotated[
    str | None, typer.Option(metavar="ID", help="Member id to attribute it to.")
]


def _usage_step(spec: str) -> UsageStep:
    step = _step(spec)
    return UsageStep(step.operation, step.quantities, step.dimensions)


@usage_app.command("record")
def usage_record(
    ctx: typer.Context,
    org: OrgArg,
    event_id: EventArg,
    operation: Annotated[str, typer.Argument(metavar="OPERATION", help="train, translate, ...")],
    *,
    quantity: QuantityOption = None,
    dimension: DimensionOption = None,
    step: Annotated[
        list[str] | None,
        typer.Option(
            metavar="SPEC",
            help="A pipeline step, in order: 'OPERATION;q=NAME=VALUE,...;d=NAME=VALUE,...'",
        ),
    ] = None,
    at: Annotated[
        str | None, typer.Option("--at", metavar="ISO", help="When it happened [now].")
    ] = None,
    project: ProjectOption = None,
    member: MemberOption = None,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Record one usage event, priced by its rate card and gated by its plan.

    Prints the outcome. Exit 0: accepted, or a duplicate of an accepted event;
    5: refused (insufficient credits, the plan's gates); 2: rejected as bad
    input (3 for an unknown organization, 4 for an event id reused with
    other usage).
    """
    result = _open(ctx).record(
        org,
        event_id,
        operation,
        _pairs(quantity, "--quantity"),
        _pairs(dimension, "--dimension"),
        occurred_at=_time(at, "--at"),
        project_id=project,
        member_id=member,
        steps=[_usage_step(spec) for spec in step or ()],
    )
    _emit(fmt, views.usage_result_view(result))
    error = _outcome_error(result)
    if error is not None:
        raise error


EventsFileArg = Annotated[
    str,
    typer.Argument(metavar="FILE", help="A JSON-lines file of events, one a line; - for stdin."),
]


def _read_events(source: str) -> bytes:
    if source == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(source).read_bytes()
    except OSError as exc:
        raise InvalidSetting("events file", source, exc.strerror or str(exc)) from None


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _import_error(report: jsonl.ImportReport) -> Exception | None:
    """What decides an import's exit code: bad lines or rejected events 2, refusals 5."""
    rejected = report.counts[EventStatus.REJECTED]
    refused = len(report.not_accepted) - rejected
    found = [
        f"{_count(count, noun)} {what}"
        for count, noun, what in ((len(report.bad), "bad line", "skipped"),
                                  (rejected, "event", "rejected"), (refused, "event", "refused"))
        if count
    ]  # fmt: skip
    message = f"{report.source}: {', '.join(found)}"
    if report.bad or rejected:
        return UsageRejected(message)
    return UsageRefused(message) if refused else None


def _batches(
    cl: Creditline, events: Sequence[tuple[int, UsageEvent]], size: int, report: jsonl.ImportReport
) -> Iterator[int]:
    """Send the events in batches of ``size``, one transaction each; yield each batch's size."""
    for start in range(0, len(events), size):
        batch = events[start : start + size]
        report.add([line for line, _ in batch], cl.record_usage([e for _, e in batch]))
        yield len(batch)


def _interactive() -> bool:
    """Whether a person watches stderr (a progress bar is drawn there, never in a pipe)."""
    return sys.stderr.isatty()


def _send(batches: Iterator[int], total: int, show: bool) -> None:
    """Drain ``batches``, with a progress bar on stderr when ``show``."""
    if not show:
        deque(batches, maxlen=0)
        return
    columns = (*Progress.get_default_columns(), MofNCompleteColumn())
    console = Console(stderr=True, force_terminal=True)  # show was decided by _interactive
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("recording", total=total)
        for done in batches:
            progress.advance(task, done)


@usage_app.command("import")
def usage_import(
    ctx: typer.Context,
    source: EventsFileArg,
    *,
    skip_bad: Annotated[
        bool, typer.Option("--skip-bad", help="Record the good lines even if some are bad.")
    ] = False,
    batch_size: Annotated[
        int, typer.Option(min=1, max=100_000, help="Events per transaction.")
    ] = 1000,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Record the usage events of a JSON-lines file, one JSON object a line.

    A line is {"id", "org", "operation", "timestamp", "quantities",
    "dimensions", "project", "member", "parent", "steps", "metadata"} (the
    first four required), or a CloudEvent 1.0 whose "type" is the operation,
    "subject" the organization, "time" the timestamp and "data" holds the
    rest. An organization is named by its id or its external reference.

    Numbers are read exactly, never as floats: 0.5 minutes is the decimal 0.5.
    Every line is checked first. A bad line (not JSON, a missing or unknown
    field, a wrong type, a negative quantity...) is reported as 'line N:
    problem'; by default any bad line means nothing is recorded (exit 2).
    With --skip-bad the good lines are recorded and the bad ones listed
    (still exit 2). Events go to the engine in batches; an event id already
    recorded comes back a duplicate, so a failed import can be run again.
    Exit 0 when every event was accepted (or a duplicate of an accepted
    one); 2 for bad lines or rejected events; 5 for refused ones.
    """
    cl = _open(ctx)
    parsed = jsonl.parse_events(_read_events(source), cl.clock.now())
    if parsed.bad and not skip_bad:
        _emit(fmt, views.bad_lines_view(source, parsed.bad, parsed.lines))
        raise UsageRejected(
            f"{source}: {_count(len(parsed.bad), 'bad line')}; nothing was recorded "
            "(--skip-bad records the good lines)"
        )
    report = jsonl.ImportReport(source, parsed.lines, parsed.bad)
    show = fmt is Format.TABLE and _interactive()
    events = jsonl.with_orgs(parsed.events, cl.resolve_orgs(e.org_id for _, e in parsed.events))
    _send(_batches(cl, events, batch_size, report), len(events), show)
    _emit(fmt, views.import_view(report))
    error = _import_error(report)
    if error is not None:
        raise error


@usage_app.command("list")
def usage_list(
    ctx: typer.Context,
    org: OrgArg,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many.")] = 100,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """An organization's usage events, newest first (accepted, refused and voided)."""
    _emit(fmt, views.usage_events_view(_open(ctx).usage_events(org, limit)))


@usage_app.command("show")
def usage_show(
    ctx: typer.Context, org: OrgArg, event_id: EventArg, fmt: FormatOption = Format.TABLE
) -> None:
    """One usage event: its usage, outcome, cost by component and the grants that paid."""
    _emit(fmt, views.usage_event_view(_open(ctx).usage_event(org, event_id)))


@usage_app.command("void")
def usage_void(
    ctx: typer.Context, org: OrgArg, event_id: EventArg, fmt: FormatOption = Format.TABLE
) -> None:
    """Cancel an accepted event: its credits go back to the grants that paid (again: no-op)."""
    _emit(fmt, views.usage_event_view(_open(ctx).void_event(org, event_id)))


@usage_app.command("amend")
def usage_amend(
    ctx: typer.Context,
    org: OrgArg,
    event_id: EventArg,
    *,
    quantity: QuantityOption = None,
    dimension: DimensionOption = None,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Re-price an accepted event with corrected usage at its own time.

    The -q quantities replace the event's (give all of them); -d dimensions, if
    any are given, replace its dimensions. The difference is charged or
    given back.
    """
    amended = _open(ctx).amend_event(
        org,
        event_id,
        _pairs(quantity, "--quantity"),
        _pairs(dimension, "--dimension") if dimension else None,
    )
    _emit(fmt, views.usage_event_view(amended))


@usage_app.command("credit-back")
def usage_credit_back(
    ctx: typer.Context,
    org: OrgArg,
    event_id: EventArg,
    *,
    reason: Annotated[
        str, typer.Option(help="Why, kept on the ledger entry.")
    ] = "acceptance criteria not met",
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Credit back an accepted event's fee (seed 003: a training run whose acceptance
    criteria were not met): a refund grant whose entry names the event; once per event."""
    _emit(fmt, views.grant_view(_open(ctx).credit_back(org, event_id, reason)))


# -- reports ------------------------------------------------------------------------------

report_app = typer.Typer(
    help="Reports: usage by project, operation, member and period.", no_args_is_help=True
)
app.add_typer(report_app, name="report")


class ReportFormat(enum.StrEnum):
    TABLE = "table"
    CSV = "csv"
    JSON = "json"


class Period(enum.StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


def _report_time(text: str | None, what: str) -> datetime | None:
    """A report bound: an ISO 8601 timestamp with a zone, or a date (midnight UTC)."""
    if text is not None and re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return _time(f"{text}T00:00:00+00:00", what)
    return _time(text, what)


@report_app.command("usage")
def report_usage(
    ctx: typer.Context,
    org: OrgArg,
    *,
    by: Annotated[
        str,
        typer.Option("--by", metavar="GROUPS", help="Comma-separated: project, operation, member."),
    ] = "project",
    period: Annotated[
        Period | None,
        typer.Option(help="Also by UTC day, ISO week (2026-W02) or month; default: none."),
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="From (inclusive): 2026-01-01 or a timestamp.")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="To (exclusive); default: now. Default window: 30 days.")
    ] = None,
    fmt: Annotated[
        ReportFormat,
        typer.Option("--format", "-f", help="table for people, csv or json for other tools."),
    ] = ReportFormat.TABLE,
) -> None:
    """An organization's accepted usage: events and credits by group and period.

    Voided events are left out and amended ones count at their amended cost;
    a group without a project or member shows "(none)" (an empty CSV cell,
    null in JSON). Amounts are credits; JSON adds micro-credits (cost_micros).
    """
    groups = [g.strip() for g in by.split(",") if g.strip()]
    name = None if period is None else period.value
    report = _open(ctx).usage_report(
        org, groups, _report_time(since, "--since"), _report_time(until, "--until"), period=name
    )
    if fmt is ReportFormat.CSV:
        typer.echo(views.usage_report_csv(report), nl=False)
    else:
        _emit(Format(fmt.value), views.usage_report_view(report, name))


# -- reservations -----------------------------------------------------------------------

_TTL = re.compile(r"(\d+)([smhd]?)")
_TTL_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def _ttl(text: str) -> timedelta:
    """A time-to-live: ``90s``, ``30m``, ``1h``, ``2d`` (a bare number is seconds)."""
    found = _TTL.fullmatch(text.strip())
    if found is None:
        raise InvalidSetting("--ttl", text, "a whole number and a unit: 90s, 30m, 1h, 2d")
    return timedelta(seconds=int(found.group(1)) * _TTL_UNITS[found.group(2)])


def _cost(text: str) -> int:
    """A committed cost: a decimal number of credits, zero or more."""
    micros = parse_credits(text)
    if micros < 0:
        raise InvalidAmount(text, "must not be negative")
    return micros


ReservationArg = Annotated[
    str, typer.Argument(metavar="RESERVATION_ID", help="The hold's id (res_...).")
]


@app.command(context_settings=_NUMBERS)
def reserve(
    ctx: typer.Context,
    org: OrgArg,
    amount: AmountArg,
    *,
    ttl: Annotated[
        str, typer.Option(metavar="DURATION", help="Released if still open after: 30m, 1h, 2d.")
    ] = "1h",
    key: Annotated[
        str | None, typer.Option(help="Idempotency key: a retry returns the same hold.")
    ] = None,
    project: ProjectOption = None,
    member: MemberOption = None,
    operation: ForOption = None,
    dimension: ForDimensionOption = None,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Hold credits for a running operation (exit 5 if they cannot be covered)."""
    held = _open(ctx).reserve(
        org,
        _amount(amount),
        ttl=_ttl(ttl),
        project_id=project,
        member_id=member,
        idempotency_key=key,
        **_target(operation, dimension),
    )
    _emit(fmt, views.reservation_view(held))


@app.command(context_settings=_NUMBERS)
def commit(
    ctx: typer.Context,
    org: OrgArg,
    reservation_id: ReservationArg,
    amount: Annotated[
        str, typer.Argument(metavar="AMOUNT", help="The actual cost in credits, 0 or more.")
    ],
    *,
    step: Annotated[
        bool, typer.Option("--step", help="One step of a longer job: keep the rest held.")
    ] = False,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Charge a held operation's actual cost: from the hold first, the rest released."""
    settled = _open(ctx).commit(org, reservation_id, _cost(amount), final=not step)
    _emit(fmt, views.settlement_view(settled))


@app.command()
def release(
    ctx: typer.Context,
    org: OrgArg,
    reservation_id: ReservationArg,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Give a whole hold back to the grants it came from (the operation failed)."""
    _emit(fmt, views.settlement_view(_open(ctx).release(org, reservation_id)))


@app.command()
def reservations(
    ctx: typer.Context,
    org: OrgArg,
    *,
    status: Annotated[ReservationStatus | None, typer.Option(help="Only these.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many.")] = 100,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """An organization's reservations, newest first."""
    _emit(fmt, views.reservations_view(_open(ctx).reservations(org, status, limit)))


# -- plans ------------------------------------------------------------------------------

PlanFileArg = Annotated[
    Path,
    typer.Argument(
        metavar="FILE",
        exists=True,
        dir_okay=False,
        readable=True,
        help="A TOML file of [[plans]] tables (examples/PLATFORM/plans.toml).",
    ),
]


@plan_app.command("load")
def plan_load(ctx: typer.Context, file: PlanFileArg, fmt: FormatOption = Format.TABLE) -> None:
    """Store every plan of a TOML file, each replacing one of its name; all or nothing."""
    try:
        source = file.read_bytes()
    except OSError as exc:
        raise InvalidSetting("plans file", str(file), exc.strerror or str(exc)) from None
    _emit(fmt, views.plans_view(_open(ctx).load_plans(source)))


@plan_app.command("show")
def plan_show(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="The plan's name.")],
    fmt: FormatOption = Format.TABLE,
) -> None:
    """A plan: its depletion policy, flex settings, gates and billing."""
    plan = _open(ctx).plan(name)
    _emit(fmt, cycle_views.plan_billing_view(views.plan_view(plan), plan))


@plan_app.command("assign")
def plan_assign(
    ctx: typer.Context,
    org: OrgArg,
    plan: Annotated[str, typer.Argument(metavar="PLAN", help="A stored plan's name.")],
    *,
    depletion: Annotated[
        DepletionPolicy | None,
        typer.Option(help="This organization's own depletion policy [the plan's]."),
    ] = None,
    flex: Annotated[
        bool | None, typer.Option("--flex/--no-flex", help="Allow flex credits [the plan's].")
    ] = None,
    subscribe: Annotated[
        bool,
        typer.Option(
            "--subscribe",
            help="Start the plan's billing: its sign-up credits now, its cycle credits at "
            "each renewal (tick).",
        ),
    ] = False,
    currency: Annotated[
        str | None, typer.Option(help="The currency the plan's fee is billed in [the plan's].")
    ] = None,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Put an organization on a plan, optionally with its own depletion policy and flex.

    With --subscribe the plan's billing starts. An organization already subscribed
    follows its plan: another plan restarts the billing cycle now, expires what is
    left of the old plan's cycle-bound included credits and grants the new plan's.
    """
    cl = _open(ctx)
    assigned = cl.change_plan(
        org, plan, depletion=depletion, flex_enabled=flex, subscribe=subscribe, currency=currency
    )
    view = views.metering_view(assigned.metering)
    _emit(fmt, cycle_views.assigned_view(view, assigned, cl.subscription(org)))


@org_app.command("status")
def org_status(ctx: typer.Context, org: OrgArg, fmt: FormatOption = Format.TABLE) -> None:
    """An organization's balance, plan, rate card, depletion policy, flex, read-only, and
    its subscription: plan, cycle, next renewal."""
    cl = _open(ctx)
    view = views.org_status_view(cl.balance(org), cl.metering(org), cl.is_read_only(org))
    _emit(fmt, cycle_views.with_subscription(view, cl.subscription(org)))


# -- plan create, the scheduler: tick and worker ------------------------------------------

PlanDocumentOption = Annotated[
    Path | None,
    typer.Option(
        "--file",
        metavar="FILE",
        exists=True,
        dir_okay=False,
        readable=True,
        help="One plan's document, TOML or JSON (by a .json suffix or --syntax); the "
        "options below override its fields.",
    ),
]
_EXPIRY_FORMS = "never, end_of_cycle, 'after 6 months' or 'rollover 3'"


def _plan_document(file: Path | None, syntax: Syntax | None) -> dict[str, Any]:
    """The plan document in FILE (a plan's table, or a file of exactly one [[plans]])."""
    if file is None:
        return {}
    chosen = syntax or (Syntax.JSON if file.suffix.lower() == ".json" else Syntax.TOML)
    try:
        text = file.read_text(encoding="utf-8")
        document = (
            json.loads(text, parse_float=Decimal)
            if chosen is Syntax.JSON
            else tomllib.loads(text, parse_float=Decimal)
        )
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InvalidSetting("plan file", str(file), str(exc)) from None
    if isinstance(document, dict) and isinstance(document.get("plans"), list):
        if len(document["plans"]) != 1 or set(document) != {"plans"}:
            raise InvalidSetting(
                "plan file", str(file), "holds several plans: use `plan load` for [[plans]]"
            )
        document = document["plans"][0]
    if not isinstance(document, dict):
        raise InvalidSetting("plan file", str(file), "must be one plan's table or object")
    return document


def _expiry_document(text: str) -> str | dict[str, Any]:
    """--expiry: never, end_of_cycle, 'after 6 months', 'rollover 3'."""
    words = text.split(maxsplit=1)
    if len(words) == 2 and words[0] == "after":
        return {"after": words[1]}
    if len(words) == 2 and words[0] == "rollover":
        cycles = words[1].strip()
        return {"rollover_cycles": int(cycles) if cycles.isdigit() else cycles}
    if text in ("never", "end_of_cycle"):
        return text
    raise InvalidSetting("--expiry", text, f"one of {_EXPIRY_FORMS}")


def _grant_document(credits: str | None, kind: GrantKind | None) -> dict[str, str] | None:
    if credits is None:
        return None
    return {"credits": credits, **({} if kind is None else {"kind": kind.value})}


def _gates_document(
    base: Any, forbid: list[str] | None, allow: list[str] | None, caps: list[str] | None
) -> Any:
    """The document's gates with the options' added (each replaces one of its name)."""
    if not (forbid or allow or caps):
        return base
    gates = dict(base) if isinstance(base, dict) else {}
    if forbid:
        gates["forbid_operations"] = list(forbid)
    if allow:
        chosen = _pairs(allow, "--allow")
        gates["allow"] = {
            **gates.get("allow", {}),
            **{k: [v.strip() for v in value.split(",")] for k, value in chosen.items()},
        }
    if caps:
        gates["max"] = {**gates.get("max", {}), **_pairs(caps, "--max")}
    return gates


@plan_app.command("create", context_settings=_NUMBERS)
def plan_create(
    ctx: typer.Context,
    name: Annotated[
        str | None, typer.Argument(metavar="NAME", help="The plan's name [the file's].")
    ] = None,
    *,
    file: PlanDocumentOption = None,
    syntax: SyntaxOption = None,
    depletion: Annotated[
        DepletionPolicy | None, typer.Option(help="When credits run out [pause].")
    ] = None,
    flex: Annotated[bool | None, typer.Option("--flex/--no-flex", help="[--flex]")] = None,
    flex_limit: Annotated[
        int | None,
        typer.Option(min=0, metavar="MICROS", help="Most flex micro-credits a month [none]."),
    ] = None,
    max_open_reservations: Annotated[int | None, typer.Option(min=0)] = None,
    forbid: Annotated[
        list[str] | None, typer.Option(metavar="OPERATION", help="An operation refused.")
    ] = None,
    allow: Annotated[
        list[str] | None,
        typer.Option(metavar="DIM=A,B", help="The only values of a dimension: mode=Basic"),
    ] = None,
    cap: Annotated[
        list[str] | None,
        typer.Option("--max", metavar="NAME=VALUE", help="A quantity's cap: training_data_mb=100"),
    ] = None,
    interval: Annotated[BillingInterval | None, typer.Option(help="Cycle length [monthly].")] = (
        None
    ),
    anchor: Annotated[
        AnchorKind | None, typer.Option(help="Cycles from the sign-up or on months [signup].")
    ] = None,
    time_zone: Annotated[
        str | None, typer.Option(metavar="ZONE", help="IANA zone of the cycles [UTC].")
    ] = None,
    signup_credits: Annotated[
        str | None, typer.Option(metavar="CREDITS", help="Granted at the sign-up (cycle 0).")
    ] = None,
    cycle_credits: Annotated[
        str | None, typer.Option(metavar="CREDITS", help="Granted at each cycle's start.")
    ] = None,
    grant_kind: Annotated[
        GrantKind | None,
        typer.Option(help=f"Kind of the plan's grants: {', '.join(PLAN_GRANT_KINDS)} [included]."),
    ] = None,
    expiry: Annotated[
        str | None, typer.Option(metavar="RULE", help=f"Grants expire: {_EXPIRY_FORMS} [never].")
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace a stored plan of this name.")
    ] = False,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Store one plan, from --file and/or the options (exit 4 if the name is taken).

    Every problem of the plan is listed at once (exit 2), nothing stored.
    """
    document = _plan_document(file, syntax)
    fields: dict[str, Any] = {
        "name": name,
        "depletion": None if depletion is None else depletion.value,
        "flex_enabled": flex,
        "flex_limit_micros": flex_limit,
        "max_open_reservations": max_open_reservations,
        "interval": None if interval is None else interval.value,
        "anchor": None if anchor is None else anchor.value,
        "time_zone": time_zone,
        "signup_grant": _grant_document(signup_credits, grant_kind),
        "cycle_grant": _grant_document(cycle_credits, grant_kind),
        "grant_expiry": None if expiry is None else _expiry_document(expiry),
    }
    document.update({k: v for k, v in fields.items() if v is not None})
    gates = _gates_document(document.get("gates"), forbid, allow, cap)
    if gates is not None:
        document["gates"] = gates
    plan = _open(ctx).create_plan(document, replace=replace)
    _emit(fmt, cycle_views.plan_billing_view(views.plan_view(plan), plan))


@app.command("tick")
def tick_command(ctx: typer.Context, fmt: FormatOption = Format.TABLE) -> None:
    """Run the scheduler once, for cron: renew the cycles due (every one missed, in
    order), expire grants and overdue holds, then the other jobs (invoices).

    Safe to run again and from several processes at once. Exit 0 when every job did
    all its work; otherwise the report, then the first error and its exit code.
    """
    report = _open(ctx).tick()
    _emit(fmt, cycle_views.tick_view(report))
    if report.errors:
        raise report.errors[0]


_log = logging.getLogger("creditline.worker")


def _log_tick(fmt: Format) -> Callable[[TickReport], None]:
    def on_tick(report: TickReport) -> None:
        _log.log(logging.INFO if report.ok else logging.WARNING, cycle_views.tick_line(report))
        if fmt is Format.JSON:
            typer.echo(json.dumps(cycle_views.tick_view(report).data, ensure_ascii=False))

    return on_tick


def _log_error(exc: Exception) -> None:
    if isinstance(exc, CreditlineError):
        _log.error("tick failed: %s", describe(exc))
    else:
        _log.error("tick failed", exc_info=exc)


@app.command("worker")
def worker_command(
    ctx: typer.Context,
    interval: Annotated[
        float, typer.Option(min=0.01, metavar="SECONDS", help="Time between ticks.")
    ] = 60.0,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Tick every --interval seconds until SIGINT or SIGTERM, then exit 0.

    Each tick is logged on stderr (with -f json its report is also printed as one JSON
    line on stdout). A stop signal lets the tick under way finish. A failed tick is
    logged and the next one runs on time. Several workers may run at once.
    """
    cl = _open(ctx)
    stop = threading.Event()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    _log.addHandler(handler)
    _log.setLevel(logging.INFO)
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in _STOP_SIGNALS}
    try:
        _log.info("worker started: a tick every %ss on %s", interval, cl.dialect)
        ticks = run_worker(cl.tick, interval, stop, on_tick=_log_tick(fmt), on_error=_log_error)
        _log.info("worker stopped after %d tick(s)", ticks)
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
        _log.removeHandler(handler)


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


# -- the customer portal ------------------------------------------------------------------

portal_app = typer.Typer(
    help="The web customer portal: signed, short-lived links into an organization's pages.",
    no_args_is_help=True,
)
app.add_typer(portal_app, name="portal")


@portal_app.command("link")
def portal_link(
    ctx: typer.Context,
    org: OrgArg,
    *,
    member: Annotated[
        str | None, typer.Option(metavar="MEMBER", help="Act as this member (mem_...).")
    ] = None,
    read_only: Annotated[
        bool, typer.Option("--read-only", help="A session that sees everything, changes nothing.")
    ] = False,
    ttl: Annotated[
        str, typer.Option(metavar="TTL", help="How long the link opens: 90s, 30m, 1h (30s to 1h).")
    ] = "1h",
    base_url: Annotated[
        str, typer.Option(metavar="URL", help="The server's address the link is on.")
    ] = "http://127.0.0.1:8000",
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Print a portal link for an organization: opening it in a browser signs in to the
    organization's portal (overview, usage, transactions, billing, alerts)."""
    seconds = int(_ttl(ttl).total_seconds())
    made = _open(ctx).create_portal_session(
        org, member_id=member, read_only=read_only, ttl_seconds=seconds
    )
    url = base_url.rstrip("/") + made.url
    expires = made.expires_at.astimezone(UTC).isoformat()
    data = {
        "url": url,
        "path": made.url,
        "org_id": made.org_id,
        "member_id": made.member_id,
        "read_only": made.read_only,
        "expires_at": expires,
    }
    scope = ("read-only, " if made.read_only else "") + f"as {made.member_id or 'the organization'}"
    parts = (views.Whole(url, style="bold"), Text(f"opens until {expires} ({scope})"))
    _emit(fmt, views.View(data, parts))


# The billing commands (pack, purchase, invoice, billing), the alert commands (alert,
# webhook), the HTTP API's (key, serve), top-ups' (topup) and country gating's (org update,
# sales) register themselves on `app`.
from creditline.entrypoints import (  # noqa: E402, F401
    alerts_cli,
    api_cli,
    billing_cli,
    sales_cli,
    topup_cli,
)


def _plain_help(typer_app: typer.Typer) -> None:
    """Help as click writes it, for every command: paragraphs re-wrapped to the terminal and
    flags without a type (rich's panels show ``--help <bool>``, keep a docstring's line
    breaks and read ``[now]`` as markup). A command list shows each command's whole first
    paragraph, wrapped, rather than click's first sentence cut at the column's width."""
    typer_app.rich_markup_mode = None
    for command in typer_app.registered_commands:
        text = command.help or (command.callback.__doc__ if command.callback else None)
        if command.short_help is None and isinstance(text, str):
            command.short_help = _first_paragraph(text)
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            info = group.typer_instance.info
            if isinstance(info.help, str) and not isinstance(info.short_help, str):
                info.short_help = _first_paragraph(info.help)
            _plain_help(group.typer_instance)


def _first_paragraph(text: str) -> str:
    return " ".join(inspect.cleandoc(text).split("\n\n")[0].split())


_plain_help(app)


def main() -> None:
    """The console script ``creditline``."""
    app(prog_name="creditline")
