"""Real ``go test -v`` and ``go test -json`` runs on a tiny module, offline."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrate.ci.models import ReportFormat
from orchestrate.ci.parsing import parse_report
from tests.integration.ci.tools import require_executable, run, write_tree
from tests.unit.ci.fixtures import by_identity, outcomes

MODULE = {
    "go.mod": "module example.com/shop\n\ngo 1.19\n",
    "cart_test.go": """package shop

import "testing"

func TestTotal(t *testing.T) {
	if 1+1 != 2 {
		t.Fatal("math is broken")
	}
}

func TestDiscount(t *testing.T) {
	t.Logf("computing discount")
	if got := 9; got != 8 {
		t.Errorf("discount: got %d, want %d", got, 8)
	}
}

func TestPayment(t *testing.T) {
	t.Skip("no payment sandbox")
}

func TestTax(t *testing.T) {
	t.Run("low", func(t *testing.T) {})
	t.Run("high", func(t *testing.T) { t.Errorf("rate %d too high", 20) })
}
""",
}
EXPECTED = {
    "example.com/shop::TestTotal": "passed",
    "example.com/shop::TestDiscount": "failed",
    "example.com/shop::TestPayment": "skipped",
    "example.com/shop::TestTax": "failed",
    "example.com/shop::TestTax/low": "passed",
    "example.com/shop::TestTax/high": "failed",
}


@pytest.fixture(scope="module")
def go_test(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], Path, dict[str, str]]:
    """The ``go test`` command, the module to run it in and its offline environment."""
    go = require_executable("go", install="apt-get install golang-go; .ci/run does it")
    module = write_tree(tmp_path_factory.mktemp("go-module"), MODULE)
    cache = tmp_path_factory.mktemp("go-cache")
    env = {
        "GOFLAGS": "-mod=mod",
        "GOPROXY": "off",
        "GOCACHE": str(cache / "build"),
        "GOPATH": str(cache / "path"),
        "GOTOOLCHAIN": "local",
    }
    return [go, "test", "-count=1"], module, env


@pytest.mark.parametrize("flag", ["-v", "-json"])
def test_go_test_output_is_parsed(
    go_test: tuple[list[str], Path, dict[str, str]], flag: str
) -> None:
    argv, module, env = go_test
    output = run([*argv, flag, "./..."], cwd=module, env=env)

    report = parse_report(output)

    assert report.format is ReportFormat.GO, output
    assert outcomes(report.results) == EXPECTED
    grouped = by_identity(report.results)
    assert grouped["example.com/shop::TestDiscount"][0].message == (
        "cart_test.go:14: discount: got 9, want 8"
    )
    assert grouped["example.com/shop::TestTax/high"][0].message == (
        "cart_test.go:24: rate 20 too high"
    )
    assert grouped["example.com/shop::TestPayment"][0].message.endswith("no payment sandbox")
