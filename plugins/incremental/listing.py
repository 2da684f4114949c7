"""The content folder, listed once per build: every file's size, modification time and inode.

A publish at 20,000 posts and 60,000 comments has 80,000 files to check, and on this kind of
machine a `stat` costs several microseconds. The build's fingerprint needs all of them; so do
the article store (is this post the one it kept?), Pelican's file list and the comment plugin
(is this folder the one it kept?). Listing the folder once and handing the result to each of
them (through the settings, under LISTING_KEY) makes that one walk instead of four.

Anything the listing cannot vouch for sends its users back to the file system: a path outside
the folder, or a tree with symbolic links (Pelican follows them; this walk does not).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

LISTING_KEY = "_incremental_content_listing"  # settings: this build's ContentListing
Stamp = tuple[int, int, int]  # size, mtime_ns, inode


class ContentListing:
    """Folder → its files and their stamps, for one folder and everything under it."""

    def __init__(self, root: str) -> None:
        self.root = root
        # relative folder ('/'-separated, '' for the root) → its files' names and stamps
        self.folders: dict[str, list[tuple[str, Stamp]]] = {}
        self._by_name: dict[str, dict[str, Stamp]] = {}  # made per folder when asked
        self.has_links = False  # a symbolic link anywhere: users do their own listing

    @classmethod
    def scan(cls, folder: Path | str) -> ContentListing:
        """Walk the folder: one `stat` per file, none per folder (the entry says it is one).
        Nothing else is done per file here: at 80,000 files, each step costs a tenth of a
        second (the `stat` calls themselves cost a third of one)."""
        listing = cls(os.path.normpath(str(folder)))
        folders, root = listing.folders, listing.root
        stack = [""]
        while stack:
            rel = stack.pop()
            names: list[tuple[str, Stamp]] = []
            folders[rel] = names
            prefix = f"{rel}/" if rel else ""
            try:
                with os.scandir(os.path.join(root, rel) if rel else root) as entries:
                    for entry in entries:
                        if entry.is_dir(follow_symlinks=False):
                            stack.append(prefix + entry.name)
                            continue
                        if entry.is_symlink():
                            listing.has_links = True
                        try:
                            stat = entry.stat(follow_symlinks=False)
                        except OSError:
                            continue
                        names.append((entry.name, (stat.st_size, stat.st_mtime_ns,
                                                   stat.st_ino)))
            except OSError:
                continue  # unreadable: its files are not listed (the fingerprint shows it)
        return listing

    def file(self, rel: str) -> Stamp | None:
        """The stamp of a file by its relative path ('/'-separated); None if not listed."""
        folder, _, name = rel.rpartition("/")
        names = self._by_name.get(folder)
        if names is None:
            listed = self.folders.get(folder)
            if listed is None:
                return None
            names = self._by_name[folder] = dict(listed)
        return names.get(name)

    def digest(self) -> str:
        """Every file by path, size, modification time and inode (a file renamed over another
        is new, whatever its size and time)."""
        h = hashlib.blake2b(digest_size=20)
        h.update(b"links\n" if self.has_links else b"")
        for rel in sorted(self.folders):
            prefix = f"{rel}/" if rel else ""
            h.update("".join(f"{prefix}{name}\0{size}\0{mtime}\0{inode}\n" for name,
                             (size, mtime, inode) in sorted(self.folders[rel]))
                     .encode("utf-8", "surrogateescape"))
        return h.hexdigest()

    def relative(self, path: str | Path) -> str | None:
        """`path` under the root, '/'-separated; None if outside it or the tree has links."""
        if self.has_links:
            return None
        path = str(path)
        if "/." in path or "//" in path or path.endswith("/") or os.sep != "/":
            path = os.path.normpath(path)  # else it is normal already (normpath costs)
        if path == self.root:
            return ""
        if not path.startswith(self.root + os.sep):
            return None
        return path[len(self.root) + 1:].replace(os.sep, "/")

    def stamp(self, path: str | Path) -> Stamp | None | bool:
        """The file's stamp; None if the walk found no such file; False if the listing cannot
        say (outside the folder, or links): look at the file itself."""
        rel = self.relative(path)
        if rel is None:
            return False
        return self.file(rel)

    def folder(self, path: str | Path) -> list[tuple[str, Stamp]] | None:
        """The files directly in a folder, with their stamps (not to be changed); None if the
        listing cannot say (not listed, outside the root, links)."""
        rel = self.relative(path)
        if rel is None:
            return None
        return self.folders.get(rel)

    def subfolders(self, path: str | Path) -> list[str] | None:
        """The names of the folders directly in a folder; None if the listing cannot say."""
        rel = self.relative(path)
        if rel is None or rel not in self.folders:
            return None
        prefix = f"{rel}/" if rel else ""
        start = len(prefix)
        return [name[start:] for name in self.folders if name.startswith(prefix)
                and name != rel and "/" not in name[start:]]

    def files_under(self, rel_folders: Iterable[str]) -> list[str] | None:
        """Every file under the given folders (relative, as Pelican's *_PATHS), each once;
        None if the listing cannot say."""
        if self.has_links:
            return None
        found: list[str] = []
        for folder in rel_folders:
            folder = os.path.normpath(folder).replace(os.sep, "/").strip("/")
            if folder in ("", "."):
                return None  # the whole content folder: Pelican's own rules, its own walk
            if folder.startswith(".."):
                return None
            prefix = folder + "/"
            for rel in self.folders:
                if rel == folder or rel.startswith(prefix):
                    found.extend(f"{rel}/{name}" for name, _stamp in self.folders[rel])
        return list(dict.fromkeys(found))
