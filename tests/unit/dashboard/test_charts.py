"""The Monitoring page's chart geometry: bars scaled to the largest, lines on 0..top."""

from __future__ import annotations

from orchestrate.dashboard.charts import BOTTOM, HEIGHT, LEFT, TOP, WIDTH, bar_chart, line_chart

BASELINE = HEIGHT - BOTTOM


def test_bars_are_scaled_to_the_largest_and_stand_on_the_baseline() -> None:
    chart = bar_chart(
        "c", [("a", 1.0, "a: 1"), ("b", 4.0, "b: 4"), ("c", 0.0, "c: 0")], top_label="4"
    )

    heights = [bar.height for bar in chart.bars]
    assert heights == [(HEIGHT - BOTTOM - TOP) / 4, HEIGHT - BOTTOM - TOP, 0.0]
    assert all(bar.y + bar.height == BASELINE for bar in chart.bars)
    assert all(bar.x >= LEFT and bar.x + bar.width <= WIDTH for bar in chart.bars)
    assert [bar.title for bar in chart.bars] == ["a: 1", "b: 4", "c: 0"]


def test_all_zero_bars_are_flat_not_a_division_by_zero() -> None:
    chart = bar_chart("c", [("a", 0.0, ""), ("b", 0.0, "")], top_label="0", every_label=2)

    assert [bar.height for bar in chart.bars] == [0.0, 0.0]
    assert [bar.label for bar in chart.bars] == ["a", ""]


def test_no_values_is_an_empty_chart() -> None:
    assert bar_chart("c", [], top_label="0").is_empty
    assert line_chart("c", [("x", "series-a", [])], top=1.0, top_label="1").is_empty


def test_a_line_runs_from_the_left_edge_to_the_right_and_clips_at_the_top() -> None:
    chart = line_chart(
        "c", [("rate", "series-a", [("0h", 0.0), ("1h", 0.5), ("2h", 3.0)])], top=1.0, top_label="1"
    )

    [line] = chart.lines
    xs = [x for x, _, _ in line.dots]
    ys = [y for _, y, _ in line.dots]
    assert (xs[0], xs[-1]) == (LEFT, WIDTH)
    assert ys == [BASELINE, BASELINE - (HEIGHT - BOTTOM - TOP) / 2, TOP]
    assert line.points.split() == [f"{x},{y}" for x, y in zip(xs, ys, strict=True)]
