"""docs/alerts.md lists every metric of the catalogue with its kind and labels."""

from __future__ import annotations

from pathlib import Path

from orchestrate.monitoring.alerts.catalogue import METRICS

DOC = Path(__file__).parents[3] / "docs" / "alerts.md"


def test_every_catalogue_metric_is_documented_with_its_kind_and_labels() -> None:
    text = DOC.read_text()

    for metric in METRICS.values():
        labels = ", ".join(f"`{label}`" for label in metric.labels) or "—"
        assert f"| `{metric.name}` | {metric.kind.value} | {labels} |" in text, metric.name
