"""The bubblewrap command line that confines one command.

The sandbox gets new user, PID, IPC, UTS, cgroup and network namespaces, runs with
no capabilities and ``no_new_privs`` (setuid binaries gain nothing), and sees a root
built from scratch: system directories read-only, a curated ``/etc`` (no
``shadow``, no host configuration beyond what programs need to run), its own
``/proc`` and a minimal ``/dev``, an empty ``$HOME`` and a private ``/tmp`` on tmpfs,
and the workspace read-write. Nothing else of the host exists inside: not
Orchestrate's home or database, not other repositories, not ``/run`` with its
sockets. Resource limits are set by ``prlimit`` as the first program inside.
"""

from __future__ import annotations

import functools
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from orchestrate.core.sandbox.gitdirs import git_binds
from orchestrate.core.sandbox.policy import SANDBOX_HOME, Confinement, SandboxPolicy

BWRAP = "bwrap"
PRLIMIT = "/usr/bin/prlimit"

_SYSTEM_TREES = ("/usr", "/opt", "/nix/store")
_MERGED_USR_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
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
    "hosts",
    "resolv.conf",
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
) -> list[str]:
    """``argv`` wrapped in bubblewrap and ``prlimit`` under ``policy`` and ``confinement``."""
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
        *_root_filesystem(),
        *_read_only_binds(policy.read_only_paths),
        *_read_only_binds(confinement.read_only),
        *_workspace_binds(confinement),
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


def _root_filesystem() -> list[str]:
    options: list[str] = []
    for tree in _SYSTEM_TREES:
        if os.path.isdir(tree):
            options += ["--ro-bind", tree, tree]
    for link in _MERGED_USR_LINKS:
        if os.path.islink(link):
            options += ["--symlink", os.readlink(link), link]
        elif os.path.isdir(link):
            options += ["--ro-bind", link, link]
    for entry in _ETC_ENTRIES:
        path = f"/etc/{entry}"
        if os.path.lexists(path):
            options += ["--ro-bind-try", path, path]
    identity = _identity_files()
    options += [
        "--ro-bind",
        str(identity / "passwd"),
        "/etc/passwd",
        "--ro-bind",
        str(identity / "group"),
        "/etc/group",
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


def _read_only_binds(paths: Sequence[Path]) -> list[str]:
    options: list[str] = []
    for path in paths:
        resolved = str(Path(path).resolve())
        options += ["--ro-bind-try", resolved, resolved]
    return options


def _workspace_binds(confinement: Confinement) -> list[str]:
    workspace = str(confinement.workspace)
    options = ["--bind", workspace, workspace]
    git = git_binds(confinement.workspace)
    for path in git.read_only:
        options += ["--ro-bind", str(path), str(path)]
    for path in git.writable:
        options += ["--bind", str(path), str(path)]
    for path in git.protected:
        options += ["--ro-bind", str(path), str(path)]
    for inside, file in confinement.writable_files.items():
        options += ["--bind", str(file), inside]
    return options


@functools.cache
def _identity_files() -> Path:
    """``/etc/passwd`` and ``/etc/group`` naming only the sandbox's user.

    Programs (git, ssh, Python's ``getpass``) look the current user up; the host's
    files would list every account of the machine.
    """
    directory = Path(tempfile.mkdtemp(prefix="orchestrate-sandbox-"))
    (directory / "passwd").write_text(
        f"sandbox:x:0:0:Orchestrate sandbox:{SANDBOX_HOME}:/bin/bash\n"
        "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
    )
    (directory / "group").write_text("sandbox:x:0:\nnogroup:x:65534:\n")
    for file in directory.iterdir():
        file.chmod(0o444)
    return directory
