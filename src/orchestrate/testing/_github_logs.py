"""What the fake GitHub's log URLs serve (the targets of a job's or a run's 302): a job's
log as plain text, a run's logs as a zip; no token needed, a signature in the query."""

from __future__ import annotations

from orchestrate.testing._github_actions import run_archive
from orchestrate.testing._github_http import Answer, error
from orchestrate.testing._github_state import GitHubState


def run_logs(state: GitHubState, path: str, query: dict[str, str]) -> Answer:
    """Where a run's logs' 302 leads: the zip, for a signed URL."""
    owner, name, run_id = path.removeprefix("/_fake/run-logs/").split("/", 2)
    repository = state.repository(f"{owner}/{name}")
    if repository is None or not query.get("sig") or not run_id.isdigit():
        return error(404, "Not Found")
    run = repository.workflow_runs.get(int(run_id))
    if run is None:
        return error(404, "Not Found")
    return Answer(200, run_archive(repository, run), content_type="application/zip")


def job_log(state: GitHubState, path: str, query: dict[str, str]) -> Answer:
    """Where a job log's 302 leads: no token needed, a signature in the query instead."""
    owner, name, job = path.removeprefix("/_fake/job-logs/").split("/", 2)
    repository = state.repository(f"{owner}/{name}")
    if repository is None or not query.get("sig") or not job.isdigit():
        return error(404, "Not Found")
    log = repository.job_logs.get(int(job))
    if log is None:
        return error(404, "Not Found")
    return Answer(200, log, content_type="text/plain; charset=utf-8")
