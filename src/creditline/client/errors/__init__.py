"""The service's problems (RFC 9457) back into the library's own error classes.

:data:`PROBLEM_CLASSES` is the inverse of the service's table
(:data:`creditline.entrypoints.api.problems.PROBLEMS`): each problem ``type`` names the
error class the engine raised, and :func:`error_from_problem` builds that class again
with its attributes (``InsufficientCredits.needed``, ``PlanGateRefused.rule``,
``InvalidUsage.problems``...) from the problem's extension members
(:mod:`~creditline.client.errors.rebuild`); only a usage batch's result, which carries
just a type and a reason, is read from its message
(:mod:`~creditline.client.errors.reasons`). So ``except InsufficientCredits`` works the
same against an embedded :class:`~creditline.Creditline` and a
:class:`~creditline.client.Client`.

Problems of the HTTP layer itself have classes of their own
(:mod:`~creditline.client.errors.service`), each a
:class:`~creditline.domain.errors.CreditlineError`::

    CreditlineError
    ├── ServiceError: anything else (an unknown problem type, a route the service does
    │   │             not have, an answer that is not a problem at all), with its status
    │   │             and detail
    │   ├── ServiceUnavailable (also a StorageError): the service cannot be reached
    │   │       (after the retries), or answers 502/503 without a problem of the engine's
    │   └── RateLimited: 429 still, after the retries
    └── ValidationError
        └── InvalidRequest: the request does not match its schema (422
                ``invalid-request``, ``errors`` lists every field) or is not JSON (400)
"""

from creditline.client.errors.reasons import bare
from creditline.client.errors.service import (
    TYPE_BASE,
    InvalidRequest,
    RateLimited,
    ServiceError,
    ServiceUnavailable,
)
from creditline.client.errors.table import PROBLEM_CLASSES, error_class, error_from_problem

__all__ = [
    "PROBLEM_CLASSES",
    "TYPE_BASE",
    "InvalidRequest",
    "RateLimited",
    "ServiceError",
    "ServiceUnavailable",
    "bare",
    "error_class",
    "error_from_problem",
]
