"""Start a program confined by the sandbox, with user-mode networking when asked for.

Without network the sandbox's own network namespace holds only its loopback. With
``network=True`` the namespace gets a tap device served by ``slirp4netns`` with
``--disable-host-loopback``: outbound connections work, while the host's
``127.0.0.0/8`` (the database, Orchestrate's API, every local service) stays
unreachable; ``egress`` then denies the metadata services and the host's other
addresses with routes inside the namespace. bubblewrap reports the sandbox's pid on
``--info-fd`` and waits on ``--block-fd`` until the network is up and filtered, so the
command never starts without it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from orchestrate.core.errors import ConfigurationError
from orchestrate.core.processes import ChildProcess, start_process
from orchestrate.core.sandbox import egress
from orchestrate.core.sandbox.bubblewrap import bubblewrap_argv
from orchestrate.core.sandbox.gitdirs import GitBinds, git_binds
from orchestrate.core.sandbox.gitstore import PrivateGit
from orchestrate.core.sandbox.namespaces import SandboxNamespaces, open_namespaces
from orchestrate.core.sandbox.pids import PidsCgroup, needs_pids_cgroup
from orchestrate.core.sandbox.policy import Confinement, SandboxPolicy

log = structlog.get_logger(__name__)

SLIRP4NETNS = "slirp4netns"
_NETWORK_SETUP_SECONDS = 10.0
_HOST_VARIABLES = ("PATH", "HOME", "LANG", "TERM")


@dataclass
class SandboxedProcess:
    """A started command and the helper processes that live as long as it does."""

    process: ChildProcess
    helpers: list[asyncio.subprocess.Process] = field(default_factory=list)
    cgroup: PidsCgroup | None = None
    git: PrivateGit | None = None
    max_object_bytes: int = 0

    @property
    def pid(self) -> int:
        return self.process.pid

    async def close(self) -> None:
        """Stop the network helper and adopt the command's git work; call once it has ended."""
        for helper in self.helpers:
            with contextlib.suppress(ProcessLookupError):
                helper.terminate()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(helper.wait(), 2.0)
            if helper.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    helper.kill()
                await helper.wait()
        self.helpers.clear()
        if self.cgroup is not None:
            await asyncio.to_thread(self.cgroup.remove)
            self.cgroup = None
        if self.git is not None:
            await _adopt_git_work(self.git, self.max_object_bytes)
            self.git = None


async def _adopt_git_work(git: PrivateGit, max_object_bytes: int) -> None:
    """Adopt objects and the branch; on failure they wait in the store for the next command."""
    try:
        await asyncio.to_thread(git.adopt, max_object_bytes=max_object_bytes)
    except (OSError, subprocess.SubprocessError) as error:
        log.error("sandbox_git_adoption_failed", store=str(git.root), error=str(error))


async def spawn(
    policy: SandboxPolicy,
    confinement: Confinement,
    argv: Sequence[str],
    *,
    stdout: int,
    stderr: int,
) -> SandboxedProcess:
    """Start ``argv`` in its own session, confined as ``policy`` says.

    The caller owns the process group (its pid): ending the group ends bubblewrap,
    whose death ends every process of the sandbox's PID namespace.
    """
    if not policy.is_confined:
        env = {**confinement.environment(), **_host_basics(), **confinement.env}
        process = await _exec(list(argv), confinement.directory, env, stdout, stderr, ())
        return SandboxedProcess(process)
    git = git_binds(confinement.workspace)
    if git.private is not None:
        await asyncio.to_thread(git.private.prepare)
    cgroup = PidsCgroup.create(policy.max_processes) if needs_pids_cgroup() else None
    try:
        if not confinement.network:
            command = _limited(bubblewrap_argv(policy, confinement, argv, git=git), cgroup)
            env = confinement.environment(policy.path)
            process = await _exec(command, confinement.workspace, env, stdout, stderr, ())
            sandboxed = SandboxedProcess(process, cgroup=cgroup)
        else:
            sandboxed = await _spawn_with_network(
                policy, confinement, argv, cgroup, git, stdout=stdout, stderr=stderr
            )
        sandboxed.git, sandboxed.max_object_bytes = git.private, policy.max_file_bytes
        return sandboxed
    except BaseException:
        if cgroup is not None:
            cgroup.remove()
        raise


def _limited(command: list[str], cgroup: PidsCgroup | None) -> list[str]:
    return cgroup.wrap(command) if cgroup is not None else command


