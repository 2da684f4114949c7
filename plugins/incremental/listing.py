"""The content folder, listed once per build: every file's size, modification time and inode.

A publish at 20,000 posts and 60,000 comments has 80,000 files to check, and on this kind of
machine a `stat` costs several microseconds. The build's fingerprint needs all of them; so do
the article store (is this post the one it kept?), Pelican's file list and the comment plugin
(is this folder the one it kept?). Listing the folder once and handing the result to each of
them (through the settings, under LISTING_KEY) makes that one walk instead of four.

Anything the listing cannot vouch for sends its users back to the file system: a path outside
the folder, or a tree with symbolic links (Pelican follows them; this walk does not).

A publish walks one top-level folder (the comments: three files in four) in another process
(`scan(..., apart=...)`, `expect`): this one goes on with the posts while it is walked, and
waits for it only when something asks for a file there. The digest is made per top-level
folder, so it is the same however the walk was shared out.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path

logger = logging.getLogger(__name__)

LISTING_KEY = "_incremental_content_listing"  # settings: this build's ContentListing
Stamp = tuple[int, int, int]  # size, mtime_ns, inode
Folders = dict[str, list[tuple[str, Stamp]]]
# What a walk of one top-level folder gives (`walk_part`): its folders, its digest, whether it
# has symbolic links.
Part = tuple[Folders, str, bool]
Walked = tuple[Folders, bool]  # what `walk_rest` gives: its folders, whether it met a link


class ContentListing:
    """Folder → its files and their stamps, for one folder and everything under it."""

    def __init__(self, root: str) -> None:
        self.root = root
        # relative folder ('/'-separated, '' for the root) → its files' names and stamps
        self._folders: Folders = {}
        self._by_name: dict[str, dict[str, Stamp]] = {}  # made per folder when asked
        self._links = False  # a symbolic link anywhere: users do their own listing
        self._digests: dict[str, str] = {}  # top-level folder → digest of a part walked apart
        self._apart: str | None = None  # a top-level folder being walked elsewhere
        self._pending: Callable[[], Part] | None = None  # waits for that walk
        self._pending_digest: Callable[[], str] | None = None  # waits for its digest only
        self._only: str | None = None  # of_part: the one top-level folder listed

    @property
    def folders(self) -> Folders:
        self._complete()
        return self._folders

    def read_ahead(self) -> int:
        """Ask the system to read every listed file into its cache (`posix_fadvise`, which
        returns at once): a full build reads them all, the 60,000 comment files last, and
        reads them one by one. With the caches reclaimed, the comments took 10.7 s to read
        instead of 4.8 s, and the build waited for them. How many files were asked for."""
        advise = getattr(os, "posix_fadvise", None)
        if advise is None:
            return 0
        asked = 0
        # not blocking: a named pipe among the files would otherwise wait for a writer
        flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0) \
            | getattr(os, "O_NONBLOCK", 0)
        for rel, names in self.folders.items():
            folder = os.path.join(self.root, rel) if rel else self.root
            for name, _stamp in names:
                try:
                    fd = os.open(os.path.join(folder, name), flags)
                except OSError:
                    continue
                try:
                    advise(fd, 0, 0, os.POSIX_FADV_WILLNEED)
                    asked += 1
                except OSError:
                    pass
                finally:
                    os.close(fd)
        return asked

    @property
    def has_links(self) -> bool:
        self._complete()
        return self._links

    @classmethod
    def scan(cls, folder: Path | str, *, apart: str | None = None,
             walked: Walked | None = None) -> ContentListing:
        """Walk the folder, but for the top-level folder `apart` (walked by `walk_part`
        elsewhere and handed over with `expect`); `walked`: what `walk_rest` found, in
        another process, instead of walking here."""
        listing = cls(os.path.normpath(str(folder)))
        listing._folders, listing._links = walked if walked is not None else \
            cls.walk_rest(listing.root, apart)
        listing._apart = apart
        return listing

    @classmethod
    def walk_rest(cls, folder: Path | str, apart: str | None) -> Walked:
        """What `scan(folder, apart=apart)` walks itself: for a scan given it from another
        process (ahead.py `walk_early`)."""
        found: Folders = {}
        return found, _walk(os.path.normpath(str(folder)), "", found, skip=apart)

    @classmethod
    def walk_part(cls, folder: Path | str, top: str) -> Part:
        """The part of a walk `scan(folder, apart=top)` leaves out (in another process)."""
        found: Folders = {}
        root = os.path.normpath(str(folder))
        path = os.path.join(root, top)
        links = os.path.isdir(path) and not os.path.islink(path) and \
            _walk(root, top, found, skip=None)
        return found, _part_digest(found), links

    @classmethod
    def of_part(cls, folder: Path | str, top: str, part: Part) -> ContentListing:
        """A listing of one top-level folder only, from `walk_part` (it vouches for
        nothing outside that folder)."""
        listing = cls(os.path.normpath(str(folder)))
        listing._folders, listing._digests[top], listing._links = part
        listing._apart, listing._only = top, top
        return listing

    def expect(self, part: Callable[[], Part], digest: Callable[[], str] | None = None) -> None:
        """`part()` gives the folder left out of the walk (waiting for it) when asked;
        `digest()`, if given, only its digest (sooner, and without its files)."""
        self._pending = part
        self._pending_digest = digest

    def _complete(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None and self._apart is not None:
            try:
                found, digest, links = pending()
            except RuntimeError as exc:  # walked here instead
                logger.warning("%s/%s not walked in another process, walked now: %s",
                               self.root, self._apart, exc)
                found, digest, links = self.walk_part(self.root, self._apart)
            self._folders.update(found)
            self._links = self._links or links
            self._digests[self._apart] = digest

    def _outside_apart(self, rel: str) -> bool:
        """`rel` is not under the folder walked apart (so no need to wait for it)."""
        return self._apart is None or not _under(rel, self._apart)

    def file(self, rel: str) -> Stamp | None:
        """The stamp of a file by its relative path ('/'-separated); None if not listed."""
        folder, _, name = rel.rpartition("/")
        names = self._by_name.get(folder)
        if names is None:
            if self._pending is not None and not self._outside_apart(folder):
                self._complete()
            listed = self._folders.get(folder)
            if listed is None:
                return None
            names = self._by_name[folder] = dict(listed)
        return names.get(name)

    def digest(self, *, leave_out: str | None = None) -> str:
        """Every file by path, size, modification time and inode (a file renamed over another
        is new, whatever its size and time), made per top-level folder; `leave_out`: but
        that folder's (if it is the one walked apart, no waiting for it)."""
        if leave_out is None or leave_out != self._apart:
            self._complete()
        parts: dict[str, Folders] = {}
        for rel, names in self._folders.items():
            top = rel.partition("/")[0]
            if top != leave_out:
                parts.setdefault(top, {})[rel] = names
        h = hashlib.blake2b(digest_size=20)
        h.update(b"links\n" if self._links else b"")
        for top in sorted(parts):
            h.update(f"{top}\0{self._digests.get(top) or _part_digest(parts[top])}\n"
                     .encode("utf-8", "surrogateescape"))
        return h.hexdigest()

    def part_digest(self, top: str) -> str:
        """The digest of one top-level folder's files (waiting for it if it is walked apart)."""
        if top == self._apart and top not in self._digests and self._pending is not None \
                and self._pending_digest is not None:
            try:
                self._digests[top] = self._pending_digest()
            except RuntimeError:  # the whole part is asked for (and walked here if need be)
                self._pending_digest = None
        if top not in self._digests:
            self._complete()
        if top in self._digests:
            return self._digests[top]
        return _part_digest({rel: names for rel, names in self._folders.items()
                             if _under(rel, top)})

    def vouches_for(self, rel: str) -> bool:
        """The listing can say what is at `rel` (relative, '/'-separated): no symbolic link
        was met (under the folder walked apart, once it is handed over; elsewhere, by this
        process's walk: a link there cannot change what is listed here)."""
        if self._links or (self._only is not None and not _under(rel, self._only)):
            return False
        if self._pending is not None and not self._outside_apart(rel):
            self._complete()
            return not self._links
        return True

    def relative(self, path: str | Path) -> str | None:
        """`path` under the root, '/'-separated; None if outside it or the tree has links."""
        path = str(path)
        if "/." in path or "//" in path or path.endswith("/") or os.sep != "/":
            path = os.path.normpath(path)  # else it is normal already (normpath costs)
        if path == self.root:
            rel = ""
        elif not path.startswith(self.root + os.sep):
            return None
        else:
            rel = path[len(self.root) + 1:].replace(os.sep, "/")
        return rel if self.vouches_for(rel) else None

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
        found: list[str] = []
        for folder in rel_folders:
            folder = os.path.normpath(folder).replace(os.sep, "/").strip("/")
            if folder in ("", "."):
                return None  # the whole content folder: Pelican's own rules, its own walk
            if folder.startswith("..") or not self.vouches_for(folder):
                return None
            for rel, names in self._folders.items():
                if _under(rel, folder):
                    found.extend(f"{rel}/{name}" for name, _stamp in names)
        return list(dict.fromkeys(found))


