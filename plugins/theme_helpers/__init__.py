"""Pelican plugin: the theme's Jinja filters (http_url, initials, excerpt, monthly_counts,
bar_chart, most_used, by_initial), added to every generator's environment on generator_init."""

from __future__ import annotations

from typing import Any

from pelican import signals

from .charts import monthly_counts
from .filters import bar_chart, excerpt, http_url, initials
from .topics import by_initial, most_used


def add_filters(generator: Any) -> None:
    generator.env.filters.update({
        "http_url": http_url,
        "initials": initials,
        "excerpt": excerpt,
        "monthly_counts": monthly_counts,
        "bar_chart": bar_chart,
        "most_used": most_used,
        "by_initial": by_initial,
    })


def register() -> None:
    signals.generator_init.connect(add_filters)
