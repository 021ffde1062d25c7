"""The geometry of a horizontal bar chart, drawn on the server as SVG.

Only numbers are computed here; the template writes the SVG with Jinja, so every label
is escaped like any other text and no script or inline style is needed.
"""

from __future__ import annotations

from dataclasses import dataclass

WIDTH = 640
LABEL_WIDTH = 220  # room for the longest label ("Information requested") in three languages
VALUE_WIDTH = 70
ROW = 32
BAR = 20


@dataclass(frozen=True)
class Bar:
    key: str
    value: int
    top: int  # y of the bar
    length: float  # 0 for a zero value: the label and the number still show

    @property
    def text_y(self) -> int:
        return self.top + BAR - 5

    @property
    def value_x(self) -> float:
        return LABEL_WIDTH + self.length + 6


@dataclass(frozen=True)
class BarChart:
    bars: list[Bar]
    width: int = WIDTH
    label_x: int = LABEL_WIDTH - 8
    bar_x: int = LABEL_WIDTH
    bar_height: int = BAR

    @property
    def height(self) -> int:
        return max(len(self.bars), 1) * ROW


def bars(values: dict[str, int]) -> BarChart:
    """One bar per key, in the order given; lengths relative to the largest value."""
    largest = max(values.values(), default=0)
    room = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    return BarChart([
        Bar(key, value, index * ROW + (ROW - BAR) // 2, round(room * value / largest, 1) if largest else 0)
        for index, (key, value) in enumerate(values.items())
    ])
