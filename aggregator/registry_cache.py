"""The validated registry, remembered between runs while members.yaml is unchanged.

Validating members.yaml keeps every line number (ruamel's round-trip loader, in pure Python):
about half a second for a thousand members, which is a third of a fetch run in which every
feed answers 304. The result depends only on the file's bytes, the sector and region lists and
the validating code, so it is kept in var/ under a key made of all four, and used only when
the key matches. Like the state database it is a cache: deleting it costs one slower start.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from aggregator.models import Member

logger = logging.getLogger(__name__)

CACHE_NAME = "registry-cache.json"
_MEMBER_FIELDS = frozenset(f.name for f in fields(Member))


def _code_fingerprint() -> bytes:
    """The validating code itself: a change to it invalidates every cached registry."""
    from aggregator import members, models, selection, slugs

    digest = hashlib.sha256()
    for module in (members, models, selection, slugs):
        digest.update(Path(str(module.__file__)).read_bytes())
    return digest.digest()


def _key(text: bytes, sectors: Mapping[str, str] | None,
         regions: Mapping[str, str] | None) -> str:
    digest = hashlib.sha256(_code_fingerprint())
    digest.update(json.dumps([sorted(sectors or {}), sorted(regions or {})]).encode())
    digest.update(text)
    return digest.hexdigest()


def _decode(data: object) -> list[Member] | None:
    if not isinstance(data, list):
        return None
    members = []
    for item in data:
        if not isinstance(item, dict) or set(item) != _MEMBER_FIELDS:
            return None
        # JSON has no tuples: the topic filters come back as lists
        values: dict[str, Any] = {key: tuple(value) if isinstance(value, list) else value
                                  for key, value in item.items()}
        members.append(Member(**values))
    return members


def load_members_cached(path: Path, cache_dir: Path, *,
                        sectors: Mapping[str, str] | None = None,
                        regions: Mapping[str, str] | None = None) -> list[Member]:
    """`members.load_members(path, …)`, answered from `cache_dir` when nothing it depends on
    changed; a registry with errors is never cached, so its ConfigError is raised every time."""
    from aggregator.atomic import write_atomic
    from aggregator.errors import ConfigError, WriteError
    from aggregator.members import parse_members

    try:
        text = path.read_bytes()
    except FileNotFoundError as exc:
        raise ConfigError("registry file not found", path=str(path)) from exc
    except OSError as exc:
        raise ConfigError(f"cannot read the registry: {exc}", path=str(path)) from exc
    key = _key(text, sectors, regions)
    cache = cache_dir / CACHE_NAME
    try:
        saved = json.loads(cache.read_bytes())
        if isinstance(saved, dict) and saved.get("key") == key:
            cached = _decode(saved.get("members"))
            if cached is not None:
                return cached
    except (OSError, ValueError, TypeError):
        pass  # absent or damaged: validate the file
    try:
        decoded = text.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"cannot read the registry: {exc}", path=str(path)) from exc
    members = parse_members(decoded, path=str(path), sectors=sectors, regions=regions)
    try:
        write_atomic(cache, json.dumps({"key": key, "members": [asdict(m) for m in members]}))
    except WriteError as exc:
        logger.info("registry cache not written (the next run validates again): %s", exc)
    return members
