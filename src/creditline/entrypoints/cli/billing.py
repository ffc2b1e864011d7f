"""The billing commands of ``creditline``: ``pack``, ``purchase``, ``invoice``, ``billing``.

They follow :mod:`creditline.entrypoints.cli` (one engine call, a view, ``--format``,
errors as one line and an exit code from its one table) and are registered on its app
when it is imported. The payment provider and the receipt mailer come from the
environment (:func:`creditline.bootstrap.payments_from_env`: Stripe when
``CREDITLINE_STRIPE_API_KEY`` and ``CREDITLINE_STRIPE_WEBHOOK_SECRET`` are set, else
none, and buying is refused with exit 9).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from creditline.domain.errors import InvalidSetting
from creditline.entrypoints.cli.app import open_engine
from creditline.entrypoints.cli.options import (
    NUMBERS,
    CurrencyOption,
    LimitOption,
    OrgArg,
    file_argument,
    parse_amount,
    read_file,
)
from creditline.entrypoints.cli.output import Format, FormatOption, emit
from creditline.entrypoints.cli.views.billing import (
    billing_events_view,
    billing_history_view,
    catalogue_view,
    flex_run_view,
    invoice_view,
    invoices_view,
    pending_items_view,
    purchase_view,
    purchases_view,
)

__all__ = ["billing_app", "invoice_app", "pack_app", "purchase_app"]

pack_app = typer.Typer(
    help="Credit packs: the catalogue of what can be bought.", no_args_is_help=True
)
purchase_app = typer.Typer(
    help="Purchases of credits through the payment provider.", no_args_is_help=True
)
invoice_app = typer.Typer(help="Invoices: flex usage billed monthly.", no_args_is_help=True)
billing_app = typer.Typer(
    help="Billing history: purchases, refunds, invoices.", no_args_is_help=True
)

PurchaseArg = Annotated[
    str, typer.Argument(metavar="PURCHASE", help="The purchase's id (pur_...).")
]
InvoiceArg = Annotated[str, typer.Argument(metavar="INVOICE", help="The invoice's id (inv_...).")]


# -- packs ------------------------------------------------------------------------------


@pack_app.command("load")
def pack_load(
    ctx: typer.Context,
    file: Annotated[Path, file_argument("A catalogue in TOML (examples/PLATFORM/packs.toml).")],
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Store the credit pack catalogue of a file, replacing the stored one; all or nothing."""
    source = read_file(file, "packs file")
    emit(fmt, catalogue_view(open_engine(ctx).load_packs(source)))


@pack_app.command("list")
def pack_list(ctx: typer.Context, fmt: FormatOption = Format.TABLE) -> None:
    """The packs on sale, their prices and expiry, any-amount rate and refund policy."""
    emit(fmt, catalogue_view(open_engine(ctx).packs()))


# -- purchases --------------------------------------------------------------------------


