"""The SSRF guard: no spelling of a private address, and no name resolving to one, gets through."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterator

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from aggregator.errors import BlockedAddressError, FeedError
from aggregator.fetch import Fetcher
from aggregator.netguard import (
    GuardedResolver,
    ResolvedToBlockedAddress,
    check_url,
    is_public_address,
    parse_ipv4_spelling,
)
from tests.httpserver import LoopbackServer, Reply

NOT_PUBLIC = [
    "127.0.0.1", "127.255.255.254", "10.1.2.3", "172.16.0.1", "172.31.255.255",
    "192.168.1.1", "100.64.0.1", "100.127.255.255", "169.254.169.254", "0.0.0.0", "0.1.2.3",
    "224.0.0.1", "239.255.255.250", "240.0.0.1", "255.255.255.255", "192.0.2.10",
    "198.51.100.7", "203.0.113.9", "198.18.0.1", "192.0.0.8",
    "::", "::1", "fe80::1", "fe80::1%1", "fc00::1", "fd12:3456::1", "fec0::1", "ff02::1",
    "2001:db8::1", "100::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254",
    "::127.0.0.1", "::8.8.8.8", "64:ff9b::7f00:1", "64:ff9b::a00:1", "2002:7f00:1::",
    "2002:c0a8:101::1", "2001:0:4136:e378:8000:63bf:3fff:fdd2", "2001::1",
]
PUBLIC = [
    "8.8.8.8", "1.1.1.1", "151.101.0.1", "172.32.0.1", "100.128.0.1", "2606:4700::1111",
    "2a00:1450:4009::200e", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1",
]


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_non_public_addresses_are_refused(address: str) -> None:
    assert not is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    assert is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("host, expected", [
    ("127.1", "127.0.0.1"), ("0x7f000001", "127.0.0.1"), ("2130706433", "127.0.0.1"),
    ("0177.0.0.1", "127.0.0.1"), ("0x7f.0.0.1", "127.0.0.1"), ("127.0.1", "127.0.0.1"),
    ("10.0x10.1", "10.16.0.1"), ("127.0.0.1.", "127.0.0.1"), ("8.8.8.8", "8.8.8.8"),
])
def test_legacy_ipv4_spellings_read_like_inet_aton(host: str, expected: str) -> None:
    assert parse_ipv4_spelling(host) == ipaddress.IPv4Address(expected)


@pytest.mark.parametrize("host", ["example.org", "1.2.3.4.5", "256.0.0.1", "08.0.0.1",
                                  "1.2.3.4a", "", "127.0.0.1 foo", "１２７.0.0.1"])
def test_names_are_not_read_as_addresses(host: str) -> None:
    assert parse_ipv4_spelling(host) is None


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/", "http://127.1/", "http://0x7f000001/", "http://2130706433/",
    "http://0177.0.0.1/", "http://0x7f.1/", "http://[::1]/", "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]:8080/feed", "http://[64:ff9b::7f00:1]/", "http://[2002:7f00:1::]/",
    "https://169.254.169.254/latest/meta-data/", "http://10.0.0.1:8080/", "http://0.0.0.0/",
    "http://[fe80::1%25eth0]/", "http://[fd00::1]/", "http://user:pw@127.0.0.1/",
    "http://example.org@127.0.0.1/", "HTTP://127.0.0.1/", "http://127.0.0.1./",
])
def test_check_url_refuses_every_spelling_of_a_private_address(url: str) -> None:
    with pytest.raises(BlockedAddressError) as caught:
        check_url(url, allow_private=False)
    assert caught.value.url == url
    assert "not public" in caught.value.reason


@pytest.mark.parametrize("url", [
    "file:///etc/passwd", "ftp://example.org/feed", "gopher://127.0.0.1:6379/_INFO",
    "javascript:alert(1)", "data:text/xml,<rss/>", "//example.org/feed", "example.org/feed",
])
def test_check_url_refuses_other_schemes_even_when_private_is_allowed(url: str) -> None:
    with pytest.raises(BlockedAddressError, match="scheme"):
        check_url(url, allow_private=True)


@pytest.mark.parametrize("url", ["http:///feed", "http://"])
def test_check_url_refuses_a_url_without_host(url: str) -> None:
    with pytest.raises(BlockedAddressError, match="no host"):
        check_url(url, allow_private=False)


@pytest.mark.parametrize("url", ["http://127.0.0.1:99999/", "http://[::1/"])
def test_check_url_reports_unparsable_urls(url: str) -> None:
    with pytest.raises(FeedError, match="invalid"):
        check_url(url, allow_private=True)


@pytest.mark.parametrize("url", [
    "https://example.org/feed/", "http://8.8.8.8/", "http://[2606:4700::1111]/",
    "http://localhost/",  # a name: the resolver decides
])
def test_check_url_passes_public_addresses_and_names(url: str) -> None:
    check_url(url, allow_private=False)


def test_check_url_lets_private_addresses_through_when_allowed() -> None:
    check_url("http://127.0.0.1:8000/feed", allow_private=True)
    check_url("http://[::1]/", allow_private=True)


class FakeResolver(AbstractResolver):
    """Answers from a table, as a DNS server under an attacker's control would."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        return [{"hostname": host, "host": address, "port": port, "family": family,
                 "proto": 0, "flags": 0} for address in self.table[host]]

    async def close(self) -> None:
        pass


