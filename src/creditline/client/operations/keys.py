"""API keys, and running the service's own jobs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from creditline.client import decode
from creditline.client._wire import Call, Flow, get, op, post, seg
from creditline.domain.amounts import format_credits
from creditline.domain.api_keys import ApiKey, CapWindow, IssuedKey, Role
from creditline.domain.errors import StorageError
from creditline.services.scheduler import TickReport

from ._requests import compact, fetch, fetch_each, org_get, query_params


class KeyOperations:
    """API keys, and running the service's own jobs."""

    @op
    def create_api_key(
        self,
        role: Role | str,
        org_id: str | None = None,
        *,
        name: str,
        expires_at: datetime | None = None,
        cap: int | None = None,
        cap_window: CapWindow | str | None = None,
        operations: Sequence[str] | None = None,
    ) -> Flow[IssuedKey]:
        """Make an API key (operator); its text is the result's ``secret``, shown once.
        An organization's key may be capped (``cap`` micro-credits a ``cap_window``) and
        limited to ``operations``."""
        body = compact(
            role=role.value if isinstance(role, Role) else str(role),
            org_id=org_id,
            name=name,
            expires_at=expires_at,
            cap=None if cap is None else format_credits(cap),
            cap_window=None if cap_window is None else str(cap_window),
            operations=None if operations is None else list(operations),
        )
        return (yield from fetch(decode.issued_key, post("/v1/api-keys", body, org_id=org_id)))

    @op
    def api_keys(
        self, org_id: str | None = None, include_revoked: bool = True
    ) -> Flow[list[ApiKey]]:
        """API keys (never their secrets), oldest first: an organization's, or all. An
        organization's key may list its own (``org_id`` given, revoked ones included)."""
        if org_id is not None and include_revoked:
            call = org_get(org_id, "/api-keys")
        else:
            query = query_params(org_id=org_id, include_revoked=include_revoked)
            call = get("/v1/api-keys", query, org_id=org_id)
        return (yield from fetch_each(decode.api_key, call))

    @op
    def api_key(self, key_id: str) -> Flow[ApiKey]:
        return (yield from fetch(decode.api_key, get(f"/v1/api-keys/{seg(key_id)}")))

    @op
    def revoke_api_key(self, key_id: str) -> Flow[ApiKey]:
        """Revoke an API key (operator): it stops working at once."""
        return (yield from fetch(decode.api_key, post(f"/v1/api-keys/{seg(key_id)}/revoke")))

    @op
    def tick(self) -> Flow[TickReport]:
        """Run the service's scheduler once (operator): renewals, expiry, invoices, alerts."""
        return (yield from fetch(decode.tick_report, post("/v1/tick")))

    @op
    def ping(self) -> Flow[None]:
        """Reach the service and its database once (``/readyz``).

        Raises:
            StorageError: the database does not answer (ServiceUnavailable, a
                StorageError too, when the service itself does not).
        """
        reply = yield Call("GET", "/readyz", problems_ok=True)
        if reply.status != 200:
            raise StorageError(f"the service's database does not answer ({reply.status})")
