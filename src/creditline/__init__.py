"""creditline: an exact credits engine for AI platforms.

The public API of the library. Amounts are ``int`` micro-credits; see
:mod:`creditline.domain.amounts`. Credits are never transferable between
organizations: no call moves credits from one organization to another.
"""

from typing import TYPE_CHECKING, Any

from creditline.bootstrap import Creditline, ExpiryReport
from creditline.domain import errors
from creditline.domain.amounts import (
    MICROS_PER_CREDIT,
    CostBasis,
    credits,
    format_credits,
    parse_credits,
)
from creditline.domain.balances import Balance, ScopedCredits
from creditline.domain.errors import (
    CreditlineError,
    InsufficientCredits,
    KeyCapExceeded,
    OperationNotAllowed,
)
from creditline.domain.grants import Grant, GrantKind, GrantSource, SourceType
from creditline.domain.ledger import Cause, CauseType, EntryType, LedgerEntry
from creditline.domain.organizations import Member, Organization, Project
from creditline.domain.pricing import Quote, RateCard, RateCardHistory, Step
from creditline.domain.pricing.ratecard_format import parse_ratecard
from creditline.domain.scopes import GrantScope, ScopeRule, parse_scope
from creditline.domain.time import Clock, ManualClock
from creditline.services.queries import VerifyReport
from creditline.services.spending import Debit, DebitResult, DebitStatus

if TYPE_CHECKING:
    from creditline.client import AsyncClient, Client

__all__ = [
    "MICROS_PER_CREDIT",
    "AsyncClient",
    "Balance",
    "Cause",
    "CauseType",
    "Client",
    "Clock",
    "CostBasis",
    "Creditline",
    "CreditlineError",
    "Debit",
    "DebitResult",
    "DebitStatus",
    "EntryType",
    "ExpiryReport",
    "Grant",
    "GrantKind",
    "GrantScope",
    "GrantSource",
    "InsufficientCredits",
    "KeyCapExceeded",
    "OperationNotAllowed",
    "LedgerEntry",
    "ManualClock",
    "Member",
    "Organization",
    "Project",
    "Quote",
    "RateCard",
    "RateCardHistory",
    "ScopeRule",
    "ScopedCredits",
    "SourceType",
    "Step",
    "VerifyReport",
    "credits",
    "errors",
    "format_credits",
    "parse_credits",
    "parse_ratecard",
    "parse_scope",
]

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """``Client`` and ``AsyncClient`` (the service's HTTP client, on httpx), imported
    when first used: the embedded engine and the CLI never load them."""
    if name in ("Client", "AsyncClient"):
        from creditline import client

        return getattr(client, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
