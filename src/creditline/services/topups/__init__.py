"""Automatic and recurring top-ups (D9): settings, the crossing guard, charging, the tick.

The rules are :mod:`creditline.domain.topups`'s; this package runs them, one module a
step:

- :mod:`~creditline.services.topups.settings`: the automatic and recurring settings,
  stored and turned off;
- :mod:`~creditline.services.topups.claims`: watching the crossings of the threshold and
  claiming each once, in the commit of the usage that crossed;
- :mod:`~creditline.services.topups.charges`: charging a claimed top-up to the saved
  card after that commit, and granting it once;
- :mod:`~creditline.services.topups.run`: the scheduler's job (stale top-ups charged
  again, recurring ones bought, every setting observed);
- :mod:`~creditline.services.topups.runner`: charging claimed top-ups on a thread of
  their own.
"""

from creditline.services.topups.charges import Charged, charge_topup, topup_key
from creditline.services.topups.claims import (
    Watch,
    claim,
    observe_org,
    settle_watch,
    watch,
)
from creditline.services.topups.run import STALE_AFTER, TopupRun, run_topups
from creditline.services.topups.runner import TopupRunner
from creditline.services.topups.settings import (
    SetAutoTopup,
    SetRecurringTopup,
    cancel_recurring,
    disable_auto,
    set_auto,
    set_recurring,
)

__all__ = [
    "STALE_AFTER",
    "Charged",
    "SetAutoTopup",
    "SetRecurringTopup",
    "TopupRun",
    "TopupRunner",
    "Watch",
    "charge_topup",
    "claim",
    "disable_auto",
    "cancel_recurring",
    "observe_org",
    "run_topups",
    "set_auto",
    "set_recurring",
    "settle_watch",
    "topup_key",
    "watch",
]
