"""Bar charts with readable axes, as numbers for a server-rendered SVG (#19).

Horizontal positions are percentages of the chart's width and vertical ones pixels, so the
SVG fills any width (375 px phone, 1280 px desktop) while its text keeps the page's font
size: nothing is scaled down to a smudge. Labels a narrow screen has no room for are marked
``minor`` (the stylesheet hides them below 30rem). Used by the posts-per-week chart of a
mission's trends and by the search page's month histogram.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
HEIGHT = 160  # px: plot, then the month labels (the year on a second line)
PLOT_TOP, PLOT_BOTTOM = 8, 118
LEFT, RIGHT = 10.0, 97.0  # % of the width: the y labels' gutter, a margin for the last label
MAX_LABELS, MAX_NARROW_LABELS = 12, 6


@dataclass(frozen=True)
class Slot:
    """One bar: its day (a week's Monday or a month's first day), its count, its tooltip."""

    day: date
    n: int
    title: str


def nice_ceiling(top: int) -> int:
    """The smallest 1, 2 or 5 times a power of ten at or above ``top`` (0 -> 1)."""
    if top <= 1:
        return 1
    power = 10 ** (len(str(top)) - 1)
    return int(next(m * power for m in (1, 2, 5, 10) if m * power >= top))


def compact(n: int) -> str:
    """1200 -> "1.2k": a y label that fits the gutter of a phone-wide chart."""
    if n >= 10_000:
        return f"{n // 1000}k"
    if n >= 1000:
        return f"{n / 1000:.1f}".rstrip("0").rstrip(".") + "k"
    return str(n)


def bar_chart(slots: Sequence[Slot], *, min_slots: int = 12, monthly: bool = True) -> dict[str, Any]:
    """Bars for ``slots`` (in time order), y ticks at 0, half and a round maximum, and
    x labels at month starts (every month, or every k-th when they would crowd).

    A bar is never wider than ``1/min_slots`` of the plot (one month is not a banner)."""
    chart: dict[str, Any] = {"width": 100, "height": HEIGHT, "left": LEFT, "right": RIGHT,
                             "bottom": PLOT_BOTTOM, "bars": [], "yticks": [], "xlabels": []}
    if not slots:
        return chart
    top = nice_ceiling(max(s.n for s in slots))
    span = PLOT_BOTTOM - PLOT_TOP
    step = (RIGHT - LEFT) / max(len(slots), min_slots)
    for i, s in enumerate(slots):
        h = round(max(s.n / top * span, 1), 2) if s.n else 0
        chart["bars"].append({"x": round(LEFT + i * step, 3), "w": round(max(step * 0.8, 0.2), 3),
                              "h": h, "y": round(PLOT_BOTTOM - h, 2), "n": s.n,
                              "day": s.day.isoformat(), "title": s.title})
    chart["yticks"] = [{"y": round(PLOT_BOTTOM - v / top * span, 2), "label": compact(v)}
                       for v in sorted({0, top // 2, top})]
    chart["xlabels"] = _month_labels(slots, step, monthly)
    return chart


def _month_labels(slots: Sequence[Slot], step: float, monthly: bool) -> list[dict[str, Any]]:
    """One label where each month starts; thinned to at most 12 (6 on a narrow screen)."""
    starts = [i for i, s in enumerate(slots)
              if (i == 0 and (monthly or s.day.day <= 7)) or (i and s.day.month != slots[i - 1].day.month)]
    every = math.ceil(len(starts) / MAX_LABELS)
    shown = starts[::every]
    narrow = set(shown[:: math.ceil(len(shown) / MAX_NARROW_LABELS)])
    return [{"x": round(LEFT + i * step, 3), "text": MONTHS[slots[i].day.month - 1],
             "year": str(slots[i].day.year) if n == 0 or slots[i].day.month == 1 else "",
             "minor": i not in narrow} for n, i in enumerate(shown)]
