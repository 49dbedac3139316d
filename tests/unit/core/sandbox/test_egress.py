"""What ``network: true`` may not reach: the deny list and the routes that enforce it."""

from __future__ import annotations

import ipaddress
import os
import re

import pytest

from orchestrate.core.errors import ConfigurationError
from orchestrate.core.sandbox import egress
from orchestrate.core.settings import load_settings


def test_the_metadata_services_are_always_denied() -> None:
    denied = egress.denied_networks([])

    assert ipaddress.ip_address("169.254.169.254") in denied[0]
    assert ipaddress.ip_network("100.100.100.200/32") in denied
    assert ipaddress.ip_network("fd00:ec2::254/128") in denied


def test_the_hosts_own_addresses_are_denied_but_not_its_loopback() -> None:
    denied = egress.denied_networks([])

    assert not any(
        network.overlaps(ipaddress.ip_network("127.0.0.0/8"))
        for network in denied
        if network.version == 4
    )
    assert ipaddress.ip_network("::1/128") not in denied


def test_configured_networks_are_added_once() -> None:
    denied = egress.denied_networks(["10.0.0.0/8", " 10.0.0.0/8 ", "192.168.1.7"])

    assert denied.count(ipaddress.ip_network("10.0.0.0/8")) == 1
    assert ipaddress.ip_network("192.168.1.7/32") in denied


def test_routes_are_prohibit_routes_for_both_families() -> None:
    networks = egress.parse_networks(["169.254.0.0/16", "fd00::2"])

    assert egress.route_commands(networks) == (
        b"route add prohibit 169.254.0.0/16\nroute add prohibit fd00::2/128\n"
    )


def test_a_bad_network_is_named() -> None:
    with pytest.raises(
        ValueError, match=re.escape("'10.0.0.0/33' is not an IP address or network")
    ):
        egress.parse_networks(["10.0.0.0/33"])


def test_a_bad_network_in_the_setting_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("ORCHESTRATE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("ORCHESTRATE_SANDBOX_NETWORK_DENY", "10.0.0.0/8,intranet")

    with pytest.raises(ConfigurationError, match=r"(?is)sandbox_network_deny.*intranet"):
        load_settings()


def test_the_setting_is_split_on_commas(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCHESTRATE_SANDBOX_NETWORK_DENY", "10.0.0.0/8, 172.16.0.0/12")

    assert load_settings().sandbox_network_deny == ["10.0.0.0/8", "172.16.0.0/12"]
