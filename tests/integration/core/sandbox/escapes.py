"""Escape attempts, each a bash snippet that exits 0 only if the escape worked.

Every snippet ends ``|| exit 3`` style: exit code 3 means "the snippet ran and was
contained", so a typo (exit 2 or 127) cannot pass for containment. The same list runs
through the agent ``bash`` tool and as pipeline ``run`` steps.

Placeholders, filled by each test: ``{home}`` Orchestrate's home, ``{database}`` its
SQLite file, ``{other_repo}`` another repository, ``{outside}`` a directory next to
the workspace, ``{port}`` a loopback listener, ``{common}`` the repository's common git
directory, ``{checkout}`` the user's own checkout, ``{host_pid}`` the worker's pid.
The tests put ``HOST_CANARY`` in the worker's environment; no sandboxed process may
see it.
"""

from __future__ import annotations

from dataclasses import dataclass

CONTAINED = 3


@dataclass(frozen=True)
class Escape:
    name: str
    script: str
    needs_repository: bool = False

    def render(self, **places: object) -> str:
        body = self.script.format(**places)
        return f"if ( {body} ) >/dev/null 2>&1; then echo ESCAPED; exit 0; fi; exit {CONTAINED}"


ESCAPES = [
    Escape("parent environ names a host secret", "grep -qa HOST_CANARY /proc/$PPID/environ"),
    Escape("pid 1 environ names a host secret", "grep -qa HOST_CANARY /proc/1/environ"),
    Escape("env names a host secret", "env | grep -q HOST_CANARY"),
    Escape(
        "any process environ names a host secret", "cat /proc/[0-9]*/environ | grep -qa HOST_CANARY"
    ),
    # A workspace inside the home (a step's) brings the empty directories leading to it.
    Escape(
        "the home shows more than the way to the workspace", "ls -A {home} | grep -vqx pipelines"
    ),
    Escape("step logs are read", "ls {home}/pipelines/logs"),
    Escape("the secret key file is read", "cat {home}/secret.key"),
    Escape("the database file is read", "head -c 16 {database} | grep -q SQLite"),
    Escape("another repository is read", "cat {other_repo}/README.md"),
    Escape("the user's checkout is read", "cat {checkout}/private.txt"),
    Escape("a file is written outside the workspace", "echo x > {outside}/planted"),
    Escape("the host's HOME is written", "echo x > /root/.orchestrate-escape"),
    Escape("a loopback listener answers", "exec 3<>/dev/tcp/127.0.0.1/{port}"),
    Escape("the database port answers", "exec 3<>/dev/tcp/127.0.0.1/5432"),
    Escape(
        "the PostgreSQL socket is there",
        "test -S /run/postgresql/.s.PGSQL.5432 || test -S /var/run/postgresql/.s.PGSQL.5432",
    ),
    Escape(
        "core.hooksPath is set in the shared config",
        "git config core.hooksPath /tmp/hooks && grep -q hooksPath {common}/config",
        needs_repository=True,
    ),
    Escape(
        "a hook is planted",
        "echo 'touch /tmp/pwned' > {common}/hooks/pre-commit",
        needs_repository=True,
    ),
    Escape("info/exclude is rewritten", "echo '*' >> {common}/info/exclude", needs_repository=True),
    Escape(
        "another branch is moved",
        "echo 0000000000000000000000000000000000000000 > {common}/refs/heads/main",
        needs_repository=True,
    ),
    Escape(
        "the repository's objects are deleted",
        "rm -rf {common}/objects/[0-9a-f][0-9a-f] {common}/objects/pack; ! git cat-file -e HEAD",
        needs_repository=True,
    ),
    Escape(
        "a setuid binary gains privileges", "su -c 'touch /etc/planted' root; test -f /etc/planted"
    ),
    Escape("capabilities remain", "grep -q 'CapEff:.*[1-9a-f]' /proc/self/status"),
    Escape("no_new_privs is off", "grep -q 'NoNewPrivs:.*0' /proc/self/status"),
    Escape("a filesystem is mounted", "mkdir -p /tmp/m && mount -t tmpfs none /tmp/m"),
    Escape("the shadow file is read", "cat /etc/shadow"),
    Escape("a system directory is written", "touch /usr/bin/orchestrate-planted"),
    Escape("a host process is signalled", "kill -0 {host_pid}"),
    Escape("the host's /sys is visible", "ls /sys/class/net"),
    Escape("a symlink leads out", "ln -s {outside} out && ls out/"),
    Escape(
        "the docker socket is there", "test -S /var/run/docker.sock || test -S /run/docker.sock"
    ),
]
"""30 attempts; each must exit 3. HOME and /tmp persistence, a fork bomb and a huge file
are tested on their own (they need two commands or a limit)."""
