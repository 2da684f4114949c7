"""The aggregator's settings, read from the same pelicanconf.py that Pelican uses.

One file configures both halves, so `aggregator fetch` writes where `pelican` reads. Relative
paths are resolved against the folder of the settings file.
"""

from __future__ import annotations

import os
import runpy
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aggregator.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    """Everything a run needs to know that is not in the registry."""

    root: Path
    members_file: Path
    content_dir: Path
    state_path: Path
    site_name: str = "Public Sector Blogs"
    site_url: str = ""
    user_agent: str = "PublicSectorBlogsBot/0.1"
    concurrency: int = 50
    per_host: int = 4
    timeout: float = 30.0
    max_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    max_backoff: float = 24 * 3600.0
    summary_words: int = 60
    comments_max_age_days: int = 90
    takedowns_file: Path | None = None  # default: takedowns.yaml beside the registry
    submissions_dir: Path | None = None  # default: submissions/ beside the settings file
    submissions_rate_limit: int = 5  # per address, per window
    submissions_rate_window: float = 3600.0
    submissions_max_body: int = 16 * 1024
    submissions_join_url: str | None = None
    sectors: Mapping[str, str] = field(default_factory=dict)
    regions: Mapping[str, str] = field(default_factory=dict)


def find_settings_file() -> Path:
    """pelicanconf.py in the working folder, else the project's own."""
    env = os.environ.get("AGGREGATOR_SETTINGS")
    if env:
        return Path(env)
    here = Path.cwd() / "pelicanconf.py"
    return here if here.exists() else PROJECT_ROOT / "pelicanconf.py"


def load_settings(path: str | Path | None = None) -> Settings:
    """Read the settings file; ConfigError names it when it cannot be read."""
    conf = Path(path) if path is not None else find_settings_file()
    try:
        values: dict[str, Any] = runpy.run_path(str(conf))
    except FileNotFoundError as exc:
        raise ConfigError("settings file not found", path=str(conf)) from exc
    except Exception as exc:  # noqa: BLE001 - any error in user's settings file is a config error
        raise ConfigError(f"cannot load settings: {exc!r}", path=str(conf)) from exc
    root = conf.resolve().parent

    def path_of(key: str, default: str) -> Path:
        value = Path(str(values.get(key, default)))
        return value if value.is_absolute() else root / value

    return Settings(
        root=root,
        members_file=path_of("MEMBERS_FILE", "members.yaml"),
        content_dir=path_of("PATH", "content"),
        state_path=path_of("AGGREGATOR_STATE", "var/state.sqlite3"),
        site_name=str(values.get("SITENAME", Settings.site_name)),
        site_url=str(values.get("SITEURL", "")),
        user_agent=str(values.get("AGGREGATOR_USER_AGENT", Settings.user_agent)),
        concurrency=int(values.get("AGGREGATOR_CONCURRENCY", Settings.concurrency)),
        per_host=int(values.get("AGGREGATOR_PER_HOST", Settings.per_host)),
        timeout=float(values.get("AGGREGATOR_TIMEOUT", Settings.timeout)),
        max_bytes=int(values.get("AGGREGATOR_MAX_BYTES", Settings.max_bytes)),
        max_redirects=int(values.get("AGGREGATOR_MAX_REDIRECTS", Settings.max_redirects)),
        max_backoff=float(values.get("AGGREGATOR_MAX_BACKOFF", Settings.max_backoff)),
        summary_words=int(values.get("AGGREGATOR_SUMMARY_WORDS", Settings.summary_words)),
        comments_max_age_days=int(values.get("COMMENTS_MAX_AGE_DAYS",
                                             Settings.comments_max_age_days)),
        takedowns_file=path_of("TAKEDOWNS_FILE", "") if values.get("TAKEDOWNS_FILE") else None,
        submissions_dir=path_of("SUBMISSIONS_DIR", "submissions"),
        submissions_rate_limit=int(values.get("SUBMISSIONS_RATE_LIMIT",
                                              Settings.submissions_rate_limit)),
        submissions_rate_window=float(values.get("SUBMISSIONS_RATE_WINDOW",
                                                 Settings.submissions_rate_window)),
        submissions_max_body=int(values.get("SUBMISSIONS_MAX_BODY",
                                            Settings.submissions_max_body)),
        submissions_join_url=values.get("SUBMISSIONS_JOIN_URL") or None,
        sectors=dict(values.get("SECTORS", {})),
        regions=dict(values.get("REGIONS", {})),
    )


def takedowns_path(settings: Settings) -> Path:
    """The takedown list: TAKEDOWNS_FILE, else `takedowns.yaml` beside the registry."""
    return settings.takedowns_file or settings.members_file.parent / "takedowns.yaml"