def _under(rel: str, folder: str) -> bool:
    """`rel` is `folder` or inside it (both relative, '/'-separated)."""
    return rel == folder or rel.startswith(folder + "/")


def _walk(root: str, start: str, folders: Folders, *, skip: str | None) -> bool:
    """Walk `root`/`start` into `folders`: one `stat` per file, none per folder (the entry says
    it is one). Nothing else is done per file here: at 80,000 files, each step costs a tenth
    of a second (the `stat` calls themselves cost a third of one). True if it met a link."""
    links = False
    stack = [start]
    while stack:
        rel = stack.pop()
        names: list[tuple[str, Stamp]] = []
        folders[rel] = names
        prefix = f"{rel}/" if rel else ""
        try:
            with os.scandir(os.path.join(root, rel) if rel else root) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        if prefix or entry.name != skip:
                            stack.append(prefix + entry.name)
                        continue
                    if entry.is_symlink():
                        links = True
                    try:
                        stat = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    names.append((entry.name, (stat.st_size, stat.st_mtime_ns,
                                               stat.st_ino)))
        except OSError:
            continue  # unreadable: its files are not listed (the fingerprint shows it)
    return links


def _part_digest(folders: Folders) -> str:
    """The digest of some folders' files (each by path, size, modification time, inode)."""
    h = hashlib.blake2b(digest_size=20)
    for rel in sorted(folders):
        prefix = f"{rel}/" if rel else ""
        h.update("".join(f"{prefix}{name}\0{size}\0{mtime}\0{inode}\n" for name,
                         (size, mtime, inode) in sorted(folders[rel]))
                 .encode("utf-8", "surrogateescape"))
    return h.hexdigest()
