"""Secret scanning: throughput on a generated tree and a generated git history, and
accuracy on the labelled corpus, side by side with detect-secrets.

- *tree*: a generated tree of ``--tree-mb`` megabytes shaped like a product repository:
  Python modules (the interpreter's own standard library, copied round-robin: real code
  with real uses of ``token``, ``password`` and ``auth``), JavaScript modules, JSON
  configuration and npm lockfiles full of integrity hashes, Kubernetes and CI YAML,
  Markdown, CSV, minified bundles and a few binary assets; one file in 150 has a secret
  planted from the corpus generator. Timed: ``secrets.scan_tree`` in this process (one
  core). detect-secrets (``SecretsCollection.scan_files``, default plugins, one
  process) runs on the same files within ``--budget`` seconds: when a full run would
  not fit, on a stated subset (every k-th file), and the table says so.
- *history*: a repository of ``--commits`` commits written with ``git fast-import``
  (each commit edits one to three files, some add files, one in a hundred plants a
  secret, some later delete one). Timed: ``secrets.scan_git_history``, which includes
  git producing the patches; MB are the bytes of that ``git log -p`` output. detect-
  secrets gets the same patch text, commit by commit (``SecretsCollection.scan_diff``),
  within the same budget.
- *accuracy*: precision and recall of both tools on ``build_corpus()``.

    .venv/bin/python bench/security.py [--tree-mb 200] [--commits 10000] [--budget 300]
        [--work DIR] [--only tree|history|accuracy]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from detect_secrets.core.secrets_collection import SecretsCollection
from detect_secrets.settings import default_settings

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine
from orchestrate.security.secrets import RULES, SecretsConfig, scan_git_history, scan_tree
from orchestrate.testing.secrets_corpus import (
    A62,
    HEX,
    build_corpus,
    draw,
    positive,
    score,
    write_corpus,
)

MIB = 1024 * 1024
_PROSE = (
    "the service reads its settings from the environment and retries failed requests "
    "with exponential backoff until the deadline passes then reports the error to the "
    "caller who decides whether to queue the job again or give up and alert on call"
)
_WORDS = tuple(_PROSE.split(" "))
_SINGLE_LINE_RULES = [
    rule.id
    for rule in RULES
    if not rule.id.endswith(("private-key", "service-account-key"))
    and rule.id != "docker-config-auth"
]


class FileMaker:
    """Files of a product repository, and secrets planted in some of them."""

    def __init__(self, rng: random.Random, stdlib: Path) -> None:
        self.rng = rng
        self.python = [
            path.read_bytes()
            for path in sorted(stdlib.rglob("*.py"))
            if "site-packages" not in path.parts and path.stat().st_size < 400_000
        ]
        self.lines = [line for source in self.python[:400] for line in source.split(b"\n")]
        self.files = 0
        self.bytes = 0
        self._next_python = 0

    def python_module(self) -> bytes:
        self._next_python = (self._next_python + 1) % len(self.python)
        return self.python[self._next_python]

    def js_module(self) -> bytes:
        rng = self.rng
        parts = ["'use strict';", "import { request } from './http.js';", ""]
        for number in range(rng.randint(5, 40)):
            name = draw(rng, [("abcdefghijklmnopqrstuvwxyz", 8)])
            if number % 6:
                parts += [
                    f"export function {name}(items, limit = {rng.randint(1, 99)}) {{",
                    "  const seen = new Set();",
                    "  const result = [];",
                    "  for (const item of items) {",
                    "    if (seen.has(item.id) || result.length >= limit) continue;",
                    "    seen.add(item.id);",
                    f"    result.push({{ ...item, rank: item.score * {rng.random():.3f} }});",
                    "  }",
                    "  return result.sort((a, b) => b.rank - a.rank);",
                    "}",
                    "",
                ]
                continue
            parts += [
                f"export async function {name}(client, token, options = {{}}) {{",
                f"  const url = `${{client.baseUrl}}/api/v1/{name}/${{options.id ?? ''}}`;",
                "  const response = await request(url, {",
                "    headers: { Authorization: `Bearer ${token}`, 'X-Request-Id': options.id },",
                f"    timeout: {rng.randint(1, 60) * 1000},",
                "  });",
                "  if (!response.ok) throw new Error(`request failed: ${response.status}`);",
                "  return response.json();",
                "}",
                "",
            ]
        return "\n".join(parts).encode()

    def package_lock(self) -> bytes:
        rng = self.rng
        entries = []
        for index in range(rng.randint(30, 200)):
            name = draw(rng, [("abcdefghijklmnopqrstuvwxyz-", 10)]).strip("-") or "pkg"
            entries.append(
                f'    "node_modules/{name}": {{\n      "version": "1.{index}.0",\n'
                f'      "resolved": "https://registry.npmjs.org/{name}/-/{name}-1.{index}.0.tgz",\n'
                f'      "integrity": "sha512-{draw(rng, [(A62 + "+/", 86)])}=="\n    }}'
            )
        body = ",\n".join(entries)
        head = '{\n  "name": "web",\n  "lockfileVersion": 3,\n  "packages": {\n'
        return f"{head}{body}\n  }}\n}}\n".encode()

    def json_config(self) -> bytes:
        rng = self.rng
        rows = [
            f'  "{draw(rng, [("abcdefghij", 6)])}_{index}": {{"enabled": true, "limit": {index}, '
            f'"id": "{draw(rng, [(HEX, 8)])}-{draw(rng, [(HEX, 4)])}-4{draw(rng, [(HEX, 3)])}", '
            f'"checksum": "{draw(rng, [(HEX, 64)])}"}}'
            for index in range(rng.randint(20, 200))
        ]
        return ("{\n" + ",\n".join(rows) + "\n}\n").encode()

    def yaml_manifest(self) -> bytes:
        rng = self.rng
        out = []
        for index in range(rng.randint(2, 20)):
            env = [
                "          env:",
                "            - name: DATABASE_PASSWORD",
                "              valueFrom:",
                "                secretKeyRef: {name: db, key: password}",
                "            - name: API_TOKEN",
                "              value: ${{ secrets.API_TOKEN }}",
            ]
            out += [
                "apiVersion: apps/v1",
                "kind: Deployment",
                "metadata:",
                f"  name: service-{index}",
                "spec:",
                f"  replicas: {rng.randint(1, 9)}",
                "  template:",
                "    spec:",
                "      containers:",
                "        - name: app",
                f"          image: registry.acme.io/app@sha256:{draw(rng, [(HEX, 64)])}",
                "          ports: [{containerPort: 8080}]",
                "          resources: {limits: {cpu: 500m, memory: 256Mi}}",
                *(env if index % 4 == 0 else []),
                "---",
            ]
        return "\n".join(out).encode()

    def markdown(self) -> bytes:
        rng = self.rng
        paragraphs = [
            " ".join(rng.choice(_WORDS) for _ in range(rng.randint(40, 120)))
            for _ in range(rng.randint(5, 40))
        ]
        return ("# Guide\n\n" + "\n\n".join(paragraphs) + "\n").encode()

    def csv(self) -> bytes:
        rng = self.rng
        rows = [
            f"{index},{draw(rng, [(HEX, 32)])},{rng.random():.6f},{draw(rng, [(A62, 11)])}"
            for index in range(rng.randint(100, 1500))
        ]
        return ("id,hash,score,ref\n" + "\n".join(rows) + "\n").encode()

    def minified(self) -> bytes:
        rng = self.rng
        chunks = [
            f"function {draw(rng, [('abcdef', 2)])}(a,b){{return a.token?b(a):null}}var "
            f'{draw(rng, [("xyz", 2)])}="{draw(rng, [(A62, 24)])}";'
            for _ in range(rng.randint(500, 3000))
        ]
        return "".join(chunks).encode()

    def env_file(self) -> bytes:
        return (
            b"APP_ENV=production\nLOG_LEVEL=info\n"
            b"DATABASE_URL=postgres://app:${DB_PASSWORD}@db/app\n"
            b"API_TOKEN=changeme\nSECRET_KEY=<generate one>\n"
        )

    def binary(self) -> bytes:
        return b"\x89PNG\r\n\x1a\n\x00\x00" + self.rng.randbytes(self.rng.randint(2_000, 60_000))

    _KINDS = (
        ("python", 45, "services/svc{group}/src/mod{index}.py"),
        ("js_module", 12, "web/app{group}/src/mod{index}.js"),
        ("package_lock", 10, "web/app{group}/lock{index}/package-lock.json"),
        ("json_config", 5, "config/{group}/settings{index}.json"),
        ("yaml_manifest", 8, "deploy/{group}/service{index}.yaml"),
        ("markdown", 5, "docs/{group}/page{index}.md"),
        ("csv", 5, "data/{group}/table{index}.csv"),
        ("minified", 5, "web/app{group}/dist/bundle{index}.min.js"),
        ("env_file", 2, "services/svc{group}/env{index}.example"),
        ("binary", 3, "assets/{group}/image{index}.png"),
    )

    def write_tree(self, root: Path, target: int) -> set[tuple[str, int]]:
        """Write files until ``target`` bytes; returns the planted secrets' (path, line)."""
        planted: set[tuple[str, int]] = set()
        weights = [weight for _, weight, _ in self._KINDS]
        rule_index = 0
        while self.bytes < target:
            kind, _, pattern = self.rng.choices(self._KINDS, weights)[0]
            maker = self.python_module if kind == "python" else getattr(self, kind)
            relative = pattern.format(group=self.files % 97, index=self.files)
            self._write(root, relative, maker())
            if self.files % 100 == 0:
                rule_id = _SINGLE_LINE_RULES[rule_index % len(_SINGLE_LINE_RULES)]
                rule_index += 1
                example = positive(rule_id, self.rng)
                lead = self.rng.randint(1, 20)
                text = "# settings\n" * lead + example.text + "\n"
                relative = f"services/svc{self.files % 97}/conf/planted{self.files}{example.suffix}"
                self._write(root, relative, text.encode())
                planted.add((relative, lead + example.secret_line))
        return planted

    def _write(self, root: Path, relative: str, content: bytes) -> None:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        self.files += 1
        self.bytes += len(content)


