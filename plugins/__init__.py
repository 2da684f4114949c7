"""The site's Pelican plugins (each folder one plugin, listed in PLUGINS) and the build class.

`PELICAN_CLASS = "plugins.IncrementalPelican"` in pelicanconf.py: Pelican imports the module
named before the last dot and takes the attribute, so the class is offered here, imported only
when asked for (the aggregator reads pelicanconf.py too and never needs Pelican's build).
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "IncrementalPelican":
        from plugins.incremental.build import IncrementalPelican

        return IncrementalPelican
    raise AttributeError(f"module 'plugins' has no attribute {name!r}")
