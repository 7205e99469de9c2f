"""Where a webhook may go: public internet addresses only.

A webhook URL is the one place where someone outside the platform (an agency
administrator, an agency system) tells the platform where to connect. Without a check it is
a way into the platform's own network: loopback services, the cluster, the cloud metadata
service. So the target is checked twice:

- **at registration** (``TargetPolicy.registration_refusal``): the URL's host, and every
  address it resolves to, must be public; a refusal is a 422 naming ``url``;
- **at every delivery, after resolving the host again** (``TargetPolicy.vet``): a name that
  resolved to a public address at registration and resolves inward now is refused then.
  The delivery connects to exactly the addresses this check returned (see
  ``channels.WebhookChannel``): there is no second resolution between the check and the
  connection, so DNS rebinding cannot slip an inward address in between.

Addresses are classified with the standard library's ``ipaddress``, with the ranges that
matter named explicitly (its ``is_global`` has changed between Python patch releases, so
it is only the catch-all). IPv6 forms that carry an IPv4 address (IPv4-mapped, NAT64's
well-known prefix, 6to4) are judged by the address they carry.

Development may allow loopback (``WEBHOOK_ALLOW_LOOPBACK``, default false) so that a
receiver on 127.0.0.1 can be used; nothing else inward is ever allowed.
"""
from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, replace
from typing import Callable
from urllib.parse import urlsplit

import eventlet
from nameko.utils import import_from_path

from stafett.config import flag

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
#: ``resolve(host, port) -> [address, …]``; any exception (``socket.gaierror``) or an empty
#: answer means the name does not resolve
Resolver = Callable[[str, int], list]

# -- categories (what a refusal names) --------------------------------------------------------

LOOPBACK = "loopback"
LINK_LOCAL = "link-local"
PRIVATE = "private"
UNIQUE_LOCAL = "unique-local"
MULTICAST = "multicast"
UNSPECIFIED = "unspecified"
RESERVED = "reserved"
BENCHMARKING = "benchmarking"
SHARED = "carrier-grade NAT"
METADATA = "cloud metadata"
INTERNAL_NAME = "internal name"

#: at registration a name must resolve within this (the gateway waits RPC_TIMEOUT, 5 s)
REGISTRATION_RESOLVE_SECONDS = 3.0

_net = ipaddress.ip_network

#: cloud instance metadata and platform endpoints. Most lie in ranges refused anyway
#: (169.254/16, fd00::/8, 100.64/10); Azure's wire server and Oracle's are not.
METADATA_ADDRESSES = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254",      # AWS, GCP, Azure, OpenStack, DigitalOcean, Oracle IMDS
    "169.254.170.2",        # AWS ECS task metadata
    "169.254.169.253",      # AWS VPC DNS
    "169.254.169.123",      # AWS time sync
    "169.254.0.23",         # Tencent Cloud
    "100.100.100.200",      # Alibaba Cloud
    "168.63.129.16",        # Azure wire server (a public-range address)
    "192.0.0.192",          # Oracle Cloud (older IMDS)
    "fd00:ec2::254",        # AWS IMDS over IPv6
    "fd00:ec2::253",        # AWS VPC DNS over IPv6
    "fd00:ec2::123",        # AWS time sync over IPv6
))
#: host names of metadata services, and suffixes that only ever name internal hosts
METADATA_NAMES = frozenset({
    "metadata", "metadata.google.internal", "metadata.goog", "instance-data",
    "instance-data.ec2.internal", "metadata.tencentyun.com", "metadata.azure.internal",
})
INTERNAL_SUFFIXES = (".internal", ".local", ".localdomain", ".home.arpa")

