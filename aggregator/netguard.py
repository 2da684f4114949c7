"""The SSRF guard: feed URLs come from strangers, so no request may reach a private address.

Two checks, because aiohttp has two paths to an address. `check_url` runs on every URL we are
about to request (the first one and every redirect hop): it refuses other schemes and hosts
that are literal IP addresses in any spelling, which aiohttp connects to without asking a
resolver. `GuardedResolver` sits inside aiohttp's connector and refuses a host name if any of
the addresses it resolves to is not public; the connector then connects only to addresses the
guard has seen, so a DNS answer cannot change between the check and the connection.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import socket

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

from aggregator.errors import BlockedAddressError, FeedError

logger = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ALLOWED_SCHEMES = frozenset({"http", "https"})

# Everything that is not ordinary public unicast. Spelled out rather than left to the
# stdlib's is_global, whose tables change between Python releases.
_BLOCKED_V4 = tuple(ipaddress.IPv4Network(n) for n in (
    "0.0.0.0/8",  # "this network", unspecified
    "10.0.0.0/8",  # private
    "100.64.0.0/10",  # carrier-grade NAT
    "127.0.0.0/8",  # loopback
    "169.254.0.0/16",  # link-local (cloud metadata lives here)
    "172.16.0.0/12",  # private
    "192.0.0.0/24",  # IETF protocol assignments
    "192.0.2.0/24",  # documentation
    "192.88.99.0/24",  # 6to4 relay anycast (deprecated)
    "192.168.0.0/16",  # private
    "198.18.0.0/15",  # benchmarking
    "198.51.100.0/24",  # documentation
    "203.0.113.0/24",  # documentation
    "224.0.0.0/4",  # multicast
    "240.0.0.0/4",  # reserved, and 255.255.255.255 broadcast
))

_GLOBAL_UNICAST_V6 = ipaddress.IPv6Network("2000::/3")
_BLOCKED_V6 = tuple(ipaddress.IPv6Network(n) for n in (
    "2001::/23",  # IETF protocol assignments, Teredo (2001::/32) included
    "2001:db8::/32",  # documentation
    "3fff::/20",  # documentation (RFC 9637)
))
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # well-known NAT64 prefix, embeds an IPv4
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_HOST_NAME = re.compile(r"[a-z0-9_.-]+", re.IGNORECASE)  # after yarl's IDNA encoding


class ResolvedToBlockedAddress(OSError):
    """Raised inside aiohttp's connector: an OSError, so aiohttp wraps it as a DNS failure.

    The fetcher unwraps it into a BlockedAddressError naming the URL; see `blocked_cause`.
    """

    def __init__(self, host: str, address: str) -> None:
        self.host = host
        self.address = address
        super().__init__(f"{host} resolves to non-public address {address}")


def is_public_address(ip: IPAddress) -> bool:
    """True only for ordinary public unicast addresses, the only ones a feed may live on."""
    if isinstance(ip, ipaddress.IPv4Address):
        if any(ip in net for net in _BLOCKED_V4):
            return False
        return not (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast
                    or ip.is_reserved or ip.is_unspecified)
    embedded = _embedded_ipv4(ip)
    if embedded is not None:
        return is_public_address(embedded)
    if ip.scope_id or ip not in _GLOBAL_UNICAST_V6:
        # Loopback, unspecified, ULA fc00::/7, link-local, site-local, multicast, discard
        # 100::/64 and every unassigned range lie outside 2000::/3.
        return False
    if any(ip in net for net in _BLOCKED_V6):
        return False
    return not (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast
                or ip.is_reserved or ip.is_unspecified or ip.is_site_local)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form routes to (mapped, 6to4, NAT64), if any.

    Left out, and so refused whole because they lie outside 2000::/3 or in a blocked range:
    the deprecated IPv4-compatible ::a.b.c.d form and Teredo (2001::/32).
    """
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def parse_ipv4_spelling(host: str) -> ipaddress.IPv4Address | None:
    """Read `host` the way inet_aton (and so getaddrinfo) does, or None if it is a name.

    Accepts every legacy spelling: `127.1`, `0x7f000001`, `2130706433`, `0177.0.0.1`.
    """
    host = host[:-1] if host.endswith(".") else host
    parts = host.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    numbers: list[int] = []
    for part in parts:
        value = _parse_number(part)
        if value is None:
            return None
        numbers.append(value)
    *head, last = numbers
    if any(n > 0xFF for n in head) or last >= 1 << (8 * (4 - len(head))):
        return None
    value = last
    for index, number in enumerate(head):
        value |= number << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def _parse_number(part: str) -> int | None:
    """One inet_aton component: 0x-prefixed hex, 0-prefixed octal, or decimal."""
    if part[:2].lower() == "0x":
        digits = part[2:]
        if not set(digits) <= _HEX_DIGITS:
            return None
        return int(digits or "0", 16)
    if not part.isascii() or not part.isdigit():
        return None
    if len(part) > 1 and part.startswith("0"):
        try:
            return int(part, 8)
        except ValueError:  # 08, 09: not octal, and inet_aton refuses them too
            return None
    return int(part)


