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

from creditline.domain.errors import ConfigurationError, InvalidSetting
from creditline.domain.webhook_urls import Network, parse_networks

__all__ = ["ALLOW_NETWORKS_ENV", "SystemResolver", "allow_networks", "allow_networks_from_env"]

ALLOW_NETWORKS_ENV = "CREDITLINE_WEBHOOK_ALLOW_NETWORKS"


class SystemResolver:
    """Resolves names with the operating system's resolver (``getaddrinfo``), as a
    connection would; an address family the machine cannot use is left out."""

    def resolve(self, host: str, port: int) -> Sequence[str]:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
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
