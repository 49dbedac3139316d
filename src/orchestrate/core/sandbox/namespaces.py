"""The sandbox's network namespace and the user namespace that owns it, held open.

bubblewrap reports its child's pid (``--info-fd``) as soon as it has cloned it into new
namespaces; the child then goes on setting itself up while we start slirp4netns and
add the deny routes. Two steps of that setup race with us:

- the child writes the uid map of its user namespace. ``ip`` is exec'ed by nsenter,
  and a process keeps its capabilities across exec only where its uid is mapped to
  root, so before the map exists ``ip`` may not touch the routes;
- because the sandbox runs as another uid (``--uid``), the child then moves into a
  second, nested user namespace before it waits on ``--block-fd``. From then on
  ``/proc/<pid>/ns/user`` is that nested namespace, which does not own the network
  namespace: whoever joins it may not configure the network.

Either way ``ip`` failed with "Operation not permitted", rarely on an idle machine and
often on a busy one. So the tools join the user namespace that owns the network
namespace (asked of the kernel with ``NS_GET_USERNS``, not read from the pid), once
its uid map is written.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
from dataclasses import dataclass
from pathlib import Path

from orchestrate.core.errors import ConfigurationError

_NS_GET_USERNS = 0xB701
"""``_IO(0xb7, 0x1)`` from linux/nsfs.h: an fd of the user namespace owning a namespace."""

_POLL_SECONDS = 0.001


@dataclass(frozen=True)
class SandboxNamespaces:
    """Open descriptors of the sandbox's network namespace and of its owning user namespace.

    Pass ``fds`` to a helper process (``pass_fds``) and give it the paths: each is the
    helper's own copy of the descriptor.
    """

    net: int
    user: int

    @property
    def fds(self) -> tuple[int, int]:
        return (self.net, self.user)

    @property
    def net_path(self) -> str:
        return f"/proc/self/fd/{self.net}"

    @property
    def user_path(self) -> str:
        return f"/proc/self/fd/{self.user}"

    def close(self) -> None:
        os.close(self.net)
        os.close(self.user)


async def open_namespaces(child: int, within: float) -> SandboxNamespaces:
    """The namespaces of bubblewrap's ``child``, once its user namespace can be used.

    Raises ``ConfigurationError`` when the child ended first, or when the uid map is not
    written within ``within`` seconds.
    """
    try:
        net = os.open(f"/proc/{child}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise _ended_early() from None
    try:
        user = fcntl.ioctl(net, _NS_GET_USERNS)
    except OSError:
        os.close(net)
        raise
    namespaces = SandboxNamespaces(net=net, user=user)
    try:
        await asyncio.wait_for(_until_mapped(child, user), within)
    except BaseException as error:
        namespaces.close()
        if isinstance(error, TimeoutError):
            raise ConfigurationError(
                "The sandbox's user namespace got no uid map in time; the command did not run"
            ) from None
        raise
    return namespaces


async def _until_mapped(child: int, user: int) -> None:
    owner = os.fstat(user)
    while True:
        current, uid_map = _user_namespace_of(child)
        if (current.st_dev, current.st_ino) != (owner.st_dev, owner.st_ino):
            return  # the child moved into its nested namespace: the owner's map is written
        if uid_map.strip():
            return
        await asyncio.sleep(_POLL_SECONDS)


def _user_namespace_of(child: int) -> tuple[os.stat_result, str]:
    """The child's current user namespace and its uid map (procfs: never blocks)."""
    try:
        return os.stat(f"/proc/{child}/ns/user"), Path(f"/proc/{child}/uid_map").read_text()
    except FileNotFoundError:
        raise _ended_early() from None


def _ended_early() -> ConfigurationError:
    return ConfigurationError(
        "The sandbox ended before its network was set up; the command did not run"
    )
