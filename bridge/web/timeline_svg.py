"""The patient's timeline as an SVG drawn on the server: a pure function of a list of items.

Admissions (and the course) are bars, every other event a mark; overdue items are red. The
window is the last 12 months up to ``today``. No JavaScript is needed to see it, and the same
items are listed as text next to it for screen readers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from xml.sax.saxutils import escape, quoteattr

# Things with a duration are bars: admissions, and the nurse's course (enrollment) itself.
BAR_KINDS = frozenset({"admission", "enrollment"})
# Each kind of mark has its own lane, so marks on the same day do not hide each other.
DEFAULT_LANES: tuple[str, ...] = ("enrollment", "admission", "discharge", "meeting", "task", "flag")


@dataclass(frozen=True)
class TimelineItem:
    """One thing on the timeline; ``end`` None on an admission means it is still going on."""

    kind: str
    start: date
    end: date | None = None
    overdue: bool = False
    label: str = ""


@dataclass(frozen=True)
class TimelineLayout:
    width: int = 960
    lane_height: int = 26
    left: int = 110  # room for the lane names
    right: int = 16
    top: int = 8
    axis_height: int = 24


def window(today: date, months: int = 12) -> tuple[date, date]:
    """The first and last day shown: the same day ``months`` months ago, through today."""
    year, month = today.year, today.month - months
    while month <= 0:
        month += 12
        year -= 1
    day = min(today.day, _days_in_month(year, month))
    return date(year, month, day), today


def _days_in_month(year: int, month: int) -> int:
    nxt = date(year + month // 12, month % 12 + 1, 1)
    return (nxt - timedelta(days=1)).day


def _month_starts(first: date, last: date) -> list[date]:
    d = date(first.year, first.month, 1)
    if d < first:
        d = date(d.year + d.month // 12, d.month % 12 + 1, 1)
    out = []
    while d <= last:
        out.append(d)
        d = date(d.year + d.month // 12, d.month % 12 + 1, 1)
    return out


def draw_timeline(
    items: Sequence[TimelineItem],
    today: date,
    *,
    lane_names: dict[str, str] | None = None,
    month_names: Sequence[str] | None = None,
    title: str = "Timeline",
    months: int = 12,
    layout: TimelineLayout | None = None,
) -> str:
    """SVG markup for ``items`` over the ``months`` months up to ``today`` (text is escaped).

    ``lane_names`` maps a kind to its (translated) lane label; ``month_names`` are the twelve
    (translated) month abbreviations, January first.
    """
    lay = layout or TimelineLayout()
    first, last = window(today, months)
    span = (last - first).days or 1
    plot_w = lay.width - lay.left - lay.right
    names = lane_names or {}
    months_abbr = list(month_names or ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug",
                                       "Sep", "Oct", "Nov", "Dec"])  # fmt: skip
    visible = [i for i in items if overlaps(i, first, last)]
    lanes = [k for k in DEFAULT_LANES if k in names or any(i.kind == k for i in visible)]
    lanes += sorted({i.kind for i in visible} - set(lanes))
    lane_y = {k: lay.top + n * lay.lane_height for n, k in enumerate(lanes)}
    height = lay.top + max(len(lanes), 1) * lay.lane_height + lay.axis_height

    def x(d: date) -> float:
        d = min(max(d, first), last)
        return round(lay.left + plot_w * (d - first).days / span, 1)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" role="img" '
        f'viewBox="0 0 {lay.width} {height}" width="100%" preserveAspectRatio="xMinYMin meet" '
        f"aria-label={quoteattr(title)}>",
        f"<title>{escape(title)}</title>",
    ]
    axis_y = lay.top + max(len(lanes), 1) * lay.lane_height
    for kind, y in lane_y.items():
        parts.append(
            f'<text class="tl-lane" x="{lay.left - 8}" y="{y + lay.lane_height / 2 + 4}" '
            f'text-anchor="end">{escape(names.get(kind, kind))}</text>'
        )
        parts.append(
            f'<line class="tl-grid" x1="{lay.left}" x2="{lay.width - lay.right}" '
            f'y1="{y + lay.lane_height}" y2="{y + lay.lane_height}"/>'
        )
    for m in _month_starts(first, last):
        mx = x(m)
        parts.append(f'<line class="tl-month" x1="{mx}" x2="{mx}" y1="{lay.top}" y2="{axis_y}"/>')
        label = months_abbr[m.month - 1] + (f" {m.year}" if m.month == 1 else "")
        parts.append(f'<text class="tl-axis" x="{mx + 3}" y="{axis_y + 16}">{escape(label)}</text>')
    tx = x(today)
    parts.append(f'<line class="tl-today" x1="{tx}" x2="{tx}" y1="{lay.top}" y2="{axis_y}"/>')
    for item in sorted(visible, key=lambda i: (i.start, i.kind)):
        y = lane_y[item.kind]
        css = "tl-item tl-" + _css_token(item.kind) + (" tl-overdue" if item.overdue else "")
        tip = f"<title>{escape(item.label)}</title>" if item.label else ""
        if item.kind in BAR_KINDS:
            x1, x2 = x(item.start), x(item.end or today)
            w = max(x2 - x1, 3)
            parts.append(
                f'<rect class="{css}" x="{x1}" y="{y + 6}" width="{round(w, 1)}" '
                f'height="{lay.lane_height - 12}" rx="3">{tip}</rect>'
            )
        else:
            cx, cy = x(item.start), y + lay.lane_height / 2
            r = 6
            # A diamond: readable without colour, so red is not the only sign of "overdue".
            pts = f"{cx},{cy - r} {cx + r},{cy} {cx},{cy + r} {cx - r},{cy}"
            parts.append(f'<polygon class="{css}" points="{pts}">{tip}</polygon>')
            if item.overdue:
                parts.append(
                    f'<text class="tl-overdue-mark" x="{cx + r + 2}" y="{cy + 4}">!</text>'
                )
    parts.append("</svg>")
    return "".join(parts)


def overlaps(item: TimelineItem, first: date, last: date) -> bool:
    """Whether ``item`` shows between ``first`` and ``last``; a bar without an end still runs."""
    end = item.end or (last if item.kind in BAR_KINDS else item.start)
    return item.start <= last and end >= first


def _css_token(kind: str) -> str:
    return "".join(c if c.isalnum() or c == "-" else "-" for c in kind.lower())
