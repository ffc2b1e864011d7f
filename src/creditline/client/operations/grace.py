"""Grace between depletion and lock: where an organization stands, and its history."""

from __future__ import annotations

from creditline.client import decode
from creditline.client._wire import Flow, op
from creditline.client.operations._requests import fetch, org_get, query_params
from creditline.services.grace import GraceStatus


class GraceOperations:
    """Grace between depletion and lock."""

    @op
    def grace(self, org_id: str, limit: int = 100) -> Flow[GraceStatus]:
        """Where the organization stands in its plan's grace, and its last transitions."""
        return (
            yield from fetch(
                decode.grace_status, org_get(org_id, "/grace", query_params(limit=limit))
            )
        )
