"""The operator's revenue report (:mod:`creditline.domain.revenue`)."""

from __future__ import annotations

from creditline.client.decode._common import Doc, record, when
from creditline.domain.grants import GrantKind
from creditline.domain.revenue import CurrencyLine, FreeLine, RevenueReport

_FREE = ("opening", "granted", "consumed", "expired", "refunded", "adjusted", "closing")


def _free(d: Doc) -> FreeLine:
    return FreeLine(GrantKind(d["kind"]), *(d[f]["credits_micros"] for f in _FREE))


def revenue_report(d: Doc) -> RevenueReport:
    """The answer names the lines ``currencies`` and ``no_cash``; each flow of a currency
    is read from ``credits_micros`` and ``minor``."""
    return RevenueReport(
        d["month"],
        when(d["since"]),
        when(d["until"]),
        tuple(record(CurrencyLine, line) for line in d["currencies"]),
        tuple(_free(line) for line in d["no_cash"]),
        None if d["flex"] is None else _free(d["flex"]),
    )
