"""Where a sandbox with ``network: true`` may not connect, and how that is enforced.

slirp4netns's ``--disable-host-loopback`` keeps the host's ``127.0.0.0/8`` out of
reach, but slirp connects on the sandbox's behalf from the host's own network stack:
without more, the host's other addresses (a database listening on ``0.0.0.0``,
Orchestrate's API bound to the LAN) and the cloud metadata service
(``169.254.169.254``, which hands out the machine's credentials) would answer. So
before the command starts, the sandbox's network namespace gets a ``prohibit`` route
for each denied network: a connection there fails at once with "Permission denied",
inside the sandbox, before a packet reaches slirp. The sandbox runs without
capabilities, so it cannot remove them.

The routes are added from outside with ``nsenter`` into the sandbox's user and
network namespaces (the server's user owns both), so no privilege is needed.
"""

from __future__ import annotations

import contextlib
import ipaddress
import itertools
from collections.abc import Iterable, Sequence
from pathlib import Path

NSENTER = "nsenter"

ALWAYS_DENIED = (
    "169.254.0.0/16",  # link-local: the metadata service of AWS, GCP, Azure, Oracle
    "100.100.100.200/32",  # Alibaba Cloud's metadata service
    "fd00:ec2::254/128",  # AWS's metadata service over IPv6
)
"""Denied whatever the configuration says."""

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_FIB_TRIE = Path("/proc/net/fib_trie")
_IF_INET6 = Path("/proc/net/if_inet6")
_LINK_OR_HOST_SCOPE = {"10", "20"}


def parse_networks(values: Iterable[str]) -> list[Network]:
    """``values`` as networks; raises ``ValueError`` naming the first that is not one."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ValueError(
                f"{value.strip()!r} is not an IP address or network (e.g. 10.0.0.0/8)"
            ) from None
    return networks


def denied_networks(configured: Sequence[str]) -> list[Network]:
    """Every network a sandbox with network may not reach, without repeats.

    The host's own addresses are read now, not once: an interface may come up later.
    """
    found = [*parse_networks(ALWAYS_DENIED), *_host_addresses(), *parse_networks(configured)]
    return list(dict.fromkeys(found))


def route_commands(networks: Iterable[Network]) -> bytes:
    """The ``ip -batch -`` input that adds a ``prohibit`` route for each network."""
    # ip tells the family from the address itself.
    return "".join(
        f"route add prohibit {network.with_prefixlen}\n" for network in networks
    ).encode()


def nsenter_argv(*, user: str, net: str) -> list[str]:
    """Run ``ip -batch -`` in the network namespace ``net`` as its owner ``user`` (paths)."""
    return [
        NSENTER,
        f"--user={user}",
        f"--net={net}",
        "--preserve-credentials",
        "ip",
        "-batch",
        "-",
    ]


def _host_addresses() -> list[Network]:
    """This machine's own non-loopback addresses, each as a single-address network."""
    return [*_ipv4_local_addresses(), *_ipv6_addresses()]


def _ipv4_local_addresses() -> list[Network]:
    # fib_trie lists each local address as "|-- a.b.c.d" followed by "/32 host LOCAL".
    with contextlib.suppress(OSError, ValueError):
        lines = _FIB_TRIE.read_text().splitlines()
        found = []
        for previous, line in itertools.pairwise(lines):
            if line.strip() == "/32 host LOCAL" and "|--" in previous:
                address = ipaddress.ip_address(previous.split("|--")[1].strip())
                if not address.is_loopback:
                    found.append(ipaddress.ip_network(address))
        return found
    return []


def _ipv6_addresses() -> list[Network]:
    # Each line: address in hex, interface index, prefix length, scope, flags, name.
    with contextlib.suppress(OSError, ValueError):
        found = []
        for line in _IF_INET6.read_text().splitlines():
            fields = line.split()
            if len(fields) < 4 or fields[3] in _LINK_OR_HOST_SCOPE:
                continue
            address = ipaddress.IPv6Address(int(fields[0], 16))
            if not address.is_loopback:
                found.append(ipaddress.ip_network(address))
        return found
    return []
