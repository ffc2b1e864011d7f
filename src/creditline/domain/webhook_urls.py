"""Which URLs the server calls on a tenant's behalf (RELIABILITY rule 9).

A webhook endpoint's URL is chosen by whoever registers it, an organization's key
included, and the server then POSTs to it from inside the operator's network. So a URL
is **refused** unless

- its scheme is ``http`` or ``https``, it has a host, no user name or password
  (``user:pass@``), no control, space or format characters anywhere (CR/LF would split
  the request), no backslash (URL parsers disagree about it) and at most 2000
  characters;
- its host is a **public address**: not loopback, private (RFC 1918), carrier-grade NAT,
  link-local (where cloud metadata services answer), unique-local or site-local IPv6,
  unspecified, multicast, broadcast, reserved, benchmarking or documentation ranges
  (:data:`REFUSED_NETWORKS`); the IPv4 address inside an IPv4-mapped, NAT64 or 6to4
  IPv6 address is checked as itself;
- in every spelling: a host whose last label is numeric is read as the kernel reads an
  IPv4 address (``inet_aton``: ``2130706433``, ``0x7f000001``, ``0177.0.0.1`` and
  ``127.1`` are all 127.0.0.1), and an international name is normalized as IDNA does
  (full-width digits and ideographic full stops included) before it is judged;
- a name is not a cloud metadata name (``metadata.google.internal``...); a name of a
  special-use or private zone (``localhost``, ``*.internal``, ``*.local``,
  ``*.home.arpa``...) or a single label (resolved through the server's search
  domains) is refused too, unless every address it resolves to is in an allowed
  network (below);
- and every address the name resolves to is public.

**Allowed networks** (:class:`UrlPolicy`, empty by default) name the networks that
are accepted even so: tests and demos deliver to a receiver on ``127.0.0.0/8``.

The check runs twice (:func:`check_url`): when the endpoint is registered, where a name
that does not resolve (yet) is accepted, and again before every delivery attempt,
where the name must resolve and the sender connects to the very address checked (DNS
rebinding: a name that later resolves to a private address is never followed).
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from creditline.domain.errors import InvalidSetting, WebhookUrlRefused

__all__ = [
    "METADATA_NAMES",
    "REFUSED_NETWORKS",
    "Address",
    "CheckedUrl",
    "Network",
    "Resolver",
    "UrlPolicy",
    "address_problem",
    "check_url",
    "parse_host",
    "parse_networks",
    "url_problems",
]

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_URL_LENGTH = 2000

_N = ipaddress.ip_network
REFUSED_NETWORKS: tuple[tuple[Network, str], ...] = (
    (_N("0.0.0.0/8"), "an unspecified ('this network') address"),
    (_N("10.0.0.0/8"), "a private address (RFC 1918)"),
    (_N("100.64.0.0/10"), "a carrier-grade NAT address (RFC 6598)"),
    (_N("127.0.0.0/8"), "a loopback address"),
    (_N("169.254.0.0/16"), "a link-local address (where cloud metadata services answer)"),
    (_N("172.16.0.0/12"), "a private address (RFC 1918)"),
    (_N("192.0.0.0/24"), "an IETF protocol assignment"),
    (_N("192.0.2.0/24"), "a documentation address (TEST-NET-1)"),
    (_N("192.88.99.0/24"), "a 6to4 relay anycast address"),
    (_N("192.168.0.0/16"), "a private address (RFC 1918)"),
    (_N("198.18.0.0/15"), "a benchmarking address"),
    (_N("198.51.100.0/24"), "a documentation address (TEST-NET-2)"),
    (_N("203.0.113.0/24"), "a documentation address (TEST-NET-3)"),
    (_N("224.0.0.0/4"), "a multicast address"),
    (_N("240.0.0.0/4"), "a reserved or broadcast address"),
    (_N("::/128"), "the unspecified address"),
    (_N("::1/128"), "a loopback address"),
    (_N("64:ff9b:1::/48"), "a local-use NAT64 address"),
    (_N("100::/64"), "a discard-only address"),
    (_N("2001::/23"), "an IETF protocol assignment (Teredo, ORCHID...)"),
    (_N("2001:db8::/32"), "a documentation address"),
    (_N("3fff::/20"), "a documentation address"),
    (_N("fc00::/7"), "a unique-local address"),
    (_N("fe80::/10"), "a link-local address"),
    (_N("fec0::/10"), "a site-local address"),
    (_N("ff00::/8"), "a multicast address"),
)
"""The ranges refused, each with the words the refusal uses (IANA's special-purpose
address registries). An IPv6 address outside ``2000::/3`` (global unicast) is refused as
reserved; Python's ``ipaddress`` flags are checked as well."""

