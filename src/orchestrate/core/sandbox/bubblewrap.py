"""The bubblewrap command line that confines one command.

The sandbox gets new user, PID, IPC, UTS, cgroup and network namespaces, runs with
no capabilities and ``no_new_privs`` (setuid binaries gain nothing), and sees a root
built from scratch: system directories read-only, a curated ``/etc`` (no
``shadow``, no host configuration beyond what programs need to run), its own
``/proc`` and a minimal ``/dev``, an empty ``$HOME`` and a private ``/tmp`` on tmpfs,
and the workspace read-write. Nothing else of the host exists inside: not
Orchestrate's home or database, not other repositories, not ``/run`` with its
sockets. Resource limits are set by ``prlimit`` as the first program inside.

``/etc`` is a copy of an allowlist of entries, made once per process and bound as one
directory; ``hosts`` and ``resolv.conf`` are bound live on top.
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from orchestrate.core.sandbox.gitdirs import GitBinds, git_binds
from orchestrate.core.sandbox.policy import SANDBOX_HOME, Confinement, SandboxPolicy

BWRAP = "bwrap"
PRLIMIT = "/usr/bin/prlimit"

_SYSTEM_TREES = ("/usr", "/opt", "/nix/store")
_MERGED_USR_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
_RESOLV_CONF = "/etc/resolv.conf"
_LIVE_ETC_FILES = ("/etc/hosts", _RESOLV_CONF)
_SLIRP_DNS = "10.0.2.3"
"""slirp4netns's built-in DNS forwarder, which asks the host's own resolver."""
_ETC_ENTRIES = (
    "alternatives",
    "ca-certificates",
    "ca-certificates.conf",
    "ssl",
    "pki",
    "crypto-policies",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "timezone",
    "zoneinfo",
    "nsswitch.conf",
    "host.conf",
    "gai.conf",
    "services",
    "protocols",
    "mime.types",
    "magic",
    "locale.alias",
    "locale.gen",
    "debian_version",
    "os-release",
    "lsb-release",
    "bash.bashrc",
    "profile",
    "inputrc",
    "python3",
    "python3.11",
    "python3.12",
    "python3.13",
    "gitconfig",
    "java-17-openjdk",
    "perl",
)


def bubblewrap_argv(
    policy: SandboxPolicy,
    confinement: Confinement,
    argv: Sequence[str],
    *,
    extra_options: Sequence[str] = (),
    git: GitBinds | None = None,
) -> list[str]:
    """``argv`` wrapped in bubblewrap and ``prlimit`` under ``policy`` and ``confinement``.

    ``git`` are the workspace's git binds, when the caller has prepared them already.
    """
    options = [
        BWRAP,
        "--unshare-user",
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-net",
        "--unshare-cgroup-try",
        "--uid",
        "0",
        "--gid",
        "0",
        "--cap-drop",
        "ALL",
        "--die-with-parent",
        "--hostname",
        "sandbox",
        *extra_options,
        *_root_filesystem(network=confinement.network),
        *_read_only_binds(policy.read_only_paths),
        *_read_only_binds(confinement.read_only),
        *_workspace_binds(confinement, git or git_binds(confinement.workspace)),
        "--chdir",
        str(confinement.directory),
        "--",
    ]
    limits = [
        PRLIMIT,
        f"--nproc={policy.max_processes}",
        f"--fsize={policy.max_file_bytes}",
        f"--cpu={policy.max_cpu_seconds}",
        "--core=0",
        "--",
    ]
    return [*options, *limits, *argv]


def _root_filesystem(*, network: bool) -> list[str]:
    options: list[str] = []
    for tree in _SYSTEM_TREES:
        if os.path.isdir(tree):
            options += ["--ro-bind", tree, tree]
    for link in _MERGED_USR_LINKS:
        if os.path.islink(link):
            options += ["--symlink", os.readlink(link), link]
        elif os.path.isdir(link):
            options += ["--ro-bind", link, link]
    options += ["--ro-bind", str(etc_snapshot()), "/etc"]
    for live in _LIVE_ETC_FILES:  # may change while the server runs: bound, not copied
        if network and live == _RESOLV_CONF:
            # The host's resolver may sit on its loopback (127.0.0.53), out of reach.
            options += ["--ro-bind", str(_slirp_resolv_conf()), live]
        elif os.path.isfile(live):
            options += ["--ro-bind", live, live]
    options += [
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        # A fresh tmpfs inside the sandbox, not the host's /tmp.
        "--tmpfs",
        "/tmp",  # noqa: S108
        "--tmpfs",
        "/home",
        "--dir",
        SANDBOX_HOME,
        "--tmpfs",
        "/run",
        "--dir",
        "/var/tmp",  # noqa: S108 (on the sandbox's own root, not the host's)
    ]
    return options


def visible_trees(policy: SandboxPolicy) -> list[Path]:
    """The host trees every sandboxed command can read, whatever its workspace."""
    trees = [Path(tree) for tree in _SYSTEM_TREES if os.path.isdir(tree)]
    trees += [
        Path(link) for link in _MERGED_USR_LINKS if os.path.isdir(link) and not os.path.islink(link)
    ]
    return [*trees, *(Path(path).resolve() for path in policy.read_only_paths)]


def _read_only_binds(paths: Sequence[Path]) -> list[str]:
    options: list[str] = []
    for path in paths:
        resolved = str(Path(path).resolve())
        options += ["--ro-bind-try", resolved, resolved]
    return options


def _workspace_binds(confinement: Confinement, git: GitBinds) -> list[str]:
    workspace = str(confinement.workspace)
    options = ["--bind", workspace, workspace]
    for source, inside in git.read_only:
        options += ["--ro-bind", str(source), str(inside)]
    for source, inside in git.writable:
        options += ["--bind", str(source), str(inside)]
    for path in git.protected:
        options += ["--ro-bind", str(path), str(path)]
    for target, file in confinement.writable_files.items():
        options += ["--bind", str(file), target]
    return options


@functools.cache
def etc_snapshot() -> Path:
    """The sandbox's ``/etc``: a copy, made once per process, of what programs need.

    One bind of a prepared directory costs a fraction of one bind per entry (measured:
    ~2.5 ms per command for 30 entries). Only the allowlisted entries are copied,
    never ``shadow``, ``ssl/private`` or service configuration; ``passwd`` and
    ``group`` name only the sandbox's user, because the host's list every account.
    Symbolic links are kept as links (most point into ``/usr``, which is visible).
    """
    root = Path(tempfile.mkdtemp(prefix="orchestrate-sandbox-etc-"))
    atexit.register(shutil.rmtree, root, True)
    for entry in _ETC_ENTRIES:
        source = Path("/etc", entry)
        target = root / entry
        try:
            if source.is_symlink() and os.readlink(source).startswith("/usr/"):
                target.symlink_to(os.readlink(source))
            elif source.is_dir():
                shutil.copytree(source, target, symlinks=True, ignore=_private_parts)
            elif source.is_file():
                shutil.copyfile(source, target)
        except OSError:
            continue  # unreadable or vanished: the sandbox does without it
    (root / "passwd").write_text(
        f"sandbox:x:0:0:Orchestrate sandbox:{SANDBOX_HOME}:/bin/bash\n"
        "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
    )
    (root / "group").write_text("sandbox:x:0:\nnogroup:x:65534:\n")
    for live in _LIVE_ETC_FILES:
        Path(root, Path(live).name).touch()  # bind targets for the live files
    return root


@functools.cache
def _slirp_resolv_conf() -> Path:
    path = etc_snapshot().parent / f"{etc_snapshot().name}-resolv.conf"
    path.write_text(f"nameserver {_SLIRP_DNS}\n")
    atexit.register(path.unlink, True)
    return path


def _private_parts(_directory: str, names: list[str]) -> list[str]:
    return [name for name in names if name in {"private", "keys"} or name.endswith(".key")]
