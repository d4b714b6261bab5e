"""A horizontal bar chart drawn as SVG on the server, for the statistics page."""

from __future__ import annotations

from dataclasses import dataclass

WIDTH = 480
ROW = 40
LABEL_WIDTH = 100
COUNT_ROOM = 70
BAR_HEIGHT = 24


@dataclass(frozen=True)
class Bar:
    label: str
    count: int
    y: int
    width: int

    @property
    def text_y(self) -> int:
        return self.y + BAR_HEIGHT // 2 + 5


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    width: int
    height: int
    bar_x: int
    bar_height: int

    def count_x(self, bar: Bar) -> int:
        return self.bar_x + bar.width + 8


def bar_chart(counts: list[tuple[str, int]]) -> Chart:
    """Bars scaled to the largest count; a zero count draws no bar, only its 0."""
    largest = max((count for _, count in counts), default=0)
    room = WIDTH - LABEL_WIDTH - COUNT_ROOM
    bars = [
        Bar(
            label,
            count,
            10 + index * ROW,
            round(room * count / largest) if largest else 0,
        )
        for index, (label, count) in enumerate(counts)
    ]
    return Chart(bars, WIDTH, 20 + len(counts) * ROW, LABEL_WIDTH, BAR_HEIGHT)
