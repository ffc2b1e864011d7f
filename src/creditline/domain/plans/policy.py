"""The depletion policy: what happens when an organization's credits run out.

**Depletion policy** (A3, A4): what happens to a debit the spendable grants cannot
cover:

- ``pause``: refused until credits arrive (a top-up or the next cycle).
- ``read_only``: refused, and the organization is reported read-only so that the
  platform can lock writes.
- ``flex``: the uncovered part is taken as flex credits (a ``flex`` grant created
  for it), billed in arrears, while flex is enabled for the organization (it is by
  default, D6) and the month's flex stays within the billing threshold.
- ``unlimited``: never refused; what no grant covers is metered on an ``unlimited``
  flex grant that is reported, not billed.

Holds already made are honoured whatever the policy: a reservation's credits left
the grants when it was made.
"""

from __future__ import annotations

import enum

__all__ = ["DepletionPolicy"]


class DepletionPolicy(enum.StrEnum):
    PAUSE = "pause"
    READ_ONLY = "read_only"
    FLEX = "flex"
    UNLIMITED = "unlimited"
