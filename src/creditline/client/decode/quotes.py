"""Binding quotes."""

from __future__ import annotations

from creditline.client.decode._common import Doc, record
from creditline.domain.quotes import BindingQuote
from creditline.domain.usage import UsageStep


def binding_quote(d: Doc) -> BindingQuote:
    steps = tuple(
        UsageStep(s["operation"], dict(s["quantities"]), dict(s["dimensions"])) for s in d["steps"]
    )
    return record(
        BindingQuote, d, quantities=dict(d["quantities"]), steps=steps,
        breakdown=dict(d["breakdown"] or {}),
    )  # fmt: skip