_GLOBAL_UNICAST = _N("2000::/3")
_NAT64 = _N("64:ff9b::/96")
_SIX_TO_FOUR = _N("2002::/16")

METADATA_NAMES = frozenset({
    "metadata.google.internal", "metadata.goog", "metadata", "instance-data",
    "instance-data.ec2.internal", "metadata.azure.com", "metadata.tencentyun.com",
    "metadata.platformequinix.com", "metadata.packet.net", "kubernetes.default",
    "kubernetes.default.svc",
})  # fmt: skip
"""Names of cloud metadata services and cluster APIs: refused whatever they resolve to."""

_PRIVATE_ZONES = (
    "localhost", "internal", "local", "localdomain", "home.arpa", "arpa", "lan", "intranet",
    "corp", "home", "private", "svc", "test", "invalid",
)  # fmt: skip
"""Special-use and private zones (RFC 6761, 6762, 8375; ICANN's ``.internal``): their
names mean something only inside some network."""

_LOOPBACK_NAMES = (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1"))
_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_NUMERIC = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")


# -- the policy ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UrlPolicy:
    """What the URL check allows beyond public addresses.

    Attributes:
        allow_networks: networks whose addresses are accepted although they are not
            public (``127.0.0.0/8`` for a test's local receiver). Empty: none.
    """

    allow_networks: tuple[Network, ...] = ()

    def allows(self, address: Address) -> bool:
        return any(address.version == n.version and address in n for n in self.allow_networks)


def parse_networks(value: str | Iterable[str]) -> tuple[Network, ...]:
    """Networks from CIDR text: a comma-separated string (``"127.0.0.0/8,::1/128"``) or
    a sequence of them; a bare address is its own network.

    Raises:
        InvalidSetting: listing the entries that are not networks.
    """
    items = value.split(",") if isinstance(value, str) else list(value)
    networks, bad = [], []
    for item in (i.strip() for i in items):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            bad.append(item)
    if bad:
        raise InvalidSetting(
            "webhook allowed networks", ",".join(bad), "not CIDR networks (127.0.0.0/8, ::1/128)"
        )
    return tuple(networks)


# -- the URL's shape ----------------------------------------------------------------------------


def _bad_characters(url: str) -> list[str]:
    problems = []
    if any(unicodedata.category(ch)[0] == "C" for ch in url):
        problems.append("url: contains control or format characters (CR, LF, tab, NUL...)")
    if any(unicodedata.category(ch)[0] == "Z" for ch in url):
        problems.append("url: contains spaces (percent-encode them)")
    if "\\" in url:
        problems.append("url: contains a backslash")
    return problems


def url_problems(url: str) -> list[str]:
    """Every problem of the URL's shape (scheme, userinfo, characters, length, port),
    before its host is judged."""
    problems = []
    if len(url) > MAX_URL_LENGTH:
        problems.append(f"url: longer than {MAX_URL_LENGTH} characters")
    problems += _bad_characters(url)
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        return [*problems, f"url: cannot be parsed ({exc})"]
    if parts.scheme not in ("http", "https"):
        problems.append("url: only http and https URLs are called")
    if "@" in parts.netloc:
        problems.append("url: a user name or password (user:pass@) is not allowed")
    if not parts.hostname:
        problems.append("url: has no host")
    try:
        port = parts.port
    except ValueError:
        problems.append("url: the port is not a number from 1 to 65535")
    else:
        if port == 0:
            problems.append("url: the port is not a number from 1 to 65535")
    return problems


# -- the host -----------------------------------------------------------------------------------


def _inet_aton(host: str) -> ipaddress.IPv4Address | None:
    """The IPv4 address a host made of 1 to 4 numbers means to ``inet_aton`` (decimal,
    ``0x`` hex, ``0`` octal; the last number fills the remaining bytes), or ``None``
    when it is no such address."""
    parts = host.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    numbers = []
    for part in parts:
        if not _NUMERIC.match(part):
            return None
        if part.startswith("0x"):
            numbers.append(int(part[2:] or "0", 16))
        elif len(part) > 1 and part.startswith("0"):
            if not set(part) <= set("01234567"):
                return None
            numbers.append(int(part, 8))
        else:
            numbers.append(int(part))
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (4 - len(head)):
        return None
    value = last
    for index, n in enumerate(head):
        value += n << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def parse_host(host: str, bracketed: bool = False) -> Address | str:
    """The address a URL's host spells, or its name in normalized ASCII (lower case,
    IDNA, no trailing dot).

    Raises:
        ValueError: a host that is neither a valid address nor a valid name, or looks
            numeric without being an IPv4 address; its message says which.
    """
    if bracketed:
        try:
            return ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f"{host[:100]!r} is not an IPv6 address") from None
    try:
        name = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise ValueError(f"{host[:100]!r} is not a valid host name") from None
    name = name.removesuffix(".")
    labels = name.split(".")
    if _NUMERIC.match(labels[-1]):
        address = _inet_aton(name)
        if address is None:
            raise ValueError(f"{name[:100]!r} is not a valid IPv4 address")
        return address
    if len(name) > 253 or not all(_LABEL.match(label) for label in labels):
        raise ValueError(f"{name[:100]!r} is not a valid host name")
    return name


