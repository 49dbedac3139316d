"""Network opt-in: outbound through user-mode networking, the host's loopback never.

The "internet" here is a test host the fixture makes: a network namespace joined to
this machine by a veth pair, serving HTTP on its own address. Needs root (CI runs as
root) and iproute2; skipped otherwise.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from orchestrate.agents.tools.base import ToolContext
from orchestrate.agents.tools.shell import Bash
from orchestrate.auth.service import Actor
from orchestrate.core.runtime import Runtime
from orchestrate.core.sandbox import SandboxPolicy
from tests.integration.pipelines.engine.conftest import Pipelines, statuses
from tests.unit.agents.tools.support import call

FETCH = (
    'python3 -c "import urllib.request, sys; '
    'print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())" {url}'
)


@dataclass(frozen=True)
class ServedHost:
    url: str
    address: str
    host_address: str
    """This machine's own end of the link: an address the server's stack owns."""
    link_local: str
    """A link-local address of the server, like the metadata service's 169.254.169.254."""

    @property
    def link_local_url(self) -> str:
        return f"http://{self.link_local}:8000/hello.txt"


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@pytest.fixture(scope="module")
def test_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedHost]:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("a network-namespace test host needs root and iproute2")
    # Interfaces, addresses and the host route are machine-wide: each test host (one per
    # xdist worker, and other checkouts' runs on the same machine) picks its own.
    tag = secrets.token_hex(3)
    namespace, outer, inner = f"orch-{tag}", f"vo{tag}", f"vi{tag}"
    subnet, block = divmod(int(tag, 16) % (256 * 64), 64)
    host_address = f"10.203.{subnet}.{block * 4 + 1}"
    server_address = f"10.203.{subnet}.{block * 4 + 2}"
    link_local = f"169.254.{1 + int(tag[:2], 16) % 168}.{1 + int(tag[2:4], 16) % 254}"
    served = tmp_path_factory.mktemp("served")
    (served / "hello.txt").write_text("hello from the test host\n")
    _ip("netns", "add", namespace)
    server: subprocess.Popen[bytes] | None = None
    try:
        _ip("link", "add", outer, "type", "veth", "peer", "name", inner)
        _ip("link", "set", inner, "netns", namespace)
        _ip("addr", "add", f"{host_address}/30", "dev", outer)
        _ip("link", "set", outer, "up")
        _ip("-n", namespace, "addr", "add", f"{server_address}/30", "dev", inner)
        _ip("-n", namespace, "addr", "add", f"{link_local}/32", "dev", inner)
        _ip("route", "add", f"{link_local}/32", "dev", outer)
        _ip("-n", namespace, "link", "set", inner, "up")
        _ip("-n", namespace, "link", "set", "lo", "up")
        server = subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                namespace,
                sys.executable,
                "-m",
                "http.server",
                "8000",
                "--bind",
                "0.0.0.0",  # inside the test host's own namespace
                "--directory",
                str(served),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_until_serving(namespace, server_address)
        yield ServedHost(
            url=f"http://{server_address}:8000/hello.txt",
            address=server_address,
            host_address=host_address,
            link_local=link_local,
        )
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        subprocess.run(["ip", "link", "del", outer], capture_output=True, check=False)
        subprocess.run(["ip", "netns", "del", namespace], capture_output=True, check=False)


def _wait_until_serving(namespace: str, address: str) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        probe = subprocess.run(
            ["ip", "netns", "exec", namespace, "bash", "-c", f"exec 3<>/dev/tcp/{address}/8000"],
            capture_output=True,
            check=False,
        )
        if probe.returncode == 0:
            return
        time.sleep(0.1)
    raise AssertionError("the test host's HTTP server did not start")


@pytest.fixture
def pipelines(runtime: Runtime) -> Pipelines:
    return Pipelines(runtime, Actor.system("test"))


async def test_a_step_with_network_reaches_a_server_through_user_mode_networking(
    pipelines: Pipelines, test_host: ServedHost
) -> None:
    await pipelines.register(
        f"""
        name: fetch
        steps:
          - id: online
            network: true
            run: {FETCH.format(url=test_host.url)}
          - id: offline
            run: {FETCH.format(url=test_host.url)}
        """
    )

    run = await pipelines.run("fetch")

    assert statuses(run) == {"online": "success", "offline": "failure"}
    log = Path(run.step("online").log_path or "").read_text()
    assert "hello from the test host" in log


async def test_with_network_the_hosts_loopback_and_database_stay_unreachable(
    tmp_path: Path, test_host: ServedHost, loopback_port: int
) -> None:
    context = ToolContext(
        agent_id="agent_net", workspace=tmp_path, env={}, sandbox=SandboxPolicy(), network=True
    )
    probes = [
        f"exec 3<>/dev/tcp/127.0.0.1/{loopback_port} && echo LOOPBACK-REACHED",
        "exec 3<>/dev/tcp/127.0.0.1/5432 && echo DATABASE-REACHED",
        f"exec 3<>/dev/tcp/10.0.2.2/{loopback_port} && echo GATEWAY-REACHED",
        FETCH.format(url=test_host.url),
    ]

    results = [await call(Bash(), context, command=probe) for probe in probes]

    assert all("REACHED" not in result.content for result in results[:3])
    assert "hello from the test host" in results[3].content


@pytest.fixture
def host_listener(test_host: ServedHost) -> Iterator[int]:
    """A listener on this machine's own (non-loopback) address, like a LAN-bound service."""
    server = socket.create_server((test_host.host_address, 0))
    server.settimeout(5)
    yield int(server.getsockname()[1])
    server.close()


def network_context(workspace: Path, policy: SandboxPolicy | None = None) -> ToolContext:
    return ToolContext(
        agent_id="agent_net",
        workspace=workspace,
        env={},
        sandbox=policy or SandboxPolicy(),
        network=True,
    )


async def test_with_network_the_metadata_range_is_denied(
    tmp_path: Path, test_host: ServedHost
) -> None:
    from_host = urllib.request.urlopen(test_host.link_local_url, timeout=5).read().decode()

    result = await call(
        Bash(), network_context(tmp_path), command=FETCH.format(url=test_host.link_local_url)
    )

    assert "hello from the test host" in from_host
    assert "hello from the test host" not in result.content
    assert "Permission denied" in result.content, result.content


async def test_with_network_the_hosts_own_addresses_are_denied(
    tmp_path: Path, test_host: ServedHost, host_listener: int
) -> None:
    probe = f"exec 3<>/dev/tcp/{test_host.host_address}/{host_listener} && echo HOST-REACHED"

    result = await call(Bash(), network_context(tmp_path), command=probe)

    assert "HOST-REACHED" not in result.content
    assert "Permission denied" in result.content, result.content


async def test_with_network_configured_networks_are_denied_too(
    tmp_path: Path, test_host: ServedHost
) -> None:
    policy = SandboxPolicy(network_deny=(f"{test_host.address}/30",))

    result = await call(
        Bash(), network_context(tmp_path, policy), command=FETCH.format(url=test_host.url)
    )

    assert "hello from the test host" not in result.content
    assert "Permission denied" in result.content, result.content


async def test_the_sandbox_cannot_lift_its_own_denials(
    tmp_path: Path, test_host: ServedHost
) -> None:
    lift = f"ip route del prohibit 169.254.0.0/16; {FETCH.format(url=test_host.link_local_url)}"

    result = await call(Bash(), network_context(tmp_path), command=lift)

    assert "Operation not permitted" in result.content, result.content
    assert "hello from the test host" not in result.content
