"""The fixture site, built once per test module with real Pelican."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pelicanconf import PLUGINS
from tests.site import fake_threads
from tests.site.sitebuild import build_site


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The local build (pelicanconf.py: relative URLs, no feeds), with a stand-in thread.
    Its topics page is laid out as a large network's (most used, then A to Z), and its home
    page offers the weekly digest (so the browser tests check that box too)."""
    yield build_site(tmp_path_factory.mktemp("site"), PLUGINS=[*PLUGINS, fake_threads],
                     FAKE_THREADS=True, TOPICS_INDEX_FROM=3, TOPICS_MOST_USED=2,
                     DIGEST_FEED_ATOM="feeds/weekly.atom.xml",
                     DIGEST_SECTOR_FEED_ATOM="sectors/{slug}/weekly.atom.xml")
