"""Country gating and contact sales."""

from __future__ import annotations

from creditline.client.decode._common import Doc, record
from creditline.domain.sales import SalesRequest
from creditline.services.sales import SelfServe


def self_serve(d: Doc) -> SelfServe:
    return record(SelfServe, d)


def sales_request(d: Doc) -> SalesRequest:
    return record(SalesRequest, d)
