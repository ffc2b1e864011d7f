"""The HTTP service's settings: limits, rate limits, logging. From code or the environment.

Every setting has a default that suits one process on one machine; ``from_env`` reads
``CREDITLINE_API_*`` variables (the names are listed on :class:`ApiSettings`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields

from creditline.domain.errors import ConfigurationError

__all__ = ["ApiSettings"]


@dataclass(frozen=True, slots=True)
class ApiSettings:
    """How the service behaves.

    Attributes:
        max_body_bytes: the largest request body accepted (413 beyond);
            ``CREDITLINE_API_MAX_BODY_BYTES``.
        rate_per_second: requests each API key may make per second, sustained (a token
            bucket; 0: no limit); ``CREDITLINE_API_RATE_PER_SECOND``.
        rate_burst: how many requests a key may make at once before the sustained rate
            applies; ``CREDITLINE_API_RATE_BURST``.
        rate_file: a file holding the buckets, shared by every process that names it
            (``creditline serve --workers N`` sets it); empty: each process its own;
            ``CREDITLINE_API_RATE_FILE``.
        bad_key_rate_per_second: requests with a key that does not check out (malformed,
            unknown, expired, revoked) each client address may make per second,
            sustained; past it, its requests with keys not already checked are answered
            429 without looking the key up (0: no limit);
            ``CREDITLINE_API_BAD_KEY_RATE_PER_SECOND``.
        bad_key_burst: how many such requests an address may make at once;
            ``CREDITLINE_API_BAD_KEY_BURST``.
        max_batch: the most usage events one batch request may carry;
            ``CREDITLINE_API_MAX_BATCH``.
        idempotency_key_length: the longest ``Idempotency-Key`` accepted.
        log_requests: write one JSON log line per request (logger ``creditline.api``);
            ``CREDITLINE_API_LOG_REQUESTS`` (1/0).
        tick_seconds: run the scheduler (:meth:`creditline.Creditline.tick`: renewals,
            expiry, alerts, webhook deliveries) in the background every so many seconds
            (0: not in this process; run ``creditline worker`` instead);
            ``CREDITLINE_API_TICK_SECONDS``.
    """

    max_body_bytes: int = 5 * 1024 * 1024
    rate_per_second: float = 100.0
    rate_burst: int = 200
    rate_file: str = ""
    bad_key_rate_per_second: float = 1.0
    bad_key_burst: int = 20
    max_batch: int = 5000
    idempotency_key_length: int = 100
    log_requests: bool = True
    tick_seconds: float = 0.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ApiSettings:
        """The settings of ``CREDITLINE_API_<NAME>`` variables, defaults for the rest.

        Raises:
            ConfigurationError: a variable that is not a number (or 0/1 for a switch).
        """
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get(f"CREDITLINE_API_{f.name.upper()}")
            if raw is None or not raw.strip():
                continue
            kind = type(getattr(cls(), f.name))
            try:
                values[f.name] = (
                    (raw.strip() in ("1", "true", "yes")) if kind is bool else kind(raw)
                )
            except ValueError:
                raise ConfigurationError(
                    f"CREDITLINE_API_{f.name.upper()} must be a {kind.__name__}, got {raw!r}"
                ) from None
        return cls(**values)  # type: ignore[arg-type]