def literal_address(host: str) -> IPAddress | None:
    """The address a URL host names directly (IPv6 without brackets, IPv4 in any spelling)."""
    if ":" in host:
        try:
            return ipaddress.IPv6Address(host.strip("[]"))
        except ValueError:
            return None
    return parse_ipv4_spelling(host)


def check_url(url: str, *, allow_private: bool) -> None:
    """Refuse a URL we must not request: not http(s), no host, or a non-public literal IP.

    Raises BlockedAddressError naming the URL, or FeedError when the URL cannot be parsed.
    Host names pass here; `GuardedResolver` checks what they resolve to.
    """
    try:
        parsed = URL(url)
        host = parsed.host
        parsed.port  # noqa: B018 - yarl raises ValueError for an out-of-range port
    except (ValueError, TypeError) as exc:
        raise FeedError(url, f"invalid URL: {exc}") from exc
    if parsed.scheme not in ALLOWED_SCHEMES:
        raise BlockedAddressError(url, f"scheme {parsed.scheme or '(none)'!r} is not allowed;"
                                       " only http and https")
    if not host:
        raise BlockedAddressError(url, "URL has no host")
    if ":" in host:
        if literal_address(host) is None:
            raise FeedError(url, f"invalid IPv6 address {host!r}")
    elif not _HOST_NAME.fullmatch(host):
        raise FeedError(url, f"invalid host name {host[:100]!r}")
    if allow_private:
        return
    address = literal_address(host)
    if address is not None and not is_public_address(address):
        raise BlockedAddressError(url, f"address {address} is not public"
                                       " (private, loopback or reserved)")


class GuardedResolver(AbstractResolver):
    """An aiohttp resolver that refuses names resolving to any non-public address.

    Raises ResolvedToBlockedAddress (an OSError) so aiohttp reports it like a DNS failure.
    """

    def __init__(self, inner: AbstractResolver | None = None, *, allow_private: bool) -> None:
        self._inner = inner if inner is not None else DefaultResolver()
        self._allow_private = allow_private

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        if self._allow_private:
            return results
        for result in results:
            address = result["host"]
            try:
                ip = ipaddress.ip_address(address)
            except ValueError:
                raise ResolvedToBlockedAddress(host, address) from None
            if not is_public_address(ip):
                logger.debug("refusing %s: resolves to %s", host, address)
                raise ResolvedToBlockedAddress(host, address)
        return results

    async def close(self) -> None:
        await self._inner.close()


def blocked_cause(exc: BaseException) -> ResolvedToBlockedAddress | None:
    """The guard's refusal somewhere in `exc`'s cause chain (aiohttp wraps it), if there."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ResolvedToBlockedAddress):
            return current
        seen.add(id(current))
        nested = getattr(current, "os_error", None)
        if isinstance(nested, ResolvedToBlockedAddress):
            return nested
        current = current.__cause__ or current.__context__
    return None
