"""The HTTP API's needs: API keys, idempotent requests, a readiness ping."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from creditline.domain.api_keys import ApiKey, CapWindow, IdempotentRequest, IssuedKey, Role
from creditline.facade.core import Core
from creditline.services import api_keys, http_requests

__all__ = ["Api"]


class Api(Core):
    """API keys, idempotent HTTP requests and the readiness ping."""

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
    ) -> IssuedKey:
        """Make an API key: ``operator`` (everything), ``org`` (its organization) or
        ``org_read`` (its organization, reading only). The key's text is in the result's
        ``secret``, and nowhere else, ever: only its hash is stored.

        An organization's key may be limited, for an agent, a CI job or a customer's
        integration: ``cap`` micro-credits a ``cap_window`` (``day``, the default, or
        ``month``, in UTC) and only the ``operations`` listed. Charges made with it
        (``key_id=`` on :meth:`record_usage`, :meth:`reserve`, :meth:`spend`; the HTTP
        API names it from the request's key) past the cap are refused with
        :class:`KeyCapExceeded`, those of other operations with :class:`OperationNotAllowed`.

        Raises:
            InvalidSetting: an unknown role, an operator key with an organization or an
                organization's key without one, limits on an operator or read-only key.
                InvalidTime: an expiry not in the future. InvalidAmount: a cap not > 0.
            OrganizationNotFound: no such organization.
        """
        cmd = api_keys.CreateApiKey(
            role, org_id, name, expires_at, cap, cap_window,
            None if operations is None else tuple(operations),
        )  # fmt: skip
        return self._run(lambda: api_keys.create_api_key(cmd, self._uow(), self.clock))

    def api_keys(self, org_id: str | None = None, include_revoked: bool = True) -> list[ApiKey]:
        """API keys (never their secrets), oldest first: an organization's, or all. A
        capped key comes with what it spent (or holds) in its current window
        (``used_micros``) and its room (``room_micros``)."""
        return self._run(
            lambda: api_keys.list_api_keys(
                org_id, self._uow(read_only=True), self.clock, include_revoked
            )
        )

    def api_key(self, key_id: str) -> ApiKey:
        """One API key; a capped one with its ``used_micros`` and ``room_micros``."""
        return self._run(
            lambda: api_keys.get_api_key(key_id, self._uow(read_only=True), self.clock)
        )

    def revoke_api_key(self, key_id: str) -> ApiKey:
        """Revoke an API key: it stops working at once. Revoking it again changes nothing."""
        revoked = self._run(lambda: api_keys.revoke_api_key(key_id, self._uow(), self.clock))
        self._keys.forget(key_id)
        return revoked

    def authenticate(self, text: str) -> ApiKey:
        """The API key whose full text is ``text`` (``cl_live_...``), if usable now; its
        ``principal`` is who a request acts as. Notes the key's use in the background
        (at most once a minute per key). A key that checked out is kept in memory and
        checked again at least once a second (:mod:`creditline.services.key_cache`).

        Raises:
            AuthenticationFailed: malformed, unknown, expired or revoked.
        """
        return self._keys.authenticate(text)

    def cached_api_key(self, text: str) -> ApiKey | None:
        """:meth:`authenticate` from memory alone: the key, or ``None`` when it has to
        be checked against the database (a key is re-checked at least once a second,
        so a revocation anywhere takes effect within a second; see
        :mod:`creditline.services.key_cache`).

        Raises:
            AuthenticationFailed: the key has expired.
        """
        return self._keys.get(text)

    def _check_key(self, text: str) -> ApiKey:
        return self._run(lambda: api_keys.authenticate(text, self._uow(read_only=True), self.clock))

    def _touch_key(self, key: ApiKey) -> bool:
        return self._run(lambda: api_keys.touch_api_key(key, self._uow(), self.clock))

    def begin_request(self, request: IdempotentRequest) -> IdempotentRequest | None:
        """Claim an HTTP request's ``Idempotency-Key``: ``None`` to run it, or the stored
        answer to replay (see :mod:`creditline.services.http_requests`).

        Raises:
            IdempotencyKeyReused: the key was used for another request.
            IdempotencyKeyInUse: the key's first request is still running.
        """
        return self._run(lambda: http_requests.begin(request, self._uow(), self.clock))

    def finish_request(
        self, request: IdempotentRequest, status_code: int, content_type: str | None, body: str
    ) -> None:
        """Store the answer of a request :meth:`begin_request` let run."""
        answered = replace(request, status_code=status_code, content_type=content_type, body=body)
        self._run(lambda: http_requests.finish(answered, self._uow(), self.clock))

    def abandon_request(self, request: IdempotentRequest) -> None:
        """Forget a request that failed without an answer to keep, so its retry runs."""
        self._run(lambda: http_requests.abandon(request, self._uow()))

    def prune_requests(self, keep_for: timedelta = http_requests.KEEP_FOR) -> int:
        """Forget the stored answers of idempotent HTTP requests older than ``keep_for``
        (the API does it about once an hour); how many."""
        return self._run(lambda: http_requests.prune(self._uow(), self.clock, keep_for))

    def ping(self) -> None:
        """Reach the database once (a read-only transaction); for readiness checks.

        Raises:
            StorageError: the database cannot be reached.
        """
        self._tx(lambda uow: uow.orgs.page(1), read_only=True)
