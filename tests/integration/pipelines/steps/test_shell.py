"""A ``run:`` step's output, read in chunks from a real process, masked before it is kept.

The process writes a piece, flushes, sleeps and writes the rest, so the pieces reach
the step in separate reads: what a cut between reads or inside a long line may break.
"""

from __future__ import annotations

from pathlib import Path

from orchestrate.core.masking import MASK, Masker
from orchestrate.core.sandbox import SandboxPolicy
from orchestrate.core.settings import SandboxMode
from orchestrate.pipelines.steps.shell import ShellCommand, run_shell

SECRET = "tok-9f8e7d6c5b4a"
# The split falls inside "é" (two bytes in UTF-8), past the middle of the value.
MULTI_BYTE_SECRET = "pass-wörd-clé-€42"
PAUSE = "sleep 0.3"
UNENDED_LINE = "head -c 65530 /dev/zero | tr '\\0' x"
"""Just short of the longest line a step logs whole (64 KiB): the next write crosses it."""


def write(data: bytes) -> str:
    """A shell command writing exactly ``data`` (bash's printf writes at once)."""
    return "printf '" + "".join(f"\\x{byte:02x}" for byte in data) + "'"


def longest_fragment(text: str, secret: str) -> int:
    """The length of the longest piece of ``secret`` that shows in ``text``."""
    return max(
        (
            end - start
            for start in range(len(secret))
            for end in range(start + 1, len(secret) + 1)
            if secret[start:end] in text
        ),
        default=0,
    )


async def run(tmp_path: Path, script: str, secret: str) -> tuple[str, str]:
    """Run ``script`` as a step hiding ``secret``; the stored log and the streamed lines."""
    streamed: list[str] = []

    async def on_log(lines: list[str]) -> None:
        streamed.extend(lines)

    async def never() -> bool:
        return False

    command = ShellCommand(
        script=script,
        env={},
        cwd=tmp_path,
        timeout=30,
        kill_grace=1,
        log_path=tmp_path / "logs" / "step.log",
        masker=Masker([secret]),
        sandbox=SandboxPolicy(mode=SandboxMode.NONE),
    )
    result = await run_shell(command, on_log, never)
    assert result.succeeded
    return command.log_path.read_text(encoding="utf-8"), "\n".join(streamed)


def assert_hidden(text: str, secret: str) -> None:
    assert MASK in text
    assert secret not in text
    assert longest_fragment(text, secret) <= len(secret) // 2


async def test_a_character_split_across_reads_is_logged_whole(tmp_path: Path) -> None:
    data = "café au lait\n".encode()
    script = f"{write(data[:4])}; {PAUSE}; {write(data[4:])}"
    stored, streamed = await run(tmp_path, script, SECRET)
    assert stored == "café au lait\n"
    assert streamed == "café au lait"


async def test_a_secret_written_in_two_halves_is_masked(tmp_path: Path) -> None:
    data = f"token={SECRET}\n".encode()
    script = f"{write(data[:10])}; {PAUSE}; {write(data[10:])}"
    stored, streamed = await run(tmp_path, script, SECRET)
    assert stored == f"token={MASK}\n"
    assert streamed == f"token={MASK}"


async def test_a_multi_byte_secret_split_inside_a_character_is_masked(tmp_path: Path) -> None:
    data = f"token={MULTI_BYTE_SECRET}\n".encode()
    split = data.index("é".encode()) + 1
    script = f"{write(data[:split])}; {PAUSE}; {write(data[split:])}"
    stored, streamed = await run(tmp_path, script, MULTI_BYTE_SECRET)
    for text in (stored, streamed):
        assert_hidden(text, MULTI_BYTE_SECRET)
        assert "\ufffd" not in text


async def test_a_secret_straddling_the_cut_of_an_endless_line_is_masked(tmp_path: Path) -> None:
    # The line grows too long (64 KiB) with the read that brings most of the secret;
    # its rest comes in a later read.
    head = SECRET[:12]
    script = (
        f"{UNENDED_LINE}; {PAUSE}; {write(head.encode())}; {PAUSE}; "
        f"{write(SECRET[len(head) :].encode())}; echo ' end'"
    )
    stored, streamed = await run(tmp_path, script, SECRET)
    for text in (stored, streamed):
        assert_hidden(text, SECRET)
        assert text.replace("\n", "").endswith(f"x{MASK} end")
    assert stored.count("\n") == 2  # logged in two pieces: the line was cut


async def test_a_secret_straddling_the_cut_of_an_endless_multi_byte_line_is_masked(
    tmp_path: Path,
) -> None:
    data = MULTI_BYTE_SECRET.encode()
    split = data.index("é".encode()) + 1
    script = f"{UNENDED_LINE}; {PAUSE}; {write(data[:split])}; {PAUSE}; {write(data[split:])}; echo"
    stored, streamed = await run(tmp_path, script, MULTI_BYTE_SECRET)
    for text in (stored, streamed):
        assert_hidden(text, MULTI_BYTE_SECRET)
        assert "\ufffd" not in text