class HistoryWriter:
    """A repository of many small commits, written through ``git fast-import``."""

    def __init__(self, rng: random.Random, stdlib: Path) -> None:
        self.rng = rng
        self.maker = FileMaker(rng, stdlib)

    def write(self, root: Path, commits: int) -> int:
        subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
        files: dict[str, list[bytes]] = {}
        small = [source for source in self.maker.python if 2_000 < len(source) < 30_000]
        for index in range(300):
            files[f"src/pkg{index % 17}/module{index}.py"] = small[index % len(small)].split(b"\n")
        process = subprocess.Popen(
            ["git", "-C", str(root), "fast-import", "--quiet"], stdin=subprocess.PIPE
        )
        assert process.stdin is not None
        stream = process.stdin
        planted: list[tuple[str, bytes]] = []
        changed = list(files)
        for number in range(1, commits + 1):
            if number > 1:
                changed = self._change(files, planted, number)
            stream.write(self._commit(number, files, changed))
        stream.close()
        if process.wait() != 0:
            raise SystemExit("git fast-import failed")
        subprocess.run(["git", "-C", str(root), "reset", "-q", "--hard"], check=True)
        return self.planted

    removed = 0
    planted = 0

    def _change(
        self, files: dict[str, list[bytes]], planted: list[tuple[str, bytes]], number: int
    ) -> list[str]:
        rng = self.rng
        roll = rng.random()
        if roll < 0.05:
            path = f"src/new/module{number}.py"
            files[path] = self.maker.python_module().split(b"\n")[:400]
            return [path]
        if roll < 0.06:
            path = rng.choice(list(files))
            rule_id = _SINGLE_LINE_RULES[number % len(_SINGLE_LINE_RULES)]
            line = positive(rule_id, rng, ".py").text.encode()
            files[path].insert(rng.randint(0, len(files[path])), line)
            planted.append((path, line))
            self.planted += 1
            return [path]
        if roll < 0.063 and planted:
            path, line = planted.pop(rng.randrange(len(planted)))
            if line in files[path]:
                files[path].remove(line)
                self.removed += 1
            return [path]
        chosen = rng.sample(list(files), rng.randint(1, 3))
        for path in chosen:
            lines = files[path]
            at = rng.randint(0, len(lines))
            del lines[at : at + rng.randint(0, 5)]
            lines[at:at] = [rng.choice(self.maker.lines) for _ in range(rng.randint(1, 15))]
        return chosen

    def _commit(self, number: int, files: dict[str, list[bytes]], changed: list[str]) -> bytes:
        message = f"change {number}".encode()
        when = 1_700_000_000 + number * 60
        parts = [
            b"commit refs/heads/main\n",
            f"mark :{number}\n".encode(),
            f"committer Bench <bench@example.invalid> {when} +0000\n".encode(),
            f"data {len(message)}\n".encode() + message + b"\n",
        ]
        if number > 1:
            parts.append(f"from :{number - 1}\n".encode())
        for path in changed:
            content = b"\n".join(files[path])
            parts.append(
                f"M 100644 inline {path}\ndata {len(content)}\n".encode() + content + b"\n"
            )
        return b"".join(parts) + b"\n"