async def _spawn_with_network(
    policy: SandboxPolicy,
    confinement: Confinement,
    argv: Sequence[str],
    cgroup: PidsCgroup | None,
    git: GitBinds,
    *,
    stdout: int,
    stderr: int,
) -> SandboxedProcess:
    slirp = shutil.which(SLIRP4NETNS)
    if slirp is None:
        raise ConfigurationError(
            "A step or agent asked for network: true, which needs slirp4netns: install "
            "it (Debian/Ubuntu: apt-get install slirp4netns)"
        )
    info_read, info_write = os.pipe()
    block_read, block_write = os.pipe()
    options = ["--info-fd", str(info_write), "--block-fd", str(block_read)]
    command = _limited(
        bubblewrap_argv(policy, confinement, argv, extra_options=options, git=git), cgroup
    )
    try:
        process = await _exec(
            command,
            confinement.workspace,
            confinement.environment(policy.path),
            stdout,
            stderr,
            (info_write, block_read),
        )
    except BaseException:
        os.close(info_read)
        os.close(block_write)
        raise
    finally:
        os.close(info_write)
        os.close(block_read)
    sandboxed = SandboxedProcess(process, cgroup=cgroup)
    try:
        child = await asyncio.wait_for(
            asyncio.to_thread(_read_child_pid, info_read), _NETWORK_SETUP_SECONDS
        )
        namespaces = await open_namespaces(child, _NETWORK_SETUP_SECONDS)
        try:
            sandboxed.helpers.append(await _start_slirp(slirp, child, namespaces))
            await _deny_networks(namespaces, egress.denied_networks(policy.network_deny))
        finally:
            namespaces.close()
    except BaseException:
        # bubblewrap goes on when the block pipe closes unread: end it first, so a
        # command whose network could not be set up never runs at all.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()
        os.close(block_write)
        await sandboxed.close()
        raise
    finally:
        os.close(info_read)
    os.write(block_write, b"1")
    os.close(block_write)
    return sandboxed


async def _start_slirp(
    slirp: str, child: int, namespaces: SandboxNamespaces
) -> asyncio.subprocess.Process:
    ready_read, ready_write = os.pipe()
    try:
        helper = await asyncio.create_subprocess_exec(
            slirp,
            "--configure",
            "--mtu=65520",
            "--disable-host-loopback",
            # slirp parses every packet the sandbox sends: confine it too.
            "--enable-sandbox",
            "--enable-seccomp",
            "--ready-fd",
            str(ready_write),
            "--userns-path",
            namespaces.user_path,
            str(child),
            "tap0",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            pass_fds=(ready_write, *namespaces.fds),
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        )
    finally:
        os.close(ready_write)
    try:
        ready = await asyncio.wait_for(
            asyncio.to_thread(os.read, ready_read, 1), _NETWORK_SETUP_SECONDS
        )
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            helper.kill()
        await helper.wait()
        raise
    finally:
        os.close(ready_read)
    if ready != b"1":
        with contextlib.suppress(ProcessLookupError):
            helper.kill()
        await helper.wait()
        raise ConfigurationError(
            "slirp4netns could not give the sandbox a network (exit code "
            f"{helper.returncode}); run without network: true or check slirp4netns"
        )
    return helper


async def _deny_networks(namespaces: SandboxNamespaces, networks: list[egress.Network]) -> None:
    """Add the ``prohibit`` routes; a sandbox whose routes failed never runs."""
    try:
        process = await asyncio.create_subprocess_exec(
            *egress.nsenter_argv(user=namespaces.user_path, net=namespaces.net_path),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            env={"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")},
            pass_fds=namespaces.fds,
        )
    except FileNotFoundError:
        raise ConfigurationError(
            "network: true needs nsenter (util-linux) and ip (iproute2) to keep the "
            "metadata service and this machine's addresses out of reach: install them"
        ) from None
    try:
        _, errors = await asyncio.wait_for(
            process.communicate(egress.route_commands(networks)), _NETWORK_SETUP_SECONDS
        )
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
    if process.returncode != 0:
        reason = errors.decode(errors="replace").strip().splitlines() or ["no message"]
        raise ConfigurationError(
            f"Could not deny the sandbox's network its forbidden addresses ({reason[-1]}); "
            "the command did not run. Check that iproute2 is installed"
        )


def _read_child_pid(descriptor: int) -> int:
    data = b""
    while b"}" not in data:
        chunk = os.read(descriptor, 4096)
        if not chunk:
            raise ConfigurationError("bubblewrap ended before it reported its sandbox")
        data += chunk
    report = json.loads(data[: data.index(b"}") + 1])
    return int(report["child-pid"])


async def _exec(
    argv: list[str],
    cwd: Path,
    env: dict[str, str],
    stdout: int,
    stderr: int,
    pass_fds: tuple[int, ...],
) -> ChildProcess:
    return await start_process(
        argv, cwd=cwd, env=env, stdout=stdout, stderr=stderr, pass_fds=pass_fds
    )


def _host_basics() -> dict[str, str]:
    """Unconfined commands keep the host's PATH, HOME, LANG and TERM, and nothing else."""
    return {name: os.environ[name] for name in _HOST_VARIABLES if name in os.environ}
