"""Where webhooks may go: the system's resolver, and the networks allowed beyond public
addresses (see :mod:`creditline.domain.webhook_urls`).

``CREDITLINE_WEBHOOK_ALLOW_NETWORKS`` names networks, comma-separated CIDRs
(``127.0.0.0/8,::1/128``), whose addresses a webhook may be sent to although they are
not public: tests and demos with a receiver on the loopback. Unset (the default): none.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

from creditline.domain.errors import ConfigurationError, InvalidSetting
from creditline.domain.webhook_urls import Network, parse_networks

__all__ = ["ALLOW_NETWORKS_ENV", "SystemResolver", "allow_networks", "allow_networks_from_env"]

ALLOW_NETWORKS_ENV = "CREDITLINE_WEBHOOK_ALLOW_NETWORKS"


RESOLVE_TIMEOUT = 2.0
"""Seconds a name may take to resolve by default (an endpoint's registration waits for
it on the request's path)."""

_LOOKUPS = ThreadPoolExecutor(8, "creditline-resolve")
"""Where names are looked up: ``getaddrinfo`` has no deadline of its own (a name server
that drops a query holds it for the resolver's own timeout, 5 s per try), so a lookup
runs here and its caller waits at most its timeout; a lookup left behind ends on its own."""


class SystemResolver:
    """Resolves names with the operating system's resolver (``getaddrinfo``), as a
    connection would; an address family the machine cannot use is left out.

    Args:
        timeout: seconds to wait for an answer; past it the name counts as not
            resolved (``TimeoutError``, an ``OSError`` as any other failed lookup).
    """

    def __init__(self, timeout: float = RESOLVE_TIMEOUT) -> None:
        self._timeout = timeout

    def resolve(self, host: str, port: int) -> Sequence[str]:
        lookup = _LOOKUPS.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
        try:
            found = lookup.result(self._timeout)
        except TimeoutError:
            lookup.cancel()
            raise TimeoutError(f"no answer within {self._timeout:g} s") from None
        return list(dict.fromkeys(str(info[4][0]) for info in found))


def allow_networks_from_env(environ: Mapping[str, str] | None = None) -> tuple[Network, ...]:
    """The networks ``CREDITLINE_WEBHOOK_ALLOW_NETWORKS`` allows (none when unset).

    Raises:
        ConfigurationError: an entry that is not a CIDR network.
    """
    env = os.environ if environ is None else environ
    try:
        return parse_networks(env.get(ALLOW_NETWORKS_ENV, ""))
    except InvalidSetting as exc:
        raise ConfigurationError(f"{ALLOW_NETWORKS_ENV}: {exc}") from None


def allow_networks(value: str | Iterable[str] | None) -> tuple[Network, ...]:
    """Networks from an argument: CIDR text or a sequence of them; ``None``: from
    ``CREDITLINE_WEBHOOK_ALLOW_NETWORKS``.

    Raises:
        InvalidSetting: an argument that is not CIDR networks.
        ConfigurationError: the variable holds one.
    """
    return allow_networks_from_env() if value is None else parse_networks(value)
