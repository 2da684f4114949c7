"""The demo network built once per test session and worker, as `make demo` builds it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from demo.pipeline import build
from demo.server import FeedServer


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, FeedServer]]:
    """(work folder, feed server): fetched, built with Pelican and indexed by Pagefind."""
    workdir = tmp_path_factory.mktemp("demo")
    with FeedServer() as feeds:
        build(workdir, feeds)
        yield workdir, feeds
