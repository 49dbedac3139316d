"""The security pages: recorded scans with their filters and pages, one scan with its
findings and reports, one finding; queueing a scan and proposing a fix (SQLite and
PostgreSQL).

Scans are recorded as the CLI and the workers record them (``record_scan``), from
findings built as each scanner builds them, or found by the real scanners in a tree.
"""

from __future__ import annotations

import asyncio
import binascii
import json
import re
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from orchestrate.agents import service as agents
from orchestrate.auth.models import Actor, Role
from orchestrate.core import jobs
from orchestrate.core.jobs import JobRegistry, JobRunner, RunnerConfig
from orchestrate.core.runtime import Runtime
from orchestrate.security import service as security
from orchestrate.security.models import Category, Finding, Location, Severity, fingerprint
from orchestrate.security.records import queue_scan
from orchestrate.security.report import ScanReport
from orchestrate.security.repository_scans import register_security_jobs
from orchestrate.security.sarif import ToolNotice
from tests.integration.agents.conftest import git
from tests.integration.dashboard.conftest import Browser, SignIn
from tests.integration.delivery.conftest import GITHUB_REPO, Project, make_project, register
from tests.unit.security.findings import (
    dependency_finding,
    license_finding,
    sast_finding,
    secret_finding,
)

pytestmark = pytest.mark.asyncio

ADMIN = Actor.system("test")
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def made_up_github_token(random_part: str = "k3Vq9ZtR2mXw8LpB5nYc1HdJ6sFa4G") -> str:
    """A GitHub token shaped as GitHub makes them, so the scanner believes it: ``ghp_``,
    30 random characters and their CRC32 in six base62 characters. Made here, never
    written in the source, where the forge's own secret scanning would flag it."""
    number, checksum = binascii.crc32(random_part.encode()), ""
    while number:
        number, digit = divmod(number, 62)
        checksum = BASE62[digit] + checksum
    return f"ghp_{random_part}{checksum.rjust(6, '0')}"


TOKEN = made_up_github_token()
NEXT = re.compile(r'href="\?([^"]*cursor=[^"]+)" rel="next"')


def report(
    runtime: Runtime,
    *new: Finding,
    baselined: tuple[Finding, ...] = (),
    ago: float = 0,
    fail_on: Severity = Severity.HIGH,
    notices: tuple[ToolNotice, ...] = (),
) -> ScanReport:
    """A finished scan of ``/src/shop`` that ended ``ago`` seconds ago."""
    finished = runtime.clock.now() - timedelta(seconds=ago)
    return ScanReport(
        root="/src/shop",
        categories=frozenset(Category),
        fail_on=fail_on,
        started_at=finished - timedelta(seconds=2),
        finished_at=finished,
        new=new,
        baselined=baselined,
        notices=notices,
        has_baseline=bool(baselined),
        dependency_count=12,
    )


async def recorded(
    runtime: Runtime, scan: ScanReport, repository: str | None = None
) -> security.StoredScan:
    return await security.record_scan(
        runtime.uow(), scan, actor=ADMIN, source="cli", repository=repository
    )


async def finding_ids(runtime: Runtime, scan_id: str) -> dict[str, int]:
    """The recorded findings' ids, by rule."""
    page = await security.list_findings(runtime.uow(read_only=True), scan_id)
    return {stored.finding.rule_id: stored.id for stored in page.items}


def hostile_finding() -> Finding:
    """A finding whose every text is markup, as a crafted file or advisory could make it."""
    rule = "semgrep/<b>rule</b>"
    return Finding(
        rule_id=rule,
        category=Category.SAST,
        severity=Severity.CRITICAL,
        title="<i>Title</i> from a scanner",
        message="Look: <script>alert('message')</script>",
        location=Location("src/<img src=x onerror=alert(1)>.py", 7, 7, 1, 9),
        fingerprint=fingerprint(rule, "hostile"),
        tool="semgrep",
        snippet="<script>alert('snippet')</script>",
        help_uri="javascript:alert('help')",
        properties={"cwe": "<svg onload=alert('property')>"},
    )


def scan_links(html: str) -> list[str]:
    """The scans the list's table links to, in order (the latest scan's summary aside)."""
    table = html.split('id="scans-title"', 1)[1]
    return re.findall(r'<a href="/ui/security/scans/(scan_[^"/?]+)" class="mono">', table)


