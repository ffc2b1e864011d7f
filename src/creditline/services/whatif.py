"""What-if pricing: re-price a past period by a draft rate card (see
:mod:`creditline.domain.whatif`). Nothing is written, and the draft is not loaded.

The draft is a version of a card: it re-prices the organizations priced by that card
(the default card's include every organization that names none), or the one
organization named, whatever its card.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from creditline.domain.errors import InvalidSetting, OrganizationNotFound
from creditline.domain.pricing import RateCard
from creditline.domain.pricing.ratecard_format import parse_ratecard
from creditline.domain.reports import MAX_REPORT_DAYS
from creditline.domain.time import Clock, require_aware
from creditline.domain.whatif import Repricer, WhatIf
from creditline.services.ports.unit_of_work import UnitOfWork

__all__ = ["PriceDraft", "what_if"]


@dataclass(frozen=True, slots=True)
class PriceDraft:
    """Re-price ``[since, until)`` (``until``: now) by a draft card.

    Attributes:
        draft: TOML or JSON text (or bytes), the document as a mapping, or a card.
        org_id: only this organization; ``None``: every one priced by the draft's card.
    """

    draft: str | bytes | Mapping[str, Any] | RateCard
    since: datetime
    until: datetime | None = None
    org_id: str | None = None
    syntax: Literal["toml", "json"] = "toml"


def what_if(cmd: PriceDraft, uow: UnitOfWork, clock: Clock) -> WhatIf:
    """The report of :class:`~creditline.domain.whatif.Repricer` over the period.

    Raises:
        InvalidRateCard: the draft breaks a rule (every problem listed).
        InvalidSetting: the period is empty, reversed or longer than
            :data:`~creditline.domain.reports.MAX_REPORT_DAYS` days.
        OrganizationNotFound: the organization named does not exist.
    """
    draft = cmd.draft
    card = draft if isinstance(draft, RateCard) else parse_ratecard(draft, syntax=cmd.syntax)
    since = require_aware(cmd.since, "since")
    until = clock.now() if cmd.until is None else require_aware(cmd.until, "until")
    if until <= since:
        raise InvalidSetting("period", f"{since.isoformat()}..{until.isoformat()}",
                             "must end after it starts")  # fmt: skip
    if until - since > timedelta(days=MAX_REPORT_DAYS):
        raise InvalidSetting("period", f"{since.isoformat()}..{until.isoformat()}",
                             f"spans at most {MAX_REPORT_DAYS} days")  # fmt: skip
    repricer = Repricer(card)
    with uow:
        if cmd.org_id is not None:
            if uow.orgs.get(cmd.org_id) is None:
                raise OrganizationNotFound(cmd.org_id)
            scope = ("org", cmd.org_id)
        else:
            scope = ("card", card.name)
        repricer.add_all(uow.whatif.events(scope, since, until))
        opening = uow.whatif.opening(scope, since)
        moves = uow.whatif.moves(scope, since, until)
    return repricer.report(since, until, opening, moves)
