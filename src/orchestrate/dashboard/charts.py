"""The Monitoring page's charts as SVG geometry, worked out here and drawn by the template.

No chart library: a bar chart and a line chart are a few rectangles and a polyline in a
fixed view box that scales with the page (``viewBox``), so the browser runs no script
for them and a refresh swaps them like any other HTML.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

WIDTH = 400
HEIGHT = 180
LEFT = 44  # room for the axis labels
BOTTOM = 22
TOP = 8


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    """Under the bar (or empty to keep the axis readable)."""
    title: str
    """The exact value, shown on hover and read by screen readers."""


@dataclass(frozen=True)
class Line:
    name: str
    css_class: str
    points: str
    """``x,y x,y …`` for a ``<polyline>``."""
    dots: tuple[tuple[float, float, str], ...]
    """Each point with its exact value, for hover titles."""


@dataclass(frozen=True)
class Chart:
    title: str
    bars: tuple[Bar, ...] = ()
    lines: tuple[Line, ...] = ()
    top_label: str = ""
    """The value the top of the plot stands for."""
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    baseline: float = HEIGHT - BOTTOM

    @property
    def is_empty(self) -> bool:
        return not self.bars and not self.lines


def _plot_height() -> float:
    return HEIGHT - BOTTOM - TOP


def bar_chart(
    title: str,
    values: Sequence[tuple[str, float, str]],
    *,
    top_label: str,
    every_label: int = 1,
) -> Chart:
    """Bars of ``(label, value, title)``, scaled to the largest (or to 1 when all are 0)."""
    if not values:
        return Chart(title, top_label=top_label)
    peak = max((value for _, value, _ in values), default=0.0) or 1.0
    slot = (WIDTH - LEFT) / len(values)
    width = max(slot * 0.7, 1.0)
    bars = []
    for index, (label, value, hover) in enumerate(values):
        height = _plot_height() * (value / peak)
        bars.append(
            Bar(
                x=round(LEFT + index * slot + (slot - width) / 2, 2),
                y=round(HEIGHT - BOTTOM - height, 2),
                width=round(width, 2),
                height=round(height, 2),
                label=label if index % every_label == 0 else "",
                title=hover,
            )
        )
    return Chart(title, bars=tuple(bars), top_label=top_label)


def line_chart(
    title: str,
    series: Sequence[tuple[str, str, Sequence[tuple[str, float]]]],
    *,
    top: float,
    top_label: str,
) -> Chart:
    """Lines of ``(name, css class, [(hover title, value)])`` on one scale from 0 to ``top``."""
    lines = []
    for name, css_class, points in series:
        if not points:
            continue
        step = (WIDTH - LEFT) / max(len(points) - 1, 1)
        dots = tuple(
            (
                round(LEFT + index * step, 2),
                round(HEIGHT - BOTTOM - _plot_height() * min(value / top, 1.0), 2),
                hover,
            )
            for index, (hover, value) in enumerate(points)
        )
        lines.append(Line(name, css_class, " ".join(f"{x},{y}" for x, y, _ in dots), dots))
    return Chart(title, lines=tuple(lines), top_label=top_label)


def dollars(value: Decimal) -> str:
    return f"${value:,.2f}"