@dataclass
class Row:
    scenario: str
    tool: str
    megabytes: float
    seconds: float
    findings: int
    note: str = ""

    @property
    def mib_per_second(self) -> float:
        return self.megabytes * 1e6 / MIB / self.seconds if self.seconds else 0.0


def bench_tree(work: Path, megabytes: int, budget: float) -> list[Row]:
    root = work / "tree"
    if root.exists():
        shutil.rmtree(root)
    started = time.perf_counter()
    maker = FileMaker(random.Random(11), Path(sysconfig.get_paths()["stdlib"]))
    planted = maker.write_tree(root, megabytes * 1_000_000)
    print(
        f"tree: {maker.files:,} files, {maker.bytes / 1e6:.0f} MB, {len(planted)} secrets "
        f"planted, written in {time.perf_counter() - started:.0f} s",
        flush=True,
    )

    started = time.perf_counter()
    found = scan_tree(root, SecretsConfig())
    ours = time.perf_counter() - started
    reported = {(f.location.path, f.location.start_line) for f in found}
    caught = sum(1 for place in planted if place in reported)
    rows = [
        Row(
            "tree",
            "orchestrate",
            maker.bytes / 1e6,
            ours,
            len(found),
            f"{caught} of {len(planted)} planted secrets found",
        ),
    ]
    rows.append(_detect_secrets_tree(root, maker, planted, budget))
    return rows


