"""The web dashboard's settings: how long its browser sessions last. From code or the
environment (``CREDITLINE_WEB_*``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields

from creditline.domain.errors import ConfigurationError

__all__ = ["WebSettings"]


@dataclass(frozen=True, slots=True)
class WebSettings:
    """How the customer portal and the operator console behave.

    Attributes:
        portal_session_seconds: how long a portal browser session lasts once a portal
            link opened it; ``CREDITLINE_WEB_PORTAL_SESSION_SECONDS`` (an hour).
        console_session_seconds: how long an operator stays signed in to the console;
            ``CREDITLINE_WEB_CONSOLE_SESSION_SECONDS`` (8 hours). The operator's key is
            checked on every request all the same: revoking it ends the session.
        page_size: rows per page of the longer tables (the ledger, organizations).
    """

    portal_session_seconds: int = 3600
    console_session_seconds: int = 8 * 3600
    page_size: int = 50

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigurationError(f"web setting {f.name} must be a positive integer")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WebSettings:
        """The settings of ``CREDITLINE_WEB_<NAME>`` variables, defaults for the rest.

        Raises:
            ConfigurationError: a variable that is not a positive integer.
        """
        env = os.environ if environ is None else environ
        values: dict[str, int] = {}
        for f in fields(cls):
            raw = env.get(f"CREDITLINE_WEB_{f.name.upper()}", "").strip()
            if not raw:
                continue
            if not raw.isdigit():
                raise ConfigurationError(
                    f"CREDITLINE_WEB_{f.name.upper()} must be a whole number, got {raw!r}"
                )
            values[f.name] = int(raw)
        return cls(**values)