def _embedded(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _SIX_TO_FOUR:
        return address.sixtofour
    return None


def address_problem(address: Address, policy: UrlPolicy | None = None) -> str | None:
    """Why the server must not connect to ``address`` (words for a refusal), or
    ``None``: it is public, or in an allowed network (``policy``; default: none)."""
    policy = policy or UrlPolicy()
    if policy.allows(address):
        return None
    if isinstance(address, ipaddress.IPv6Address):
        inner = _embedded(address)
        if inner is not None:
            problem = address_problem(inner, policy)
            return None if problem is None else f"an IPv6 form of {inner}, {problem}"
    for network, words in REFUSED_NETWORKS:
        if address.version == network.version and address in network:
            return words
    if isinstance(address, ipaddress.IPv6Address) and address not in _GLOBAL_UNICAST:
        return "a reserved IPv6 address"
    if (
        address.is_private or address.is_reserved or address.is_multicast
        or address.is_loopback or address.is_link_local or address.is_unspecified
        or not address.is_global
    ):  # fmt: skip
        return "not a public address"
    return None


def _zone(name: str) -> str | None:
    if "." not in name:
        return "a single-label name (resolved through the server's search domains)"
    for zone in _PRIVATE_ZONES:
        if name == zone or name.endswith("." + zone):
            return f"a name of the special-use or private zone .{zone}"
    return None


# -- the check ----------------------------------------------------------------------------------


class Resolver(Protocol):
    """Resolves a host name to its addresses (an adapter: the system's resolver, a fake
    in tests). Raises :class:`OSError` (``socket.gaierror``) when the name cannot be
    resolved."""

    def resolve(self, host: str, port: int) -> Sequence[str]: ...


@dataclass(frozen=True, slots=True)
class CheckedUrl:
    """A URL that passed the check, and where to connect.

    Attributes:
        url: the URL as given.
        scheme: ``http`` or ``https``.
        host: the host: an address's text, or the name in normalized ASCII.
        port: the port (80 or 443 when the URL names none).
        addresses: the checked addresses to connect to, in the resolver's order (empty:
            a name that did not resolve at registration).
        name: whether the host is a name (the TLS server name and ``Host`` header).
    """

    url: str
    scheme: str
    host: str
    port: int
    addresses: tuple[Address, ...]
    name: bool

    @property
    def host_header(self) -> str:
        """The ``Host`` header: the host, and the port when it is not the scheme's."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def _resolved(
    url: str, name: str, port: int, resolver: Resolver, must_resolve: bool
) -> tuple[Address, ...]:
    try:
        found = resolver.resolve(name, port)
    except (OSError, UnicodeError) as exc:  # a resolver's "no such name", in any form
        if must_resolve:
            raise WebhookUrlRefused(url, [f"host: {name} cannot be resolved ({exc})"]) from None
        return ()
    addresses = []
    for text in found:
        try:
            addresses.append(ipaddress.ip_address(text.partition("%")[0]))
        except ValueError:
            raise WebhookUrlRefused(url, [f"host: {name} resolves to {text!r}"]) from None
    if must_resolve and not addresses:
        raise WebhookUrlRefused(url, [f"host: {name} resolves to no address"])
    return tuple(dict.fromkeys(addresses))


def _name_addresses(
    url: str, name: str, port: int, policy: UrlPolicy, resolver: Resolver, *, must_resolve: bool
) -> tuple[Address, ...]:
    if name in METADATA_NAMES:
        raise WebhookUrlRefused(url, [f"host: {name} is a cloud metadata name"])
    if name == "localhost" or name.endswith(".localhost"):
        addresses: tuple[Address, ...] = _LOOPBACK_NAMES  # RFC 6761: never asked of DNS
    else:
        zone = _zone(name)
        if zone is not None and not policy.allow_networks:
            raise WebhookUrlRefused(url, [f"host: {name} is {zone}"])
        addresses = _resolved(url, name, port, resolver, must_resolve or zone is not None)
        if zone is not None and not all(policy.allows(a) for a in addresses):
            raise WebhookUrlRefused(
                url, [f"host: {name} is {zone}, and not all of it is in an allowed network"]
            )
    problems = [
        f"host: {name} resolves to {a}, {problem}"
        for a in addresses
        if (problem := address_problem(a, policy)) is not None
    ]
    if problems:
        raise WebhookUrlRefused(url, problems)
    return addresses


def check_url(url: str, policy: UrlPolicy, resolver: Resolver, *, must_resolve: bool) -> CheckedUrl:
    """Check a webhook URL (see the module docstring): at registration
    (``must_resolve=False``: a name that does not resolve yet is accepted) or before a
    delivery attempt (``must_resolve=True``).

    Raises:
        WebhookUrlRefused: listing every problem found.
    """
    problems = url_problems(url)
    if problems:
        raise WebhookUrlRefused(url, problems)
    parts = urlsplit(url)
    assert parts.hostname is not None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        host = parse_host(parts.hostname, bracketed="[" in parts.netloc)
    except ValueError as exc:
        raise WebhookUrlRefused(url, [f"host: {exc}"]) from None
    if isinstance(host, str):
        addresses = _name_addresses(url, host, port, policy, resolver, must_resolve=must_resolve)
        return CheckedUrl(url, parts.scheme, host, port, addresses, True)
    problem = address_problem(host, policy)
    if problem is not None:
        raise WebhookUrlRefused(url, [f"host: {host} is {problem}"])
    return CheckedUrl(url, parts.scheme, str(host), port, (host,), False)
