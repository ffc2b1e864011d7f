"""Documents people read: invoices as HTML (Jinja2) and PDF (fpdf2), receipts as e-mail.

Rendering decides nothing: every number is the engine's, formatted (credits by
:func:`creditline.domain.amounts.format_credits`, money by
:func:`creditline.domain.money.format_money`). The templates are in ``templates/``.

The PDF uses the standard Helvetica font, which covers Latin-1: a character outside it
(in an organization's name) is printed as ``?``, never dropped silently from the
numbers, which are ASCII.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from creditline.domain.amounts import format_credits
from creditline.domain.invoices import Invoice, LineKind
from creditline.domain.money import format_money
from creditline.domain.purchases import Receipt

__all__ = ["invoice_html", "invoice_pdf", "receipt_html", "receipt_text"]

_ENV = Environment(
    loader=PackageLoader("creditline.adapters.documents", "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


def _when(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


_MONEY_ONLY = (LineKind.FEE, LineKind.PRORATION, LineKind.CREDIT)
"""Lines that bill money, not credits at a price: their credits (what a cycle granted)
are shown when there are any, their price per credit never."""


def _lines(invoice: Invoice) -> list[dict[str, str]]:
    return [
        {
            "description": line.description,
            "credits": format_credits(line.credits) if line.credits else "",
            "unit_price": (
                "" if line.kind in _MONEY_ONLY else invoice.money(line.unit_price_minor)
            ),
            "amount": invoice.money(line.amount_minor),
        }
        for line in invoice.lines
    ]


def _invoice_context(invoice: Invoice, org_name: str) -> dict[str, Any]:
    return {
        "invoice": invoice,
        "org_name": org_name,
        "issued": _when(invoice.issued_at),
        "lines": _lines(invoice),
        "total": invoice.money(invoice.total_minor),
    }


def invoice_html(invoice: Invoice, org_name: str) -> str:
    """The invoice as a standalone HTML page."""
    return _ENV.get_template("invoice.html").render(_invoice_context(invoice, org_name))


def _latin1(text: str) -> str:
    return text.encode("latin-1", "replace").decode("latin-1")


def invoice_pdf(invoice: Invoice, org_name: str) -> bytes:
    """The invoice as a PDF document (bytes starting ``%PDF``)."""
    # fpdf2 takes most of a second to import: only when a PDF is asked for.
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    context = _invoice_context(invoice, org_name)
    pdf = FPDF(format="A4")
    pdf.set_title(f"Invoice {invoice.display_number}")
    pdf.set_creation_date(invoice.issued_at)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 18)
    pdf.cell(0, 12, f"Invoice {invoice.display_number}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", size=11)
    for label, value in (
        ("Billed to", f"{org_name} ({invoice.org_id})"),
        ("Period", invoice.period),
        ("Issued", context["issued"]),
        ("Status", invoice.status.value.upper()),
    ):
        pdf.cell(0, 7, _latin1(f"{label}: {value}"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(6)
    widths = (100, 25, 30, 35)
    pdf.set_font("Helvetica", "B", 10)
    headers = ("Description", "Credits", "Per credit", "Amount")
    for width, header, align in zip(widths, headers, "LRRR", strict=True):
        pdf.cell(width, 8, header, border="B", align=align)
    pdf.ln()
    pdf.set_font("Helvetica", size=10)
    for line in context["lines"]:
        cells = (line["description"], line["credits"], line["unit_price"], line["amount"])
        for width, text, align in zip(widths, cells, "LRRR", strict=True):
            pdf.cell(width, 8, _latin1(text), align=align)
        pdf.ln()
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(sum(widths[:3]), 10, "Total", border="T")
    pdf.cell(widths[3], 10, context["total"], border="T", align="R")
    pdf.ln(14)
    pdf.set_font("Helvetica", size=8)
    pdf.cell(
        0, 5, f"Amounts are rounded half up to the {invoice.currency} minor unit, line by line."
    )
    return bytes(pdf.output())


def _receipt_context(receipt: Receipt, org_name: str) -> dict[str, Any]:
    return {
        "receipt": receipt,
        "org_name": org_name,
        "credits": format_credits(receipt.credits),
        "amount": format_money(receipt.amount.minor, receipt.amount.currency),
        "issued": _when(receipt.issued_at),
    }


def receipt_text(receipt: Receipt, org_name: str) -> str:
    """A receipt as the plain-text part of an e-mail."""
    return _ENV.get_template("receipt.txt").render(_receipt_context(receipt, org_name))


def receipt_html(receipt: Receipt, org_name: str) -> str:
    """A receipt as the HTML part of an e-mail."""
    return _ENV.get_template("receipt.html").render(_receipt_context(receipt, org_name))
