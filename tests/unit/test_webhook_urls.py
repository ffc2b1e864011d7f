"""Which URLs the server calls on a tenant's behalf (RELIABILITY rule 9): the pure check
of :mod:`creditline.domain.webhook_urls`, with a resolver the tests control."""

from __future__ import annotations

import ipaddress

import pytest

from creditline.domain.errors import InvalidSetting, WebhookUrlRefused
from creditline.domain.webhook_urls import (
    UrlPolicy,
    address_problem,
    check_url,
    parse_host,
    parse_networks,
)
from tests.webhook_urls import ALLOWED, HOSTILE, PUBLIC, resolver

LOCAL = UrlPolicy(parse_networks("127.0.0.0/8,::1/128"))
PUBLIC_ONLY = UrlPolicy()


def refusal(url: str, policy: UrlPolicy = PUBLIC_ONLY, *, must_resolve: bool = False) -> str:
    with pytest.raises(WebhookUrlRefused) as caught:
        check_url(url, policy, resolver(), must_resolve=must_resolve)
    return str(caught.value)


def test_the_table_holds_at_least_thirty_hostile_urls() -> None:
    assert len(HOSTILE) >= 30 and len({url for url, _ in HOSTILE}) == len(HOSTILE)


@pytest.mark.parametrize(("url", "words"), HOSTILE, ids=[repr(u)[:60] for u, _ in HOSTILE])
def test_a_hostile_url_is_refused(url: str, words: str) -> None:
    message = refusal(url)
    assert words.lower() in message.lower(), message
    assert len(message) < 1000 and "\n" not in message and "\r" not in message


@pytest.mark.parametrize("url", ALLOWED)
def test_a_public_url_is_accepted(url: str) -> None:
    checked = check_url(url, UrlPolicy(), resolver(), must_resolve=False)
    assert checked.url == url
    assert all(address_problem(a) is None for a in checked.addresses)


def test_every_numeric_spelling_is_read_as_the_kernel_reads_it() -> None:
    loopback = ipaddress.ip_address("127.0.0.1")
    for spelling in ("2130706433", "0x7f000001", "0177.0.0.1", "127.1", "127.0.1", "0x7f.1",
                     "017700000001", "0x7F.0X0.0.01"):  # fmt: skip
        assert parse_host(spelling.lower()) == loopback, spelling
    assert parse_host("1.2.3.4") == ipaddress.ip_address("1.2.3.4")
    assert parse_host("0") == ipaddress.ip_address("0.0.0.0")
    for bad in ("256.1.1.1", "1.2.3.4.5", "08.1.1.1", "1.2.3.0x100", "4294967296"):
        with pytest.raises(ValueError, match="not a valid IPv4"):
            parse_host(bad)
    assert parse_host("Hooks.Example.COM.") == "hooks.example.com"
    assert parse_host("m\u00fcnchen.example") == "xn--mnchen-3ya.example"


def test_a_delivery_needs_the_name_to_resolve_to_public_addresses_only() -> None:
    url = "https://not-there-yet.example.com/hooks"
    assert check_url(url, UrlPolicy(), resolver(), must_resolve=False).addresses == ()
    assert "cannot be resolved" in refusal(url, must_resolve=True)
    checked = check_url(
        "https://hooks.example.com:8443/x", UrlPolicy(), resolver(), must_resolve=True
    )
    assert (checked.host, checked.port, checked.name) == ("hooks.example.com", 8443, True)
    assert checked.addresses == (ipaddress.ip_address(PUBLIC),)
    assert checked.host_header == "hooks.example.com:8443"
    bare = check_url(f"http://{PUBLIC}/x", UrlPolicy(), resolver(), must_resolve=True)
    assert (bare.name, bare.host_header) == (False, PUBLIC)


def test_allowed_networks_open_those_networks_only() -> None:
    for url in ("http://127.0.0.1:8101/hooks", "http://0x7f000001:8101/", "http://[::1]/",
                "http://localhost:8101/", "http://127.0.0.1.nip.example/",
                "http://[::ffff:127.0.0.1]/"):  # fmt: skip
        check_url(url, LOCAL, resolver(), must_resolve=True)
    for url in ("http://10.0.0.1/", "http://169.254.169.254/", "http://printer.local/",
                "http://internal.rebind.example/x", "http://metadata.google.internal/",
                "http://user:pass@127.0.0.1/"):  # fmt: skip
        refusal(url, LOCAL)
    # A name of a private zone is accepted when all of it is in an allowed network.
    office = UrlPolicy(parse_networks(["192.168.0.0/16"]))
    check_url("http://printer.local/", office, resolver(), must_resolve=True)
    assert "cannot be resolved" in refusal("http://scanner.local/", office)


def test_allowed_networks_are_cidr_text() -> None:
    assert parse_networks(" 127.0.0.0/8 , ::1/128,,") == (
        ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"),
    )  # fmt: skip
    assert parse_networks("10.1.2.3") == (ipaddress.ip_network("10.1.2.3/32"),)
    assert parse_networks("") == ()
    with pytest.raises(InvalidSetting, match="localhost"):
        parse_networks("127.0.0.0/8,localhost")


def test_public_addresses_pass_and_the_others_say_why() -> None:
    for text in (PUBLIC, "8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "64:ff9b::808:808"):
        assert address_problem(ipaddress.ip_address(text)) is None, text
    assert address_problem(ipaddress.ip_address("64:ff9b::a00:1")) == (
        "an IPv6 form of 10.0.0.1, a private address (RFC 1918)"
    )
    assert address_problem(ipaddress.ip_address("100::1")) == "a discard-only address"
    assert address_problem(ipaddress.ip_address("4000::1")) == "a reserved IPv6 address"


def test_a_refusal_lists_every_problem_and_quotes_a_short_prefix() -> None:
    url = "gopher://user@hooks.example.com/\r\n" + "x" * 3000
    with pytest.raises(WebhookUrlRefused) as caught:
        check_url(url, UrlPolicy(), resolver(), must_resolve=False)
    assert caught.value.url == url
    assert [p.split(":")[0] for p in caught.value.problems] == ["url"] * 4
    assert len(str(caught.value)) < 600
