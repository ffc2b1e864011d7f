"""``creditline ratecard``, ``quote``, ``quotes`` and ``examples``: rate cards loaded from
TOML or JSON, prices quoted without spending (or bound for a while: binding quotes), and
the seed platforms' example sets.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from creditline.domain.errors import ConfigurationError, InvalidRateCard, InvalidSetting
from creditline.domain.pricing.ratecard_format import parse_ratecard
from creditline.entrypoints.cli.app import open_engine
from creditline.entrypoints.cli.errors import RateCardRejected
from creditline.entrypoints.cli.options import (
    DimensionOption,
    OperationArg,
    OrgArg,
    QuantityOption,
    StepOption,
    Syntax,
    SyntaxOption,
    file_argument,
    file_syntax,
    org_option,
    parse_pairs,
    parse_step,
    parse_time,
    parse_ttl,
    read_file,
)
from creditline.entrypoints.cli.output import Format, FormatOption, emit
from creditline.entrypoints.cli.reports import ReportFormat, report_time
from creditline.entrypoints.cli.views.pricing import (
    examples_view,
    quote_view,
    ratecard_check_view,
    ratecard_view,
    ratecards_view,
    with_plans,
)
from creditline.entrypoints.cli.views.quotes import binding_quote_view, binding_quotes_view
from creditline.entrypoints.cli.views.whatif import whatif_csv, whatif_view
from creditline.services.ratecards import DEFAULT_RATE_CARD

commands = typer.Typer()
"""``quote`` and ``quotes``."""


__all__ = ["commands", "examples_app", "ratecard_app"]

ratecard_app = typer.Typer(
    help="Rate cards: versioned price lists, loaded from TOML or JSON files.",
    no_args_is_help=True,
)
examples_app = typer.Typer(
    help="The example sets of the seed platforms (examples/PLATFORM/).", no_args_is_help=True
)


_SYNTAX: dict[Syntax, Literal["toml", "json"]] = {Syntax.TOML: "toml", Syntax.JSON: "json"}


CardFileArg = Annotated[
    Path, file_argument("A rate card document: TOML, or JSON (by a .json suffix or --syntax).")
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
    chosen = file_syntax(file, syntax)
    return read_file(file, "rate card file"), _SYNTAX[chosen]


def _examples_dir(folder: Path | None) -> Path:
    """The examples folder: --dir / $CREDITLINE_EXAMPLES, else the source tree's."""
    # src/creditline/entrypoints/cli/ratecards.py -> the checkout's root holds examples/.
    found = folder or Path(__file__).resolve().parents[4] / "examples"
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
        emit(fmt, ratecard_check_view(str(file), None, exc.problems))
        raise RateCardRejected(str(file), exc.problems) from None
    emit(fmt, ratecard_check_view(str(file), card, ()))


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
    emit(fmt, ratecard_view(open_engine(ctx).load_rate_card(source, chosen)))


