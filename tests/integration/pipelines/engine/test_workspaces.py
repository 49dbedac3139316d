"""Each run works in its own directory: a detached worktree when the pipeline has a repository."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

from orchestrate.pipelines import service
from tests.integration.pipelines.engine.conftest import Pipelines


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout


def make_repo(root: Path) -> Path:
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "README.md").write_text("hello\n")
    git(root, "add", ".")
    git(root, "-c", "user.name=Dev", "-c", "user.email=dev@example.com", "commit", "-qm", "init")
    return root


async def test_steps_of_a_repository_pipeline_share_a_worktree_that_is_removed_after(
    pipelines: Pipelines, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "project")
    before = (git(repo, "status", "--porcelain"), git(repo, "rev-parse", "HEAD"))
    text = textwrap.dedent(
        """
        name: build
        steps:
          - id: write
            run: |
              cat README.md
              echo built > artifact.txt
              echo "where=$PWD" >> "$ORCHESTRATE_OUTPUT"
          - id: read
            needs: write
            run: |
              test "$(cat artifact.txt)" = built
              echo "head=$(git rev-parse HEAD)" >> "$ORCHESTRATE_OUTPUT"
        """
    )
    source = service.PipelineSource(text, repo_path=repo)
    await service.register_pipeline(pipelines.runtime.uow(), source, pipelines.actor)
    run = await pipelines.run("build")
    assert run.status.value == "success", [(s.key, s.error) for s in run.steps]
    workspace = Path(run.step("write").outputs["where"])
    assert workspace == Path(run.workspace_path or "")
    assert run.step("read").outputs["head"] == before[1].strip()
    assert not workspace.exists()
    assert (git(repo, "status", "--porcelain"), git(repo, "rev-parse", "HEAD")) == before
    assert str(workspace) not in git(repo, "worktree", "list")


async def test_a_pipeline_without_repository_runs_in_a_plain_directory(
    pipelines: Pipelines,
) -> None:
    await pipelines.register(
        """
        name: plain
        steps:
          - id: where
            run: echo "where=$PWD" >> "$ORCHESTRATE_OUTPUT"; test ! -e .git
        """
    )
    run = await pipelines.run("plain")
    assert run.status.value == "success"
    assert run.step("where").outputs["where"] == run.workspace_path