async def next_page(browser: Browser, html: str, path: str = "/ui/security") -> str:
    found = NEXT.search(html)
    assert found, "the page has no next page"
    answer = await browser.get(f"{path}?" + found.group(1).replace("&amp;", "&"))
    assert answer.status_code == 200, answer.text
    return answer.text


class TestList:
    async def test_scans_are_listed_newest_first_with_verdicts_counts_and_the_latest_on_top(
        self, runtime: Runtime, sign_in: SignIn
    ) -> None:
        older = await recorded(runtime, report(runtime, sast_finding(), ago=60), "acme/shop")
        newer = await recorded(
            runtime,
            report(runtime, secret_finding(), dependency_finding(), baselined=(license_finding(),)),
        )
        browser = await sign_in(Role.VIEWER)

        page = await browser.get("/ui/security")

        assert page.status_code == 200
        text = page.text
        assert scan_links(text) == [newer.id, older.id]
        latest = text.split('id="latest-title"', 1)[1].split('id="scans-title"', 1)[0]
        assert f'href="/ui/security/scans/{newer.id}"' in latest
        assert "1 high, 1 medium" in latest  # new findings by severity, most severe first
        assert '<span class="badge badge-bad">failed</span>' in text  # the newer scan's gate
        assert "/src/shop" in text  # what the unregistered scan read
        assert 'href="/ui/repositories/acme/shop"' in text
        assert 'id="security-scans" data-live="security."' in text  # refreshed live
        assert '<a href="/ui/security" aria-current="page">Security</a>' in text

    async def test_filters_narrow_by_repository_status_and_gate(
        self, runtime: Runtime, sign_in: SignIn
    ) -> None:
        passing = await recorded(runtime, report(runtime, ago=30), "acme/a")
        failing = await recorded(runtime, report(runtime, secret_finding(), ago=20), "acme/b")
        async with runtime.uow() as uow:
            queued = await queue_scan(
                uow,
                root="/src/c",
                repository="acme/c",
                categories=frozenset(Category),
                fail_on=Severity.HIGH,
                actor=ADMIN,
                source="api",
            )
            await uow.commit()
        browser = await sign_in(Role.VIEWER)

        by_repository = await browser.get("/ui/security?repository=acme/a")
        passed = await browser.get("/ui/security?gate=passed")
        failed = await browser.get("/ui/security?gate=failed")
        waiting = await browser.get("/ui/security?status=queued")
        completed_b = await browser.get("/ui/security?status=completed&repository=acme/b")
        none = await browser.get("/ui/security?status=running")

        assert scan_links(by_repository.text) == [passing.id]
        assert scan_links(passed.text) == [passing.id]
        assert scan_links(failed.text) == [failing.id]  # a queued scan has no verdict yet
        assert scan_links(waiting.text) == [queued.id]
        assert scan_links(completed_b.text) == [failing.id]
        assert "No scans match these filters" in none.text

    async def test_the_list_pages_fifty_at_a_time_filtered_or_not(
        self, runtime: Runtime, sign_in: SignIn
    ) -> None:
        failing, passing = [], []
        for i in range(130):  # oldest first; every third one passes
            if i % 3 == 0:
                passing.append(await recorded(runtime, report(runtime, ago=1000 - i)))
            else:
                failing.append(
                    await recorded(runtime, report(runtime, secret_finding(), ago=1000 - i))
                )
        browser = await sign_in(Role.VIEWER)

        first = (await browser.get("/ui/security")).text
        second = await next_page(browser, first)
        third = await next_page(browser, second)
        failed = [(await browser.get("/ui/security?gate=failed")).text]
        while NEXT.search(failed[-1]):
            failed.append(await next_page(browser, failed[-1]))

        assert [len(scan_links(p)) for p in (first, second, third)] == [50, 50, 30]
        assert NEXT.search(third) is None
        assert [len(scan_links(p)) for p in failed] == [50, 36]
        shown = [scan for p in failed for scan in scan_links(p)]
        assert shown == [scan.id for scan in reversed(failing)]  # each once, newest first
        assert "gate=failed" in NEXT.search(failed[0]).group(1)  # type: ignore[union-attr]

    @pytest.mark.parametrize(
        "query",
        ["status=finished", "gate=maybe", "cursor=not-a-cursor", "gate=failed&cursor=x"],
    )
    async def test_a_bad_filter_value_is_a_422_page(self, sign_in: SignIn, query: str) -> None:
        browser = await sign_in(Role.VIEWER)

        bad = await browser.get(f"/ui/security?{query}")

        assert bad.status_code == 422
        assert bad.headers["content-type"].startswith("text/html")

    async def test_no_scan_yet_says_how_to_make_one(self, sign_in: SignIn) -> None:
        browser = await sign_in(Role.VIEWER)

        page = await browser.get("/ui/security")

        assert page.status_code == 200
        assert "No scan is recorded yet" in page.text