@ratecard_app.command("show")
def ratecard_show(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The card's name.")] = DEFAULT_RATE_CARD,
    at: AtOption = None,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """A rate card's version in force now (or at --at): its prices, operation by operation."""
    emit(fmt, ratecard_view(open_engine(ctx).rate_card(name, parse_time(at, "--at"))))


@ratecard_app.command("list")
def ratecard_list(ctx: typer.Context, fmt: FormatOption = Format.TABLE) -> None:
    """Every loaded rate card and its versions."""
    emit(fmt, ratecards_view(open_engine(ctx).rate_cards()))


@ratecard_app.command("whatif")
def ratecard_whatif(
    ctx: typer.Context,
    file: CardFileArg,
    *,
    since: Annotated[
        str,
        typer.Option("--from", metavar="WHEN", help="From (inclusive): 2026-11-01 or a timestamp."),
    ],
    until: Annotated[
        str | None,
        typer.Option("--to", metavar="WHEN", help="To (exclusive): a date or a timestamp [now]."),
    ] = None,
    org: Annotated[
        str | None,
        typer.Option(metavar="ORG", help="Only this organization [every one priced by the card]."),
    ] = None,
    syntax: SyntaxOption = None,
    fmt: Annotated[
        ReportFormat,
        typer.Option("--format", "-f", help="table for people, csv or json for other tools."),
    ] = ReportFormat.TABLE,
) -> None:
    """What a draft rate card would have charged for past usage; nothing is loaded or written.

    Re-prices the accepted usage that happened from --from to --to by the draft FILE,
    for --org or for every organization priced by the draft's card: per organization
    and operation, what was charged and what the draft would have charged, and who
    would have run out of credits earlier, and when.
    """
    source, chosen = _card_file(file, syntax)
    start = report_time(since, "--from")
    if start is None:  # --from is required: never None
        raise typer.BadParameter("required", param_hint="--from")
    report = open_engine(ctx).what_if(
        source,
        since=start,
        until=report_time(until, "--to"),
        org_id=org,
        syntax=chosen,
    )
    if fmt is ReportFormat.CSV:
        typer.echo(whatif_csv(report), nl=False)
    else:
        emit(Format(fmt.value), whatif_view(report))


@commands.command("quote")
def quote_command(
    ctx: typer.Context,
    operation: OperationArg,
    *,
    org: Annotated[str | None, org_option("Price by this organization's rate card.")] = None,
    rate_card: Annotated[
        str | None, typer.Option(metavar="NAME", help="Price by this rate card [default].")
    ] = None,
    quantity: QuantityOption = None,
    dimension: DimensionOption = None,
    step: StepOption = None,
    at: AtOption = None,
    valid_for: Annotated[
        str | None,
        typer.Option(
            "--valid-for",
            metavar="DURATION",
            help="Issue a binding quote for --org, valid this long (90s, 15m, 1h; at most "
            "1d): usage recorded or a hold committed with --quote ID is charged its price, "
            "once.",
        ),
    ] = None,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Price an operation without spending: the total and its breakdown.

    With --valid-for, the price is bound: a quote with an id, stored with its breakdown,
    that usage (creditline usage record --quote ID) or a commit (creditline commit
    --quote ID) is charged once, even if a new rate card version takes effect meanwhile.
    """
    engine = open_engine(ctx)
    quantities = parse_pairs(quantity, "--quantity")
    dimensions = parse_pairs(dimension, "--dimension")
    steps = [parse_step(spec) for spec in step or ()]
    if valid_for is not None:
        if org is None or rate_card is not None or at is not None:
            raise InvalidSetting(
                "--valid-for", valid_for, "a binding quote is for --org, now, by its own card"
            )
        span = parse_ttl(valid_for, "--valid-for")
        issued = engine.issue_quote(org, operation, quantities, dimensions, steps=steps,
                                    valid_for=span)  # fmt: skip
        emit(fmt, binding_quote_view(issued, engine.clock.now()))
        return
    at_time = parse_time(at, "--at")
    quote = engine.quote(org, operation, quantities, dimensions, steps=steps, at=at_time,
                         rate_card=rate_card)  # fmt: skip
    emit(fmt, quote_view(quote))


@commands.command("quotes")
def quotes_command(
    ctx: typer.Context,
    org: OrgArg,
    quote_id: Annotated[
        str | None, typer.Argument(metavar="[QUOTE_ID]", help="Show this quote only.")
    ] = None,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """An organization's binding quotes, newest first, each issued, used or expired."""
    engine = open_engine(ctx)
    now = engine.clock.now()
    if quote_id is not None:
        emit(fmt, binding_quote_view(engine.binding_quote(org, quote_id), now))
    else:
        emit(fmt, binding_quotes_view(engine.binding_quotes(org), now))


@examples_app.command("list")
def examples_list(folder: ExamplesDirOption = None, fmt: FormatOption = Format.TABLE) -> None:
    """The platforms that have an example set."""
    where = _examples_dir(folder)
    emit(fmt, examples_view(str(where), _platforms(where)))


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
    cl = open_engine(ctx)
    card = cl.load_rate_card((where / platform / "ratecard.toml").read_bytes())
    plans_file = where / platform / "plans.toml"
    plans = cl.load_plans(plans_file.read_text(encoding="utf-8")) if plans_file.is_file() else []
    packs_file = where / platform / "packs.toml"  # its credit packs, when it sells any
    if packs_file.is_file():
        cl.load_packs(packs_file.read_bytes())
    emit(fmt, with_plans(ratecard_view(card), [p.name for p in plans]))
