"""The SSRF guard: which addresses the crawler may connect to.

Feeds are input from outside; a hostile feed (or a redirect, or a DNS answer that changes
between check and use) must not turn the crawler against the network it runs in.  The
check therefore runs on the *resolved* address at connect time (the resolver below is
the only way the HTTP client turns a name into an address) and again on every redirect
hop, whose URL is checked before the next request is sent.

Refused unless allow-listed: loopback, private, link-local, multicast, reserved,
unspecified, shared (CGNAT) and cloud-metadata addresses, plus IPv4 mapped into IPv6.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult

from services.crawler.errors import BadUrl, BlockedAddress
from services.urls import origin_prefix

__all__ = ["AddressPolicy", "GuardedResolver", "resolve_checked"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Metadata endpoints of cloud providers that are not covered by the link-local range.
_METADATA = (
    ipaddress.ip_network("169.254.169.254/32"),
    ipaddress.ip_network("100.100.100.200/32"),  # Alibaba
    ipaddress.ip_network("fd00:ec2::254/128"),  # AWS IPv6
    ipaddress.ip_network("192.0.0.192/32"),  # Oracle
)
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_PASSED_MAX = 50_000


class AddressPolicy:
    """Decides whether one address or host may be contacted."""

    def __init__(
        self,
        allow_networks: Iterable[str] = (),
        allow_hosts: Iterable[str] = (),
        resolve: Mapping[str, str] | None = None,
        *,
        only_allowed: bool = False,
    ) -> None:
        self.allow_networks = tuple(ipaddress.ip_network(n, strict=False) for n in allow_networks)
        self.allow_hosts = frozenset(h.lower().rstrip(".") for h in allow_hosts)
        self.resolve_map = {k.lower(): v for k, v in (resolve or {}).items()}
        self.only_allowed = only_allowed
        self._passed: set[str] = set()  # origin prefixes that passed check_url

    def host_allowed(self, host: str) -> bool:
        """Whether ``host`` is on the explicit host allow-list (exact or ``*.suffix``)."""
        host = host.lower().rstrip(".")
        if host in self.allow_hosts:
            return True
        return any(h.startswith("*.") and host.endswith(h[1:]) for h in self.allow_hosts)

    def why_blocked(self, addr: IPAddress) -> str | None:
        """The reason ``addr`` is refused, or ``None`` if it may be contacted."""
        if any(addr in net for net in self.allow_networks if net.version == addr.version):
            return None
        if self.only_allowed:
            return "not on the allow-list"
        if isinstance(addr, ipaddress.IPv6Address):
            mapped = addr.ipv4_mapped or addr.sixtofour
            if mapped is not None:
                return self.why_blocked(mapped)
        if any(addr in net for net in _METADATA if net.version == addr.version):
            return "cloud metadata address"
        for attr in ("is_loopback", "is_link_local", "is_multicast", "is_unspecified", "is_reserved"):
            if getattr(addr, attr):
                return attr.removeprefix("is_").replace("_", "-") + " address"
        if addr.version == 4 and addr in _CGNAT:
            return "shared (CGNAT) address"
        if addr.is_private or not addr.is_global:
            return "private address"
        return None

    def check_address(self, host: str, addr: str) -> None:
        """Raise :class:`BlockedAddress` if ``addr`` (resolved from ``host``) is refused."""
        try:
            ip = ipaddress.ip_address(addr.split("%", 1)[0])
        except ValueError as exc:
            raise BlockedAddress(f"{host}: unparseable address {addr!r}") from exc
        reason = self.why_blocked(ip)
        if reason is not None:
            raise BlockedAddress(f"{host} resolves to {ip}: {reason}")

    def check_url(self, url: str) -> None:
        """Static checks before any request: scheme, host present, IP literals.

        Names are checked later, on their resolved addresses (:class:`GuardedResolver`).
        The checks read only ``scheme://netloc``, so that prefix is what is checked and
        remembered once it passed (one urlsplit per host, not per page).
        """
        prefix = origin_prefix(url)
        if prefix in self._passed:
            return
        try:
            self._check_url(prefix)
        except (BadUrl, BlockedAddress):
            self._check_url(url)  # the same verdict, reported with the whole URL
            raise
        if len(self._passed) >= _PASSED_MAX:
            self._passed.clear()
        self._passed.add(prefix)

    def _check_url(self, url: str) -> None:
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError as exc:
            raise BadUrl(f"unparseable URL {url!r}: {exc}") from exc
        if parts.scheme not in ("http", "https"):
            raise BadUrl(f"scheme {parts.scheme!r} is not fetched: {url!r}")
        host = parts.hostname
        if not host:
            raise BadUrl(f"no host in {url!r}")
        if parts.username or parts.password:
            raise BadUrl(f"credentials in URL refused: {url!r}")
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            return
        if self.host_allowed(host):
            return
        self.check_address(host, str(ip))


async def resolve_checked(policy: AddressPolicy, host: str, port: int, family: int = socket.AF_UNSPEC) -> list[str]:
    """Resolve ``host`` and keep only addresses the policy allows; none left is an error."""
    override = policy.resolve_map.get(host.lower())
    if override is None and policy.only_allowed and not policy.host_allowed(host):
        # No DNS query at all for names that could never be allowed.
        raise BlockedAddress(f"{host}: not on the allow-list")
    if override is not None:
        infos: list[tuple[int, str]] = [(socket.AF_INET6 if ":" in override else socket.AF_INET, override)]
    else:
        loop = asyncio.get_running_loop()
        try:
            raw = await loop.getaddrinfo(host, port, family=family, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise OSError(exc.errno, f"cannot resolve {host}: {exc.strerror}") from exc
        infos = [(fam, str(sa[0])) for fam, _t, _p, _c, sa in raw]
    if policy.host_allowed(host):
        return [a for _f, a in infos]
    allowed: list[str] = []
    first_error: BlockedAddress | None = None
    for _fam, addr in infos:
        try:
            policy.check_address(host, addr)
        except BlockedAddress as exc:
            first_error = first_error or exc
            continue
        allowed.append(addr)
    if not allowed:
        raise first_error or BlockedAddress(f"{host}: no usable address")
    return list(dict.fromkeys(allowed))


class GuardedResolver(AbstractResolver):
    """aiohttp resolver that filters every answer through the :class:`AddressPolicy`.

    aiohttp calls it for every connection to a name (its DNS cache stores only the
    filtered answers), so the address checked is the address connected to.
    """

    def __init__(self, policy: AddressPolicy) -> None:
        self.policy = policy

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """Resolve and filter; raises :class:`BlockedAddress` if nothing is left."""
        addrs = await resolve_checked(self.policy, host, port, family)
        out: list[ResolveResult] = []
        for addr in addrs:
            fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
            item: dict[str, Any] = {
                "hostname": host,
                "host": addr,
                "port": port,
                "family": fam,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
            out.append(item)  # type: ignore[arg-type]
        return out

    async def close(self) -> None:
        """Nothing to release."""