def _detect_secrets_tree(
    root: Path, maker: FileMaker, planted: set[tuple[str, int]], budget: float
) -> Row:
    """detect-secrets file by file, in a fixed interleaved order (every part of the tree
    early on), until the budget runs out: a stated subset, never an extrapolation."""
    paths = sorted(
        (str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()),
        key=lambda name: hashlib.sha256(name.encode()).digest(),
    )
    collection = SecretsCollection(root=str(root))
    previous = Path.cwd()
    os.chdir(root)
    done = done_bytes = 0
    try:
        started = time.perf_counter()
        with default_settings():
            for name in paths:
                collection.scan_file(name)
                done += 1
                done_bytes += (root / name).stat().st_size
                if time.perf_counter() - started > budget:
                    break
        seconds = time.perf_counter() - started
    finally:
        os.chdir(previous)
    pairs = {(name, secret.line_number) for name, secret in collection}
    scanned = set(paths[:done])
    subset = {place for place in planted if place[0] in scanned}
    caught = sum(1 for place in subset if place in pairs)
    note = f"{caught} of {len(subset)} planted secrets found"
    if done < len(paths):
        note += (
            f"; stopped at the {budget:.0f} s budget after {done:,} of {len(paths):,} files "
            f"({done_bytes / 1e6:.1f} of {maker.bytes / 1e6:.0f} MB, an evenly spread "
            f"sample): the whole tree at this rate would take about "
            f"{maker.bytes / (done_bytes / seconds) / 60:.0f} min"
        )
    return Row("tree", "detect-secrets", done_bytes / 1e6, seconds, len(pairs), note)


def _run_detect_secrets(root: Path, paths: list[str]) -> tuple[float, set[tuple[str, int]]]:
    collection = SecretsCollection(root=str(root))
    previous = Path.cwd()
    os.chdir(root)
    try:
        started = time.perf_counter()
        with default_settings():
            collection.scan_files(*paths, num_processors=1)
        seconds = time.perf_counter() - started
    finally:
        os.chdir(previous)
    return seconds, {(name, secret.line_number) for name, secret in collection}


