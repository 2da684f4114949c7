"""Are the pages the last build wrote still there, as it left them? Checked beside the build.

A page is skipped only if its file is still in the output folder with the size the last build
gave it (someone may have deleted or edited it). At 35,000 pages that is 35,000 `stat` calls,
close to half a second on this kind of machine. They run on a thread started when the build
starts: `os.stat` lets go of the interpreter while the kernel works, so the checks can overlap
with the reading of posts and comments, and are done (or nearly) when the writer first asks.
(Measured at 20,000 posts, the gain is within the noise of this machine: the walk of the
content folder, which the main thread does meanwhile, also waits on `stat`.)
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import Any


class OutputCheck:
    """rel path → is the file there with the size the manifest says; computed on a thread."""

    def __init__(self, output: str | os.PathLike[str], pages: Mapping[str, list[Any]]) -> None:
        self._root = os.path.abspath(output)
        self._pages = dict(pages)
        self._changed: set[str] = set()
        self._thread = threading.Thread(target=self._run, name="output-check", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        root, changed = self._root, self._changed
        try:
            for rel, entry in self._pages.items():
                try:
                    if os.stat(os.path.join(root, rel)).st_size != entry[1]:
                        changed.add(rel)
                except OSError:
                    changed.add(rel)
        except BaseException:  # noqa: BLE001 - not checked: nothing counts as intact
            self._pages = {}
            raise

    def intact(self, rel: str) -> bool:
        """The file is as the last build left it (True only for files the manifest lists)."""
        self._thread.join()  # returns at once when the checks have ended
        return rel in self._pages and rel not in self._changed

    def all_intact(self) -> bool:
        """Every file the last build wrote is still there, with its size (and there was one)."""
        self._thread.join()  # returns at once when the checks have ended
        return bool(self._pages) and not self._changed