class TestScan:
    async def test_a_scan_shows_its_verdict_counts_notices_findings_and_reports(
        self, runtime: Runtime, sign_in: SignIn
    ) -> None:
        notice = ToolNotice("semgrep", "semgrep is not installed; SAST ran <b>Bandit</b> only")
        scan = await recorded(
            runtime,
            report(
                runtime,
                secret_finding(),
                dependency_finding(),
                baselined=(sast_finding(),),
                notices=(notice,),
            ),
            "acme/shop",
        )
        ids = await finding_ids(runtime, scan.id)
        browser = await sign_in(Role.VIEWER)

        page = await browser.get(f"/ui/security/scans/{scan.id}")

        assert page.status_code == 200
        text = page.text
        assert '<span class="badge badge-bad">failed</span>' in text
        assert "fails on new findings at or above high" in text
        assert '<dt>New</dt><dd>2 <span class="muted">(1 failing the gate)</span>' in text
        assert "semgrep is not installed; SAST ran &lt;b&gt;Bandit&lt;/b&gt; only" in text
        for rule, finding_id in ids.items():
            assert f'href="/ui/security/findings/{finding_id}"' in text, rule
        assert "config/settings.py:12" in text
        assert "requests 2.25.0 → 2.31.0" in text  # the dependency's bump
        for output in ("sarif", "json", "md", "html"):
            assert f'href="/ui/security/scans/{scan.id}/report?format={output}"' in text
        assert f'id="security-scan" data-live="{scan.id}"' in text  # its events refresh it

    async def test_findings_are_filtered_by_severity_category_state_and_rule(
        self, runtime: Runtime, sign_in: SignIn
    ) -> None:
        scan = await recorded(
            runtime,
            report(
                runtime,
                secret_finding(),
                dependency_finding(),
                license_finding(),
                baselined=(sast_finding(),),
            ),
        )
        ids = await finding_ids(runtime, scan.id)
        browser = await sign_in(Role.VIEWER)

        async def shown(query: str) -> set[str]:
            page = await browser.get(f"/ui/security/scans/{scan.id}?{query}")
            assert page.status_code == 200, page.text
            linked = set(re.findall(r'href="/ui/security/findings/(\d+)"', page.text))
            return {rule for rule, finding_id in ids.items() if str(finding_id) in linked}

        assert await shown("") == set(ids)
        assert await shown("severity=high") == {
            "secrets/github-pat",
            "license/denied",
            "bandit/B602",
        }
        assert await shown("category=dependency") == {"osv/GHSA-j8r2-6x86-q33q"}
        assert await shown("state=baselined") == {"bandit/B602"}
        assert await shown("state=new&severity=high&category=license") == {"license/denied"}
        assert await shown("rule=secrets/github-pat") == {"secrets/github-pat"}
        assert await shown("rule=nothing/like-it") == set()

    @pytest.mark.parametrize(
        "query", ["severity=urgent", "category=malware", "state=fixed", "cursor=abc"]
    )
    async def test_a_bad_finding_filter_is_a_422_page(
        self, runtime: Runtime, sign_in: SignIn, query: str
    ) -> None:
        scan = await recorded(runtime, report(runtime, secret_finding()))
        browser = await sign_in(Role.VIEWER)

        bad = await browser.get(f"/ui/security/scans/{scan.id}?{query}")

        assert bad.status_code == 422
        assert bad.headers["content-type"].startswith("text/html")

    async def test_findings_page_fifty_at_a_time(self, runtime: Runtime, sign_in: SignIn) -> None:
        many = tuple(secret_finding(path=f"config/file_{i:02d}.py") for i in range(51))
        scan = await recorded(runtime, report(runtime, *many))
        browser = await sign_in(Role.VIEWER)

        first = (await browser.get(f"/ui/security/scans/{scan.id}")).text
        second = await next_page(browser, first, f"/ui/security/scans/{scan.id}")

        assert first.count('href="/ui/security/findings/') == 50
        assert second.count('href="/ui/security/findings/') == 1

    async def test_each_report_downloads_as_a_file_of_its_type(
        self, runtime: Runtime, sign_in: SignIn
    ) -> None:
        scan = await recorded(runtime, report(runtime, hostile_finding(), secret_finding()))
        browser = await sign_in(Role.VIEWER)
        base = f"/ui/security/scans/{scan.id}/report"

        sarif = await browser.get(base)
        as_json = await browser.get(f"{base}?format=json")
        markdown = await browser.get(f"{base}?format=md")
        html = await browser.get(f"{base}?format=html")

        assert sarif.headers["content-type"].startswith("application/sarif+json")
        assert json.loads(sarif.text)["version"] == "2.1.0"
        assert json.loads(as_json.text)["summary"]["new"] == 2
        assert markdown.headers["content-type"].startswith("text/markdown")
        assert markdown.text.startswith("# Security scan")
        assert html.headers["content-type"].startswith("text/html")
        assert "<script>alert(" not in html.text  # the report escapes what scanners said
        for answer, extension in ((sarif, "sarif"), (as_json, "json"), (markdown, "md")):
            assert answer.status_code == 200
            disposition = answer.headers["content-disposition"]
            assert disposition == f'attachment; filename="{scan.id}.{extension}"'
        assert html.headers["content-disposition"].startswith("attachment")

    async def test_unknown_scans_and_formats_are_error_pages(
        self, runtime: Runtime, sign_in: SignIn
    ) -> None:
        scan = await recorded(runtime, report(runtime))
        browser = await sign_in(Role.VIEWER)

        unknown = await browser.get("/ui/security/scans/scan_nope")
        unknown_report = await browser.get("/ui/security/scans/scan_nope/report?format=md")
        bad_format = await browser.get(f"/ui/security/scans/{scan.id}/report?format=pdf")

        assert unknown.status_code == 404
        assert unknown.headers["content-type"].startswith("text/html")
        assert "No security scan" in unknown.text
        assert unknown_report.status_code == 404
        assert bad_format.status_code == 422
        assert "Unknown report format" in bad_format.text