@purchase_app.command("create", context_settings=NUMBERS)
def purchase_create(
    ctx: typer.Context,
    org: OrgArg,
    pack: Annotated[
        str | None, typer.Argument(metavar="[PACK]", help="A pack's name (see pack list).")
    ] = None,
    *,
    credits: Annotated[
        str | None,
        typer.Option(metavar="AMOUNT", help="Buy this many credits at the any-amount rate."),
    ] = None,
    currency: CurrencyOption = "USD",
    email: Annotated[str | None, typer.Option(help="Where the receipt goes.")] = None,
    success_url: Annotated[str | None, typer.Option(help="Back here after paying.")] = None,
    cancel_url: Annotated[str | None, typer.Option(help="Back here on giving up.")] = None,
    key: Annotated[
        str | None, typer.Option(help="Idempotency key: a retry returns the same purchase.")
    ] = None,
    on_account: Annotated[
        bool,
        typer.Option(
            "--on-account", help="Credit now and bill on the next monthly invoice (no checkout)."
        ),
    ] = False,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Start buying a pack (or --credits at the fixed rate): prints the checkout URL.

    The credits are granted once the payment provider confirms the payment. Exit 9 when
    no payment provider is configured (operator grants only). With --on-account the
    credits are granted now and the price goes on the next monthly invoice.
    """
    cl = open_engine(ctx)
    amount = None if credits is None else parse_amount(credits)
    if on_account:
        bought = cl.buy_on_account(
            org, pack, credits=amount, currency=currency.upper(), idempotency_key=key
        )
        emit(fmt, purchase_view(bought))
        return
    urls = {k: v for k, v in (("success_url", success_url), ("cancel_url", cancel_url)) if v}
    purchase = cl.create_purchase(
        org,
        pack,
        credits=amount,
        currency=currency.upper(),
        email=email,
        idempotency_key=key,
        **urls,
    )
    emit(fmt, purchase_view(purchase))


@purchase_app.command("list")
def purchase_list(
    ctx: typer.Context, org: OrgArg, limit: LimitOption = 100, fmt: FormatOption = Format.TABLE
) -> None:
    """An organization's purchases, newest first (its purchase history)."""
    emit(fmt, purchases_view(open_engine(ctx).purchases(org, limit)))


@purchase_app.command("show")
def purchase_show(
    ctx: typer.Context, org: OrgArg, purchase: PurchaseArg, fmt: FormatOption = Format.TABLE
) -> None:
    """One purchase: its terms, status, checkout, grant and refund."""
    emit(fmt, purchase_view(open_engine(ctx).purchase(org, purchase)))


@purchase_app.command("refresh")
def purchase_refresh(
    ctx: typer.Context, org: OrgArg, purchase: PurchaseArg, fmt: FormatOption = Format.TABLE
) -> None:
    """Ask the payment provider about a pending purchase; grant it if it is paid."""
    emit(fmt, purchase_view(open_engine(ctx).refresh_purchase(org, purchase)))


@purchase_app.command("refund")
def purchase_refund(
    ctx: typer.Context, org: OrgArg, purchase: PurchaseArg, fmt: FormatOption = Format.TABLE
) -> None:
    """Refund a purchase's unspent credits and the money for them, if its policy allows.

    Exit 5 when the refund is refused (a final, non-refundable purchase; nothing left).
    """
    emit(fmt, purchase_view(open_engine(ctx).refund_purchase(org, purchase)))


# -- invoices ---------------------------------------------------------------------------


@invoice_app.command("list")
def invoice_list(
    ctx: typer.Context, org: OrgArg, limit: LimitOption = 100, fmt: FormatOption = Format.TABLE
) -> None:
    """An organization's invoices, newest first."""
    emit(fmt, invoices_view(open_engine(ctx).invoices(org, limit)))


@invoice_app.command("show")
def invoice_show(
    ctx: typer.Context,
    org: OrgArg,
    invoice: InvoiceArg,
    html: Annotated[bool, typer.Option("--html", help="Print the invoice as HTML.")] = False,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """One invoice: its number, period, lines and status (or its HTML with --html)."""
    cl = open_engine(ctx)
    if html:
        typer.echo(cl.invoice_html(org, invoice), nl=False)
        return
    emit(fmt, invoice_view(cl.invoice(org, invoice)))


@invoice_app.command("pdf")
def invoice_pdf(
    ctx: typer.Context,
    org: OrgArg,
    invoice: InvoiceArg,
    output: Annotated[
        Path, typer.Option("--output", "-o", metavar="FILE", dir_okay=False, help="Write here.")
    ],
) -> None:
    """Write an invoice as a PDF file."""
    document = open_engine(ctx).invoice_pdf(org, invoice)
    try:
        output.write_bytes(document)
    except OSError as exc:
        raise InvalidSetting("--output", str(output), exc.strerror or str(exc)) from None
    typer.echo(f"wrote {output} ({len(document)} bytes)")


@invoice_app.command("run")
def invoice_run(
    ctx: typer.Context,
    month: Annotated[
        str | None, typer.Option(metavar="YYYY-MM", help="The month to bill [the previous].")
    ] = None,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Issue a month's invoices: plan fees, flex, purchases on account (safe to run again:
    nothing is issued twice)."""
    emit(fmt, flex_run_view(open_engine(ctx).invoice_month(month)))


@invoice_app.command("pay")
def invoice_pay(
    ctx: typer.Context, org: OrgArg, invoice: InvoiceArg, fmt: FormatOption = Format.TABLE
) -> None:
    """Charge an open invoice to the organization's saved payment method."""
    emit(fmt, invoice_view(open_engine(ctx).pay_invoice(org, invoice)))


@invoice_app.command("void")
def invoice_void(
    ctx: typer.Context, org: OrgArg, invoice: InvoiceArg, fmt: FormatOption = Format.TABLE
) -> None:
    """Cancel an open invoice; it keeps its number."""
    emit(fmt, invoice_view(open_engine(ctx).void_invoice(org, invoice)))


@invoice_app.command("mark-paid")
def invoice_mark_paid(
    ctx: typer.Context,
    org: OrgArg,
    invoice: InvoiceArg,
    reference: Annotated[
        str | None, typer.Option(help="How it was paid (a transfer's reference).")
    ] = None,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Mark an open invoice paid outside the provider; lifts a suspension it caused."""
    emit(fmt, invoice_view(open_engine(ctx).mark_invoice_paid(org, invoice, reference)))


@invoice_app.command("retry")
def invoice_retry(ctx: typer.Context, fmt: FormatOption = Format.TABLE) -> None:
    """Charge again every invoice whose dunning try is due (the scheduler's job)."""
    emit(fmt, invoices_view(open_engine(ctx).retry_payments()))


@invoice_app.command("events")
def invoice_events(
    ctx: typer.Context,
    org: OrgArg,
    invoice: Annotated[
        str | None, typer.Option(metavar="INVOICE", help="Only this invoice's events.")
    ] = None,
    limit: LimitOption = 100,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """The steps of the invoices' collection (issued, payment failed, retry scheduled,
    suspended, paid, restored), each with its cause, newest first."""
    emit(fmt, billing_events_view(open_engine(ctx).billing_events(org, limit, invoice)))


@invoice_app.command("pending")
def invoice_pending(ctx: typer.Context, org: OrgArg, fmt: FormatOption = Format.TABLE) -> None:
    """What waits for the organization's next invoice: fees, prorations, credits."""
    emit(fmt, pending_items_view(open_engine(ctx).pending_items(org)))


@billing_app.command("history")
def billing_history(
    ctx: typer.Context, org: OrgArg, limit: LimitOption = 100, fmt: FormatOption = Format.TABLE
) -> None:
    """An organization's purchases, refunds and invoices, newest first."""
    emit(fmt, billing_history_view(open_engine(ctx).billing_history(org, limit)))
