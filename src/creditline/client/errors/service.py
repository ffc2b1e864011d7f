"""The HTTP layer's own errors: answers of the service that are no error of the
engine's (:class:`ServiceError` and its kin), each a
:class:`~creditline.domain.errors.CreditlineError`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from creditline.domain.errors import CreditlineError, StorageError, ValidationError

__all__ = ["TYPE_BASE", "InvalidRequest", "RateLimited", "ServiceError", "ServiceUnavailable"]

TYPE_BASE = "urn:creditline:problem:"


class ServiceError(CreditlineError):
    """An answer of the service that is no error of the engine's: an unknown problem
    type, an internal error, a route the service does not have, a body that is not a
    problem.

    Attributes:
        status: the HTTP status (0: no answer at all).
        type: the problem type (``urn:creditline:problem:...``), or ``None``.
        title, detail: the problem's, or the status and the body's start.
        instance: the request's id at the service (its logs name it), if given.
        problem: the whole problem document (``{}`` when the body was not one).
    """

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        type: str | None = None,
        title: str | None = None,
        instance: str | None = None,
        problem: Mapping[str, Any] | None = None,
    ) -> None:
        self.status = status
        self.type = type
        self.title = title
        self.detail = detail
        self.instance = instance
        self.problem = dict(problem or {})
        super().__init__(f"{status} {title or 'error'}: {detail}" if status else detail)


class ServiceUnavailable(ServiceError, StorageError):
    """The service could not be reached or answered 502/503, on every attempt. A
    :class:`~creditline.domain.errors.StorageError` too, as the library's error when its
    database cannot be reached, so code that handles one handles the other."""


class RateLimited(ServiceError):
    """The API key is over its request rate (429), on every attempt.

    Attributes:
        retry_after: seconds the service asked to wait, if it said.
    """

    def __init__(
        self, status: int, detail: str, *, retry_after: float | None = None, **kwargs: Any
    ) -> None:
        super().__init__(status, detail, **kwargs)
        self.retry_after = retry_after


class InvalidRequest(ValidationError):
    """The request does not match the service's schema (422) or is not JSON (400);
    nothing was done.

    Attributes:
        errors: every problem, each ``{"field": ..., "message": ..., "code": ...}``.
        status: 422 or 400.
    """

    def __init__(self, detail: str, errors: list[dict[str, Any]], status: int = 422) -> None:
        self.errors = errors
        self.status = status
        listed = "; ".join(f"{e.get('field')}: {e.get('message')}" for e in errors)
        super().__init__(f"{detail}: {listed}" if listed else detail)
