"""Shared fixtures: a real loopback HTTP server, per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.httpserver import LoopbackServer


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    """An HTTP server on 127.0.0.1 with no routes yet; set `server.routes[path] = Reply(...)`."""
    with LoopbackServer() as srv:
        yield srv
