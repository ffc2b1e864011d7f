"""Helpers of the webhook URL tests: a resolver the tests control, the names it knows,
and a table of hostile URLs that must each be refused (RELIABILITY rule 9)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

PUBLIC = "93.184.215.14"
"""A public address (no test connects to it)."""


@dataclass
class FakeResolver:
    """Resolves the names in ``names`` (to a list of addresses); any other name does not
    resolve, as an unknown name does not. ``asked`` records every look-up."""

    names: dict[str, list[str]] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def resolve(self, host: str, port: int) -> Sequence[str]:
        with self.lock:
            self.asked.append(host)
            found = self.names.get(host)
        if found is None:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return list(found)


def resolver() -> FakeResolver:
    """The tests' names: public ones, and public-looking ones that resolve inside."""
    return FakeResolver({
        "hooks.example.com": [PUBLIC],
        "hooks6.example.com": ["2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
        "internal.rebind.example": ["10.0.0.5"],
        "meta.rebind.example": ["169.254.169.254"],
        "mixed.rebind.example": [PUBLIC, "127.0.0.1"],
        "127.0.0.1.nip.example": ["127.0.0.1"],
        "v6.rebind.example": ["::1"],
        "mapped.rebind.example": ["::ffff:192.168.0.1"],
        "intranet": ["10.1.2.3"],
        "printer.local": ["192.168.1.50"],
    })  # fmt: skip


HOSTILE: list[tuple[str, str]] = [
    # cloud metadata, every spelling of the loopback, the unspecified address
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://2130706433:8101/", "loopback"),
    ("http://0x7f000001/", "loopback"),
    ("http://0177.0.0.1/", "loopback"),
    ("http://017700000001/", "loopback"),
    ("http://127.1/", "loopback"),
    ("http://127.0.1/", "loopback"),
    ("http://0x7f.1/", "loopback"),
    ("http://0x7f.0.0.0x1/", "loopback"),
    ("http://\uff11\uff12\uff17.\uff10.\uff10.\uff11/", "loopback"),  # full-width digits
    ("http://127\u30020\u30020\u30021/", "loopback"),  # ideographic full stops
    ("http://127.0.0.1./", "loopback"),
    ("http://0.0.0.0/", "unspecified"),
    ("http://0/", "unspecified"),
    ("http://0.0.0.0:8000/", "unspecified"),
    ("http://[::]/", "unspecified"),
    ("http://[::1]/", "loopback"),
    ("http://[0:0:0:0:0:0:0:1]/", "loopback"),
    # IPv6 spellings of IPv4 addresses inside
    ("http://[::ffff:127.0.0.1]/", "loopback"),
    ("http://[::ffff:7f00:1]/", "loopback"),
    ("http://[::ffff:169.254.169.254]/", "link-local"),
    ("http://[64:ff9b::a9fe:a9fe]/", "link-local"),  # NAT64 of 169.254.169.254
    ("http://[2002:a00:1::]/", "private"),  # 6to4 of 10.0.0.1
    ("http://[::127.0.0.1]/", "reserved"),  # IPv4-compatible
    ("http://[fd00:ec2::254]/", "unique-local"),
    ("http://[fe80::1]/", "link-local"),
    ("http://[fe80::1%25eth0]/", "link-local"),
    ("http://[fec0::1]/", "site-local"),
    ("http://[ff02::1]/", "multicast"),
    ("http://[2001:db8::1]/", "documentation"),
    # private, shared and special IPv4 ranges
    ("http://10.0.0.1/", "private"),
    ("http://172.16.0.1/", "private"),
    ("http://172.31.255.255/", "private"),
    ("http://192.168.1.1/", "private"),
    ("http://100.64.0.1/", "carrier-grade NAT"),
    ("http://224.0.0.1/", "multicast"),
    ("http://239.255.255.250:1900/", "multicast"),
    ("http://255.255.255.255/", "broadcast"),
    ("http://240.0.0.1/", "reserved"),
    ("http://192.0.2.1/", "documentation"),
    ("http://198.51.100.7/", "documentation"),
    ("http://203.0.113.9/", "documentation"),
    ("http://198.18.0.1/", "benchmarking"),
    ("http://192.0.0.8/", "IETF"),
    # names
    ("http://metadata.google.internal/computeMetadata/v1/", "metadata"),
    ("http://metadata/", "metadata"),
    ("http://METADATA.Google.Internal./", "metadata"),
    ("http://localhost:8101/", "loopback"),
    ("http://api.localhost/", "loopback"),
    ("http://vault.internal/", "zone"),
    ("http://intranet/", "single-label"),
    ("http://printer.local/", "zone"),
    ("http://internal.rebind.example/", "10.0.0.5, a private address"),
    ("http://meta.rebind.example/", "169.254.169.254"),
    ("http://mixed.rebind.example/", "127.0.0.1, a loopback address"),
    ("http://127.0.0.1.nip.example:8101/", "127.0.0.1, a loopback address"),
    ("http://v6.rebind.example/", "::1, a loopback address"),
    ("http://mapped.rebind.example/", "192.168.0.1"),
    # the URL's shape: user info, control characters, schemes, hosts, ports
    ("http://user:pass@127.0.0.1/", "user name or password"),
    ("https://user@hooks.example.com/", "user name or password"),
    ("http://hooks.example.com@127.0.0.1/", "user name or password"),
    ("http://hooks.example.com/\r\nX-Injected: 1", "control"),
    ("http://hooks.example.com/a\nb", "control"),
    ("http://hooks.example.com/\x00", "control"),
    ("http://hooks.example.com/\u202e", "control"),
    ("http://hooks.example.com /x", "spaces"),
    ("http://hooks.example.com\\@127.0.0.1/", "backslash"),
    ("file:///etc/passwd", "only http and https"),
    ("gopher://127.0.0.1:6379/_FLUSHALL", "only http and https"),
    ("ftp://hooks.example.com/", "only http and https"),
    ("javascript:alert(1)", "only http and https"),
    ("http:///path-only", "no host"),
    ("http://256.256.256.256/", "not a valid IPv4"),
    ("http://0x1.0x2.0x3.0x4.5/", "not a valid"),
    ("http://hooks.example.com:0/", "port"),
    ("http://hooks.example.com:99999/", "port"),
    ("http://hooks..example.com/", "not a valid host name"),
    ("http://hooks.example.com/" + "x" * 2000, "longer than 2000"),
]
"""Each hostile URL and a fragment of its refusal's words."""

ALLOWED = [
    "https://hooks.example.com/credits",
    "https://hooks.example.com:8443/credits?tenant=a#top",
    "https://hooks6.example.com/credits",
    f"http://{PUBLIC}/hooks",
    "https://[2606:4700:4700::1111]/hooks",
    "https://[64:ff9b::5db8:d70e]/hooks",  # NAT64 of a public address
    "https://not-there-yet.example.com/hooks",  # does not resolve yet: checked when sent
    "https://m\u00fcnchen.example.com/hooks",  # an international name
]
"""URLs accepted at registration, by default."""
