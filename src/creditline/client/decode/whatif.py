"""What-if reports (:mod:`creditline.domain.whatif`)."""

from __future__ import annotations

from creditline.client.decode._common import Doc, record, when
from creditline.domain.whatif import OperationImpact, WhatIf


def what_if(d: Doc) -> WhatIf:
    """The answer names the period ``since``/``until`` and the impacts ``operations``."""
    impacts = tuple(record(OperationImpact, o) for o in d["operations"])
    return record(WhatIf, d, start=when(d["since"]), end=when(d["until"]), impacts=impacts)