class TestFinding:
    async def test_a_finding_shows_its_rule_place_message_properties_and_bump(
        self, runtime: Runtime, sign_in: SignIn
    ) -> None:
        scan = await recorded(runtime, report(runtime, dependency_finding(), sast_finding()))
        ids = await finding_ids(runtime, scan.id)
        finding = replace(sast_finding(), help_uri="https://bandit.readthedocs.io/b602.html")
        other = await recorded(runtime, report(runtime, finding))
        [sast_id] = (await finding_ids(runtime, other.id)).values()
        browser = await sign_in(Role.VIEWER)

        dependency = (
            await browser.get(f"/ui/security/findings/{ids[dependency_finding().rule_id]}")
        ).text
        sast = (await browser.get(f"/ui/security/findings/{sast_id}")).text

        assert "osv/GHSA-j8r2-6x86-q33q" in dependency
        assert "requirements.txt:3" in dependency
        assert (
            'from <span class="mono">2.25.0</span> to <span class="mono">2.31.0</span>'
            in dependency
        )
        assert "CVE-2023-32681" in dependency  # its properties
        assert f'href="/ui/security/scans/{scan.id}"' in dependency
        assert "app/run.py:4" in sast
        assert "subprocess.call(cmd, shell=True)" in sast  # the snippet
        assert "CWE-78" in sast
        assert (
            '<a href="https://bandit.readthedocs.io/b602.html" rel="noopener noreferrer">' in sast
        )

    async def test_hostile_text_from_a_scanner_is_shown_escaped_never_as_markup(
        self, runtime: Runtime, sign_in: SignIn
    ) -> None:
        scan = await recorded(runtime, report(runtime, hostile_finding()))
        [finding_id] = (await finding_ids(runtime, scan.id)).values()
        browser = await sign_in(Role.VIEWER)

        finding = (await browser.get(f"/ui/security/findings/{finding_id}")).text
        listed = (await browser.get(f"/ui/security/scans/{scan.id}")).text

        for text in (finding, listed):
            assert "<script>" not in text
            assert "<img src=x" not in text
            assert "<i>Title</i>" not in text
            assert "<b>rule</b>" not in text
            assert "&lt;i&gt;Title&lt;/i&gt; from a scanner" in text
        assert "&lt;script&gt;alert(&#39;message&#39;)&lt;/script&gt;" in finding
        assert "&lt;script&gt;alert(&#39;snippet&#39;)&lt;/script&gt;" in finding
        assert "&lt;svg onload=alert(&#39;property&#39;)&gt;" in finding
        assert 'href="javascript:' not in finding  # not an http(s) address: no link
        assert "javascript:alert(&#39;help&#39;)" in finding

    async def test_a_secret_found_in_a_tree_is_shown_redacted(
        self, runtime: Runtime, sign_in: SignIn, tmp_path: Path
    ) -> None:
        tree = tmp_path / "tree"
        tree.mkdir()
        (tree / "deploy.py").write_text(f'TOKEN = "{TOKEN}"\n')
        request = security.ScanRequest(root=tree, categories=frozenset({Category.SECRET}))
        _, scan = await security.scan_and_record(
            runtime.uow(), runtime.settings, runtime.clock, request, actor=ADMIN, source="cli"
        )
        ids = await finding_ids(runtime, scan.id)
        assert ids, "the secret scanner found nothing"
        browser = await sign_in(Role.VIEWER)

        listed = (await browser.get(f"/ui/security/scans/{scan.id}")).text
        pages = [(await browser.get(f"/ui/security/findings/{i}")).text for i in ids.values()]

        assert "deploy.py:1" in listed
        for text in (listed, *pages):
            assert TOKEN not in text
            assert TOKEN[4:] not in text

    async def test_an_unknown_finding_is_a_404_page_and_a_bad_id_a_422(
        self, sign_in: SignIn
    ) -> None:
        browser = await sign_in(Role.VIEWER)

        unknown = await browser.get("/ui/security/findings/987654")
        bad = await browser.get("/ui/security/findings/abc")

        assert unknown.status_code == 404
        assert "No security finding 987654" in unknown.text
        assert bad.status_code == 422
        assert bad.headers["content-type"].startswith("text/html")


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """A clone with calc.py and a made-up token, registered as octo/app (no forge)."""
    made = make_project(tmp_path / "project", tmp_path / "remote.git")
    (made.work_tree / "settings.py").write_text(f'GITHUB_TOKEN = "{TOKEN}"\n')
    git(made.work_tree, "add", "settings.py")
    git(
        made.work_tree,
        "-c",
        "user.name=Dev",
        "-c",
        "user.email=dev@example.com",
        "commit",
        "-qm",
        "settings",
    )
    return made