TABLE = {
    "public.example": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
    "rebind.example": ["93.184.215.14", "127.0.0.1"],  # one bad answer among good ones
    "metadata.example": ["169.254.169.254"],
    "mapped.example": ["::ffff:10.0.0.1"],
}


@pytest.mark.parametrize("host", ["rebind.example", "metadata.example", "mapped.example"])
def test_resolver_refuses_a_name_with_any_non_public_answer(host: str) -> None:
    resolver = GuardedResolver(FakeResolver(TABLE), allow_private=False)
    with pytest.raises(ResolvedToBlockedAddress) as caught:
        asyncio.run(resolver.resolve(host, 80))
    assert caught.value.host == host
    assert caught.value.address in TABLE[host]


def test_resolver_passes_public_answers_and_everything_when_allowed() -> None:
    guarded = GuardedResolver(FakeResolver(TABLE), allow_private=False)
    answers = asyncio.run(guarded.resolve("public.example", 443))
    assert [a["host"] for a in answers] == TABLE["public.example"]
    open_resolver = GuardedResolver(FakeResolver(TABLE), allow_private=True)
    assert asyncio.run(open_resolver.resolve("rebind.example", 80))[1]["host"] == "127.0.0.1"


@pytest.mark.parametrize("host", ["localhost", "0x7f000001", "127.1"])
def test_resolver_refuses_real_lookups_of_loopback(host: str) -> None:
    async def resolve() -> list[ResolveResult]:
        return await GuardedResolver(ThreadedResolver(), allow_private=False).resolve(host, 80)

    with pytest.raises(ResolvedToBlockedAddress):
        asyncio.run(resolve())


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A bare listening socket: it can tell whether anything even connected to it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.settimeout(0.2)
    yield sock
    sock.close()


def _connections(sock: socket.socket) -> int:
    count = 0
    while True:
        try:
            conn, _ = sock.accept()
        except TimeoutError:
            return count
        conn.close()
        count += 1


def _fetch(url: str) -> None:
    async def go() -> None:
        async with Fetcher(user_agent="test", allow_private=False, timeout=5) as fetcher:
            await fetcher.get(url)

    asyncio.run(go())


@pytest.mark.parametrize("host", ["127.0.0.1", "127.1", "0x7f000001", "localhost",
                                  "[::ffff:127.0.0.1]"])
def test_fetcher_never_connects_to_loopback(listener: socket.socket, host: str) -> None:
    port = listener.getsockname()[1]
    url = f"http://{host}:{port}/feed"
    with pytest.raises(BlockedAddressError) as caught:
        _fetch(url)
    assert caught.value.url == url
    assert "127.0.0.1" in str(caught.value) or "::1" in str(caught.value) \
        or "7f00:1" in str(caught.value)
    assert _connections(listener) == 0


def test_fetcher_refuses_localhost_and_the_server_sees_nothing() -> None:
    with LoopbackServer({"/feed": Reply(200, b"<rss/>")}) as server:
        for url in (server.url("/feed"), f"http://localhost:{server.port}/feed"):
            with pytest.raises(BlockedAddressError, match="not public|non-public"):
                _fetch(url)
        assert server.requests == []
