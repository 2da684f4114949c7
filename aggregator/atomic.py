"""Atomic file replacement: a killed run leaves the old file or the new one, never half of one.

Every file the aggregator writes (posts, comments, the registry, the submissions queue) goes
through `write_atomic`.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from aggregator.errors import WriteError

logger = logging.getLogger(__name__)

__all__ = ["remove_stale_temp_files", "write_atomic"]


def write_atomic(path: Path, text: str | bytes) -> bool:
    """Write `text` (UTF-8 when a str) to `path` unless it already holds exactly that. True if
    written.

    The bytes go to a temporary file in the same folder, which then replaces the target in
    one rename: a run killed at any moment leaves the old file or the new one, never half.
    """
    data = text.encode("utf-8") if isinstance(text, str) else text
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise WriteError(f"{path}: cannot read the existing file: {exc}") from exc
    tmp_name = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, path)
        tmp_name = None
    except OSError as exc:
        raise WriteError(f"{path}: cannot write ({exc.strerror or exc}); "
                         "the previous version, if any, is untouched") from exc
    finally:
        if tmp_name is not None:
            try:
                os.unlink(tmp_name)
            except OSError:
                pass
    return True


def remove_stale_temp_files(root: Path) -> Iterator[Path]:
    """Temporary files left by a killed run (`.name.tmp` beside the files it was writing):
    removed at the start of the next one. Walks with os.walk, which does not stat every one of
    50,000 files as Path.rglob does."""
    if not root.is_dir():
        return
    for folder, _dirs, names in os.walk(root):
        for name in names:
            if name.startswith(".") and name.endswith(".tmp"):
                stale = Path(folder, name)
                try:
                    stale.unlink()
                    yield stale
                except OSError:
                    logger.warning("%s: stale temporary file could not be removed", stale)
