"""Bar charts as inline SVG, drawn at build time: no JavaScript, no request.

Built with ElementTree, so every label is escaped by the serializer. The chart carries its
figures as text (<title>, <desc>) for screen readers.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from aggregator.dates import as_utc

SVG_NS = "http://www.w3.org/2000/svg"


def _month_key(moment: datetime) -> tuple[int, int]:
    moment = as_utc(moment).astimezone(UTC)
    return moment.year, moment.month


def monthly_counts(articles: Iterable[Any], end: datetime | None = None,
                   months: int = 12) -> list[tuple[str, int]]:
    """Posts per month for the `months` months ending with `end`'s month (labels "Mar 2026").

    With `end` given, a post older than the first month is only compared, not placed in its
    month: the network page charts the last year of an archive of many years on every build."""
    if end is None:
        keys = [_month_key(a.date) for a in articles]
        year, month = max(keys) if keys else _month_key(datetime.now(UTC))
    else:
        year, month = _month_key(end)
        first_year, first_month = divmod(year * 12 + month - 1 - (months - 1), 12)
        start = datetime(first_year, first_month + 1, 1, tzinfo=UTC)
        keys = []
        for article in articles:  # every post of the archive: no call for an aware date
            date = article.date
            try:
                recent = date >= start
            except TypeError:  # naive: UTC
                recent = as_utc(date) >= start
            if recent:
                keys.append(_month_key(date))
    counts: dict[tuple[int, int], int] = {}
    for key in keys:
        counts[key] = counts.get(key, 0) + 1
    series = []
    for _ in range(months):
        label = datetime(year, month, 1).strftime("%b %Y")
        series.append((label, counts.get((year, month), 0)))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    series.reverse()
    return series


def bar_chart_svg(series: Sequence[tuple[str, int]], *, title: str, width: int = 480,
                  height: int = 160, chart_id: str = "chart") -> str:
    """An accessible SVG bar chart of (label, value) pairs, as a string."""
    ET.register_namespace("", SVG_NS)
    left, bottom, top = 8, 28, 18
    plot_h = height - bottom - top
    n = max(len(series), 1)
    slot = (width - 2 * left) / n
    peak = max((v for _, v in series), default=0) or 1
    figures = ", ".join(f"{label}: {value}" for label, value in series)
    svg = ET.Element(f"{{{SVG_NS}}}svg", {
        "viewBox": f"0 0 {width} {height}", "role": "img", "class": "chart",
        "aria-labelledby": f"{chart_id}-title {chart_id}-desc", "focusable": "false"})
    ET.SubElement(svg, f"{{{SVG_NS}}}title", {"id": f"{chart_id}-title"}).text = title
    ET.SubElement(svg, f"{{{SVG_NS}}}desc", {"id": f"{chart_id}-desc"}).text = figures
    ET.SubElement(svg, f"{{{SVG_NS}}}line", {
        "x1": str(left), "x2": str(width - left), "y1": str(top + plot_h),
        "y2": str(top + plot_h), "class": "chart-axis"})
    for i, (label, value) in enumerate(series):
        bar_h = round(plot_h * value / peak, 1)
        x = left + i * slot
        ET.SubElement(svg, f"{{{SVG_NS}}}rect", {
            "x": f"{x + slot * 0.15:.1f}", "y": f"{top + plot_h - bar_h:.1f}",
            "width": f"{slot * 0.7:.1f}", "height": f"{bar_h:.1f}", "class": "chart-bar"})
        if value:
            ET.SubElement(svg, f"{{{SVG_NS}}}text", {
                "x": f"{x + slot / 2:.1f}", "y": f"{top + plot_h - bar_h - 4:.1f}",
                "class": "chart-value", "text-anchor": "middle"}).text = str(value)
        if n <= 12 or i % max(n // 12, 1) == 0:
            ET.SubElement(svg, f"{{{SVG_NS}}}text", {
                "x": f"{x + slot / 2:.1f}", "y": str(height - 8), "class": "chart-label",
                "text-anchor": "middle"}).text = label.split(" ")[0]
    return ET.tostring(svg, encoding="unicode")
