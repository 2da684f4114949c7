"""Build with the class the settings name (PELICAN_CLASS), as `pelican` on the command line does.

The project's build class is plugins.IncrementalPelican (stable pagination, skipped unchanged
pages); `Pelican(settings).run()` would bypass it and build a different site.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from pelican import Pelican


def pelican_class(settings: Mapping[str, Any]) -> type[Pelican]:
    cls = settings.get("PELICAN_CLASS") or Pelican
    if isinstance(cls, str):
        module, name = cls.rsplit(".", 1)
        cls = getattr(importlib.import_module(module), name)
    assert isinstance(cls, type) and issubclass(cls, Pelican), cls
    return cls


def run_pelican(settings: dict[str, Any]) -> Pelican:
    """Build the site; return the Pelican object (its writer and generators, for tests)."""
    pelican = pelican_class(settings)(settings)
    pelican.run()
    return pelican