_V4_RANGES = (
    (_net("0.0.0.0/8"), UNSPECIFIED),          # "this network": 0.0.0.0 reaches the host
    (_net("127.0.0.0/8"), LOOPBACK),
    (_net("169.254.0.0/16"), LINK_LOCAL),
    (_net("10.0.0.0/8"), PRIVATE),             # RFC 1918
    (_net("172.16.0.0/12"), PRIVATE),
    (_net("192.168.0.0/16"), PRIVATE),
    (_net("100.64.0.0/10"), SHARED),           # RFC 6598
    (_net("198.18.0.0/15"), BENCHMARKING),     # RFC 2544
    (_net("224.0.0.0/4"), MULTICAST),
    (_net("192.0.0.0/24"), RESERVED),          # IETF protocol assignments
    (_net("192.0.2.0/24"), RESERVED),          # documentation
    (_net("198.51.100.0/24"), RESERVED),
    (_net("203.0.113.0/24"), RESERVED),
    (_net("192.88.99.0/24"), RESERVED),        # 6to4 relay anycast (deprecated)
    (_net("240.0.0.0/4"), RESERVED),           # includes 255.255.255.255
)
_V6_RANGES = (
    (_net("::/128"), UNSPECIFIED),
    (_net("::1/128"), LOOPBACK),
    (_net("fe80::/10"), LINK_LOCAL),
    (_net("fc00::/7"), UNIQUE_LOCAL),
    (_net("ff00::/8"), MULTICAST),
    (_net("fec0::/10"), RESERVED),             # site-local (deprecated)
    (_net("2001:2::/48"), BENCHMARKING),       # RFC 5180
    (_net("2001:db8::/32"), RESERVED),         # documentation
    (_net("2001::/23"), RESERVED),             # IETF protocol assignments, Teredo
    (_net("64:ff9b:1::/48"), RESERVED),        # NAT64 for local use (RFC 8215)
    (_net("100::/64"), RESERVED),              # discard
    (_net("::/96"), RESERVED),                 # IPv4-compatible (deprecated)
)
_NAT64 = _net("64:ff9b::/96")                  # RFC 6052 well-known prefix


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for, where one reaches it: IPv4-mapped
    (``::ffff:a.b.c.d``) and NAT64 (``64:ff9b::a.b.c.d``)."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def address_category(address) -> str | None:
    """``None`` for a public address a webhook may go to; else the category refusing it."""
    if not isinstance(address, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        address = ipaddress.ip_address(str(address).split("%", 1)[0])  # drop a zone id
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return address_category(embedded)
        if address.sixtofour is not None:           # 2002:a.b.c.d::/48
            inner = address_category(address.sixtofour)
            if inner is not None:
                return inner
    if address in METADATA_ADDRESSES:
        return METADATA
    for network, category in (_V4_RANGES if address.version == 4 else _V6_RANGES):
        if address in network:
            return category
    if address.is_multicast:
        return MULTICAST
    if address.is_reserved or not address.is_global:
        return RESERVED
    return None


def literal_address(host: str) -> IPAddress | None:
    """The address a host written as a literal stands for, including the legacy IPv4
    forms the C library still accepts (``127.1``, ``2130706433``, ``0x7f.0.0.1``)."""
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    if host and all(c in "0123456789abcdefxABCDEFX." for c in host) and host[0].isdigit():
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def name_category(host: str) -> str | None:
    """A host name refused before any resolution: metadata names, names only internal
    DNS answers, and single-label names (completed by the local search domains)."""
    name = host.rstrip(".").lower()
    if name in METADATA_NAMES:
        return METADATA
    if name.endswith(INTERNAL_SUFFIXES) or ("." not in name and name != "localhost"):
        return INTERNAL_NAME
    return None


# -- the URL ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    """A webhook URL taken apart once; the delivery uses these parts and no other parse."""

    scheme: str
    host: str                   # a lower-case name, or an address without brackets
    port: int
    path: str                   # path and query, as sent in the request line
    host_header: str            # what the Host header says
    address: IPAddress | None   # set when the URL names an address, not a name

    @classmethod
    def parse(cls, url: str) -> "Target":
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host = parts.hostname or ""
        if scheme not in ("http", "https") or not host:
            raise ValueError("not an http(s) URL with a host")
        port = parts.port                           # ValueError if out of range
        if port is None:
            port = 443 if scheme == "https" else 80
        elif port == 0:
            raise ValueError("port 0")
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        address = literal_address(host)
        if address is not None:
            host = str(address)
            shown = f"[{host}]" if address.version == 6 else host
        else:
            host = host.rstrip(".")
            shown = host
        header = shown if parts.port is None else f"{shown}:{port}"
        return cls(scheme, host, port, path, header, address)


class Blocked(Exception):
    """The target is, or resolves to, an address webhooks may not go to."""

    def __init__(self, category: str):
        super().__init__(category)
        self.category = category


class Unresolvable(Exception):
    """The host name did not resolve (now)."""


def system_resolver(host: str, port: int) -> list[str]:
    """Every address of ``host`` (A and AAAA, the C library's order), each once."""
    seen: list[str] = []
    for *_, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        if sockaddr[0] not in seen:
            seen.append(sockaddr[0])
    return seen




@dataclass(frozen=True)
class TargetPolicy:
    allow_loopback: bool = False
    resolver: Resolver = system_resolver
    resolve_timeout: float = 10.0

    @classmethod
    def from_config(cls, config: dict) -> "TargetPolicy":
        """``WEBHOOK_ALLOW_LOOPBACK`` (development only) and ``WEBHOOK_RESOLVER`` (a dotted
        path to a ``resolve(host, port)`` function; empty: the system's resolver)."""
        path = str(config.get("WEBHOOK_RESOLVER") or "").strip()
        return cls(allow_loopback=flag(config.get("WEBHOOK_ALLOW_LOOPBACK"), False,
                                              "WEBHOOK_ALLOW_LOOPBACK"),
                   resolver=import_from_path(path) if path else system_resolver,
                   resolve_timeout=float(config.get("WEBHOOK_TIMEOUT_SECONDS", 10)))

    def refusal(self, address) -> str | None:
        category = address_category(address)
        if category == LOOPBACK and self.allow_loopback:
            return None
        return category

    def vet(self, target: Target) -> list[IPAddress]:
        """The addresses to connect to, all checked; resolves a name exactly once.

        Raises ``Blocked`` if the name, or any address it resolves to, is refused (one
        inward address among public ones is enough: the resolver's order is not ours to
        trust), ``Unresolvable`` if it does not resolve."""
        if target.address is not None:
            addresses = [target.address]
        else:
            category = name_category(target.host)
            if category is not None:
                raise Blocked(category)
            addresses = self._resolve(target.host, target.port)
        for address in addresses:
            category = self.refusal(address)
            if category is not None:
                raise Blocked(category)
        return addresses

    def _resolve(self, host: str, port: int) -> list[IPAddress]:
        timer = eventlet.Timeout(self.resolve_timeout)
        try:
            answers = list(self.resolver(host, port))
        except eventlet.Timeout as expired:
            if expired is not timer:
                raise                           # the caller's deadline, not ours
            raise Unresolvable(host) from None
        except Exception:                       # whatever the resolver's failure: none
            raise Unresolvable(host) from None
        finally:
            timer.cancel()
        addresses = []
        for answer in answers:
            try:
                addresses.append(ipaddress.ip_address(str(answer).split("%", 1)[0]))
            except ValueError:
                raise Unresolvable(host) from None
        if not addresses:
            raise Unresolvable(host)
        return addresses

    def registration_refusal(self, url: str) -> str | None:
        """Why ``url`` may not be registered, as the 422 detail; ``None`` if it may.

        An address written in the URL is named with its category (the caller typed it). For
        a name the answer is the same whether it resolves inward or not at all, and never
        names an address: otherwise registering names would map the internal DNS."""
        try:
            target = Target.parse(url)
        except ValueError:
            return "not a valid URL"
        if urlsplit(url).username is not None:
            return "a webhook URL carries no user name or password (the signature " \
                   "authenticates Stafett)"
        try:    # within the gateway's RPC timeout, whatever the delivery's is
            replace(self, resolve_timeout=min(self.resolve_timeout,
                                              REGISTRATION_RESOLVE_SECONDS)).vet(target)
        except Blocked as refused:
            if target.address is not None:
                return (f"{target.address} is refused ({refused.category} address); "
                        "webhooks go to public internet addresses only")
            if refused.category in (METADATA, INTERNAL_NAME):
                return (f"{target.host} is refused ({refused.category}); webhooks go to "
                        "public internet addresses only")
            return PUBLIC_NAME_ONLY
        except Unresolvable:
            return PUBLIC_NAME_ONLY
        return None


PUBLIC_NAME_ONLY = ("the host must resolve to public internet addresses only (not loopback, "
                    "private, link-local, unique-local, multicast, reserved or metadata)")