@pytest.fixture
async def registered(runtime: Runtime, project: Project) -> Project:
    await register(runtime, project, GITHUB_REPO, "github")
    return project


@pytest.fixture(autouse=True)
def _model_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """The security-scanner agent's provider finds a key (no model is ever called)."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")


async def run_scans(runtime: Runtime) -> None:
    """A worker with the security jobs, until nothing is left to do."""
    registry = JobRegistry()
    register_security_jobs(registry, runtime)
    config = RunnerConfig(concurrency=2, poll_max=timedelta(milliseconds=50))
    await asyncio.wait_for(JobRunner(runtime, registry, config).run(until_idle=True), 60)


class TestActions:
    @pytest.mark.usefixtures("registered")
    async def test_a_viewer_gets_no_forms_and_a_forged_post_is_refused(
        self, runtime: Runtime, sign_in: SignIn
    ) -> None:
        scan = await recorded(runtime, report(runtime, secret_finding()), GITHUB_REPO)
        [finding_id] = (await finding_ids(runtime, scan.id)).values()
        browser = await sign_in(Role.VIEWER)

        pages = [
            (await browser.get(path)).text
            for path in ("/ui/security", f"/ui/security/findings/{finding_id}")
        ]
        scanning = await browser.post("/ui/security/scans", {"repository": GITHUB_REPO})
        fixing = await browser.post(f"/ui/security/findings/{finding_id}/fix")

        for text in pages:
            assert text.count('method="post"') == 1  # signing out only
            assert "Propose a fix" not in text
            assert "Queue the scan" not in text
        assert (scanning.status_code, fixing.status_code) == (403, 403)
        listed = await security.list_scans(runtime.uow(read_only=True))
        assert [s.id for s in listed.items] == [scan.id]  # nothing was queued

    @pytest.mark.usefixtures("registered")
    async def test_an_operator_queues_a_scan_that_a_worker_runs(
        self, runtime: Runtime, sign_in: SignIn
    ) -> None:
        browser = await sign_in(Role.OPERATOR)
        page = (await browser.get("/ui/security")).text
        assert f'<option value="{GITHUB_REPO}">' in page
        assert 'name="category" value="secret" checked' in page

        queued = await browser.http.post(
            "/ui/security/scans",
            data={
                "csrf_token": browser.csrf_token,
                "repository": GITHUB_REPO,
                "category": "secret",
                "fail_on": "medium",
            },
        )

        assert queued.status_code == 303, queued.text
        scan_id = queued.headers["location"].rsplit("/", 1)[1]
        scan = await security.get_scan(runtime.uow(read_only=True), scan_id)
        assert (scan.status, scan.repository, scan.categories) == (
            "queued",
            GITHUB_REPO,
            ("secret",),
        )
        assert scan.fail_on == "medium"
        async with runtime.uow(read_only=True) as uow:
            job = await jobs.find_job_by_key(uow, scan_id)
        assert job is not None
        shown = await browser.get(queued.headers["location"])
        assert "is queued" in shown.text  # the one-shot message
        assert "its findings show here when it finishes" in shown.text

        await run_scans(runtime)

        finished = await security.get_scan(runtime.uow(read_only=True), scan_id)
        assert (finished.status, finished.passed) == ("completed", False), finished.error
        done = (await browser.get(queued.headers["location"])).text
        assert '<span class="badge badge-bad">failed</span>' in done
        assert "settings.py:1" in done
        assert TOKEN not in done

    @pytest.mark.usefixtures("registered")
    async def test_scanning_needs_a_registered_repository_and_known_values(
        self, sign_in: SignIn
    ) -> None:
        browser = await sign_in(Role.OPERATOR)

        unknown = await browser.post("/ui/security/scans", {"repository": "nobody/here"})
        missing = await browser.post("/ui/security/scans", {"repository": ""})
        bad_category = await browser.post(
            "/ui/security/scans", {"repository": GITHUB_REPO, "category": "malware"}
        )
        bad_severity = await browser.post(
            "/ui/security/scans", {"repository": GITHUB_REPO, "fail_on": "urgent"}
        )

        assert unknown.status_code == 404
        assert [missing.status_code, bad_category.status_code, bad_severity.status_code] == [
            422,
            422,
            422,
        ]
        assert "Choose the registered repository" in missing.text

    @pytest.mark.usefixtures("registered")
    async def test_an_operator_proposes_a_fix_and_the_agent_starts_once(
        self, runtime: Runtime, sign_in: SignIn
    ) -> None:
        scan = await recorded(runtime, report(runtime, sast_finding()), GITHUB_REPO)
        [finding_id] = (await finding_ids(runtime, scan.id)).values()
        browser = await sign_in(Role.OPERATOR)
        page = (await browser.get(f"/ui/security/findings/{finding_id}")).text
        assert f'action="/ui/security/findings/{finding_id}/fix"' in page

        first = await browser.post(f"/ui/security/findings/{finding_id}/fix")
        again = await browser.post(f"/ui/security/findings/{finding_id}/fix")

        assert first.status_code == 303, first.text
        assert first.headers["location"].startswith("/ui/agents/")
        assert again.headers["location"] == first.headers["location"]
        agent_id = first.headers["location"].rsplit("/", 1)[1]
        agent = await agents.get_agent(runtime.uow(read_only=True), agent_id)
        assert agent.type == "security-scanner"
        assert "bandit/B602" in agent.task
        shown = await browser.get(first.headers["location"])
        assert "is working on finding" in shown.text

    @pytest.mark.usefixtures("registered")
    async def test_a_finding_of_a_directory_scan_is_fixed_in_a_repository_chosen(
        self, runtime: Runtime, sign_in: SignIn
    ) -> None:
        scan = await recorded(runtime, report(runtime, sast_finding()))
        [finding_id] = (await finding_ids(runtime, scan.id)).values()
        browser = await sign_in(Role.OPERATOR)
        page = (await browser.get(f"/ui/security/findings/{finding_id}")).text
        assert 'id="fix-repository"' in page

        unnamed = await browser.post(f"/ui/security/findings/{finding_id}/fix")
        named = await browser.post(
            f"/ui/security/findings/{finding_id}/fix", {"repository": GITHUB_REPO}
        )

        assert unnamed.status_code == 422
        assert "name the repository" in unnamed.text
        assert named.status_code == 303, named.text
        assert named.headers["location"].startswith("/ui/agents/")

    async def test_fixing_an_unknown_finding_is_a_404_page(self, sign_in: SignIn) -> None:
        browser = await sign_in(Role.OPERATOR)

        unknown = await browser.post("/ui/security/findings/987654/fix")

        assert unknown.status_code == 404
        assert unknown.headers["content-type"].startswith("text/html")