def bench_history(work: Path, commits: int, budget: float) -> list[Row]:
    root = work / "history"
    if root.exists():
        shutil.rmtree(root)
    started = time.perf_counter()
    writer = HistoryWriter(random.Random(13), Path(sysconfig.get_paths()["stdlib"]))
    planted = writer.write(root, commits)
    print(
        f"history: {commits:,} commits, {planted} secrets planted, written in "
        f"{time.perf_counter() - started:.0f} s",
        flush=True,
    )

    started = time.perf_counter()
    patches = list(_patches(root))
    git_seconds = time.perf_counter() - started
    patch_bytes = sum(len(patch) for patch in patches)

    started, cpu_started = time.perf_counter(), time.process_time()
    found = scan_git_history(root, SecretsConfig())
    ours, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    rows = [
        Row(
            "history",
            "git log -p alone",
            patch_bytes / 1e6,
            git_seconds,
            0,
            f"{len(patches):,} commits",
        ),
        Row(
            "history",
            "orchestrate",
            patch_bytes / 1e6,
            ours,
            len(found),
            f"{len(found)} distinct secrets (planted: {planted}); includes git's time; this "
            f"process used {cpu:.1f} s of CPU ({patch_bytes / MIB / cpu:.0f} MiB/s per core)",
        ),
    ]
    rows.append(_detect_secrets_history(patches, patch_bytes, budget))
    return rows


def _patches(root: Path) -> Iterator[str]:
    """The same patches ``scan_git_history`` reads, one commit at a time."""
    output = subprocess.run(
        [
            "git",
            "-C",
            str(root),
            "log",
            "--all",
            "-p",
            "--unified=0",
            "--no-color",
            "--no-ext-diff",
            "--no-renames",
            "--format=%x00%H",
        ],
        capture_output=True,
        check=True,
    ).stdout
    for record in output.split(b"\x00"):
        if record:
            yield record.partition(b"\n")[2].decode("utf-8", "replace")


def _detect_secrets_history(patches: list[str], total_bytes: int, budget: float) -> Row:
    collection = SecretsCollection()
    done = done_bytes = 0
    started = time.perf_counter()
    with default_settings() as settings:
        # Its default filters drop files absent from the working directory: in history
        # most paths are, and the comparison would find nothing.
        settings.disable_filters("detect_secrets.filters.common.is_invalid_file")
        for patch in patches:
            if patch.strip():
                collection.scan_diff(patch)
            done += 1
            done_bytes += len(patch)
            if time.perf_counter() - started > budget:
                break
    seconds = time.perf_counter() - started
    findings = sum(1 for _ in collection)
    note = f"{done:,} of {len(patches):,} commits"
    if done < len(patches):
        rate = done_bytes / seconds
        note += (
            f" (stopped at the {budget:.0f} s budget: the whole history would take about "
            f"{total_bytes / rate / 60:.0f} min); findings are not deduplicated per secret"
        )
    return Row("history", "detect-secrets", done_bytes / 1e6, seconds, findings, note)


def bench_accuracy(work: Path) -> list[str]:
    root = work / "corpus"
    if root.exists():
        shutil.rmtree(root)
    files = build_corpus(seed=7)
    write_corpus(root, files)
    found = scan_tree(root, SecretsConfig())
    ours = score({(f.location.path, f.location.start_line or 0) for f in found}, files)
    _, pairs = _run_detect_secrets(root, [f.path for f in files])
    theirs = score(pairs, files)
    positives = sum(len(f.secrets) for f in files)
    lines = [
        f"Corpus: {len(files)} files, {positives} true secrets, "
        f"{sum(1 for f in files if not f.secrets)} files of hard negatives.",
        "",
        "| tool | precision | recall | true positives | false positives | missed |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, result in (("orchestrate", ours), ("detect-secrets", theirs)):
        lines.append(
            f"| {name} | {result.precision:.3f} | {result.recall:.3f} | "
            f"{result.true_positives} | {result.false_positives} | {result.false_negatives} |"
        )
    return lines


def _table(rows: list[Row]) -> list[str]:
    lines = [
        "| input | tool | MB scanned | seconds | MiB/s | findings | notes |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row.scenario} | {row.tool} | {row.megabytes:.1f} | {row.seconds:.1f} | "
            f"**{row.mib_per_second:.1f}** | {row.findings:,} | {row.note} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tree-mb", type=int, default=200)
    parser.add_argument("--commits", type=int, default=10_000)
    parser.add_argument(
        "--budget", type=float, default=300.0, help="seconds detect-secrets may run per input"
    )
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--only", choices=["tree", "history", "accuracy"], default=None)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-secrets-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"Machine: {machine()}")
    rows: list[Row] = []
    if args.only in (None, "tree"):
        rows += bench_tree(work, args.tree_mb, args.budget)
    if args.only in (None, "history"):
        rows += bench_history(work, args.commits, args.budget)
    if rows:
        print("\n".join(["", *_table(rows)]))
    if args.only in (None, "accuracy"):
        print("\n".join(["", *bench_accuracy(work)]))
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
