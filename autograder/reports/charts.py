"""Geometry of class.html's charts, computed here and drawn as inline SVG by the template:
no chart library, nothing fetched, so the page works offline and prints as it shows."""

from dataclasses import dataclass

from ..grading.report import STATUSES
from ..words import N_

STATUS_ORDER = STATUSES + ("",)  # "": a cell with no kit report (graded without the kit)
STATUS_COLORS = {
    "passed": "#2e7d32",
    "partial": "#f0a400",
    "failed": "#c62828",
    "not answered": "#90a4ae",
    "timeout": "#455a64",
    "error": "#6a1b9a",
    "": "#bdbdbd",
}
STATUS_LABELS = {"": "no report"}
# The statuses as a person reads them (the legend; the ids stay the data of cells.csv and the page).
STATUS_WORDS = {
    "passed": N_("passed"),
    "partial": N_("partial"),
    "failed": N_("failed"),
    "not answered": N_("not answered"),
    "timeout": N_("timeout"),
    "error": N_("error"),
    "": N_("no report"),
}

# A cell's score as a share of its points, in the bins of its score distribution.
SCORE_BINS = (
    ("0", 0.0, 0.0),
    ("1–39%", 1e-9, 0.4 - 1e-9),
    ("40–69%", 0.4, 0.7 - 1e-9),
    ("70–99%", 0.7, 1 - 1e-9),
    ("100%", 1.0, 1.0),
)


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    color: str
    count: int
    label: str


def stacked_bar(counts, width, height=14):
    """One horizontal bar split by status, widths proportional to the counts."""
    total = sum(counts.values()) or 1
    bars, x = [], 0.0
    for status in STATUS_ORDER:
        n = counts.get(status, 0)
        if n:
            w = width * n / total
            bars.append(
                Bar(
                    round(x, 2),
                    0,
                    round(w, 2),
                    height,
                    STATUS_COLORS[status],
                    n,
                    STATUS_LABELS.get(status, status),
                )
            )
            x += w
    return bars


def score_bin(fraction):
    for label, low, high in SCORE_BINS:
        if low - 1e-12 <= fraction <= high + 1e-12:
            return label
    return SCORE_BINS[-1][0] if fraction > 1 else SCORE_BINS[0][0]


def histogram(counts, labels, width, height, color="#1565c0", gap=3, headroom=12):
    """Vertical bars for counts in the order of labels, scaled to the largest count, leaving
    `headroom` above the tallest for its count."""
    top = max((counts.get(label, 0) for label in labels), default=0) or 1
    step = width / max(len(labels), 1)
    bars = []
    for i, label in enumerate(labels):
        n = counts.get(label, 0)
        h = (height - headroom) * n / top
        bars.append(
            Bar(
                round(i * step + gap / 2, 2),
                round(height - h, 2),
                round(step - gap, 2),
                round(h, 2),
                color,
                n,
                label,
            )
        )
    return bars


def horizontal_bars(items, width, height=16, color="#c62828"):
    """[(label, count)] as horizontal bars, one per table row, scaled to the largest count."""
    top = max((n for _, n in items), default=0) or 1
    return [Bar(0, 0, round(width * n / top, 2), height, color, n, label) for label, n in items]
