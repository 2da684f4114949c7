"""Pelican plugin: `/members.opml` (every member feed, by sector) and one OPML per sector.

Reads the `network_directory` that plugins/members_directory puts in the context (list it
before this plugin in PLUGINS). Paths from OPML_SAVE_AS and OPML_SECTOR_SAVE_AS.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from pelican import signals
from pelican.generators import Generator

from aggregator.atomic import write_atomic

from .build import opml_document

logger = logging.getLogger(__name__)


class OpmlGenerator(Generator):
    """Writes the OPML files after every context is built."""

    def generate_context(self) -> None:
        pass

    def _write(self, relative: str, data: bytes) -> None:
        path = os.path.join(self.output_path, relative)
        write_atomic(Path(path), data)  # never half-written, even by a killed build
        logger.info("Writing %s", path)

    def generate_output(self, writer: Any) -> None:
        directory = self.context.get("network_directory")
        if directory is None:
            logger.warning("opml: no network_directory in the context; is members_directory "
                           "listed before opml in PLUGINS?")
            return
        site = str(self.settings.get("SITENAME", "Members"))
        owner = self.settings.get("SITE_CONTACT_URL")
        save_as = self.settings.get("OPML_SAVE_AS", "members.opml")
        if save_as:
            self._write(save_as, opml_document(
                f"{site}: every member", [(g.name, g.entries) for g in directory],
                owner=owner, docs_url="https://opml.org/spec2.opml"))
        sector_save_as = self.settings.get("OPML_SECTOR_SAVE_AS")
        if sector_save_as:
            for group in directory:
                self._write(sector_save_as.format(slug=group.slug), opml_document(
                    f"{site}: {group.name}", [(group.name, group.entries)], owner=owner,
                    docs_url="https://opml.org/spec2.opml"))


def get_generators(pelican: Any) -> type[OpmlGenerator] | None:
    """Only for builds that list this plugin: signal receivers outlive a build in one process
    (tests, `pelican --autoreload`), and another build's settings may not suit it."""
    names = {str(name).rsplit(".", 1)[-1] for name in pelican.settings.get("PLUGINS") or []}
    return OpmlGenerator if "opml" in names else None


def register() -> None:
    signals.get_generators.connect(get_generators)
