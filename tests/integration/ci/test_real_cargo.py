"""A real ``cargo test --offline`` on a crate without dependencies."""

from __future__ import annotations

from pathlib import Path

from orchestrate.ci.models import ReportFormat, TestStatus
from orchestrate.ci.parsing import parse_report
from tests.integration.ci.tools import require_executable, run, write_tree
from tests.unit.ci.fixtures import by_identity, outcomes

CRATE = {
    "Cargo.toml": (
        '[package]\nname = "shop"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\n'
    ),
    "src/lib.rs": """/// Adds two numbers.
///
/// ```
/// assert_eq!(shop::add(1, 2), 3);
/// ```
pub fn add(a: i32, b: i32) -> i32 {
    a + b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds() {
        assert_eq!(add(1, 1), 2);
    }

    #[test]
    fn discounts() {
        println!("computing discount");
        assert_eq!(add(9, 0), 8, "discount applied");
    }

    #[test]
    #[ignore = "no payment sandbox"]
    fn pays() {}
}
""",
    "tests/checkout.rs": "#[test]\nfn checkout_works() {\n    assert_eq!(shop::add(2, 2), 4);\n}\n",
}


def test_cargo_test_output_is_parsed(tmp_path: Path) -> None:
    cargo = require_executable(
        "cargo",
        also=(Path.home() / ".cargo" / "bin",),
        install="apt-get install cargo; .ci/run does it",
    )
    crate = write_tree(tmp_path / "crate", CRATE)
    env = {"CARGO_TARGET_DIR": str(tmp_path / "target"), "RUST_BACKTRACE": "0"}

    output = run([cargo, "test", "--offline", "--no-fail-fast"], cwd=crate, env=env)

    report = parse_report(output)
    assert report.format is ReportFormat.CARGO, output
    assert outcomes(report.results) == {
        "tests::adds": "passed",
        "tests::discounts": "failed",
        "tests::pays": "skipped",
        "checkout::checkout_works": "passed",
        "shop (doc-tests)::src/lib.rs - add (line 3)": "passed",
    }
    [discounts] = by_identity(report.results)["tests::discounts"]
    assert discounts.status is TestStatus.FAILED
    assert discounts.message == "assertion `left == right` failed: discount applied"
    assert "computing discount" in discounts.output
    [pays] = by_identity(report.results)["tests::pays"]
    assert pays.message == "no payment sandbox"


FLAKY_TEST = """#[test]
fn flaky() {
    // Fails on its first try only: nextest runs each try in a new process.
    let path = std::env::var("FLAKY_COUNTER").unwrap();
    let tries: u32 = std::fs::read_to_string(&path)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    std::fs::write(&path, (tries + 1).to_string()).unwrap();
    assert!(tries >= 1, "first try fails");
}
"""


def test_cargo_nextest_retries_are_numbered_attempts(tmp_path: Path) -> None:
    """Not run where this was written (nextest cannot be installed offline); it runs
    wherever ``cargo-nextest`` is on PATH or in ~/.cargo/bin."""
    cargo = require_executable(
        "cargo",
        also=(Path.home() / ".cargo" / "bin",),
        install="apt-get install cargo; .ci/run does it",
    )
    require_executable(
        "cargo-nextest",
        also=(Path.home() / ".cargo" / "bin",),
        install="cargo install cargo-nextest --locked, which needs the network",
    )
    crate = write_tree(tmp_path / "crate", {**CRATE, "tests/flaky.rs": FLAKY_TEST})
    env = {
        "CARGO_TARGET_DIR": str(tmp_path / "target"),
        "FLAKY_COUNTER": str(tmp_path / "tries"),
        "RUST_BACKTRACE": "0",
    }

    output = run(
        [cargo, "nextest", "run", "--offline", "--no-fail-fast", "--retries", "2"],
        cwd=crate,
        env=env,
    )

    report = parse_report(output)
    assert report.format is ReportFormat.CARGO, output
    flaky = by_identity(report.results)["shop::flaky::flaky"]
    assert [(a.status, a.retry) for a in flaky] == [
        (TestStatus.FAILED, 0),
        (TestStatus.PASSED, 1),
    ], output
    [discounts] = [a for a in by_identity(report.results)["tests::discounts"] if a.retry == 2]
    assert discounts.message == "assertion `left == right` failed: discount applied"
