"""What a page is made of, as a digest: equal digests mean the page would be written the same.

A page's key covers everything its template can show: the site-wide inputs (settings, theme,
plugin and aggregator code, the member registry, the avatars) and the page's own objects (the
article with its comment thread and neighbours, or the posts listed on a page of a list with the
page's links). Any value this module does not know how to digest makes the page unskippable
(`None`), so a new kind of input costs speed, never correctness.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

_PRIMITIVES = (str, int, float, bool, type(None), date, datetime)
DIGEST_ATTRIBUTE = "_incremental_digest"  # cached on each article for the build
NEIGHBOUR_ATTRIBUTE = "_incremental_link"  # its title and URL, cached for the build
OWN_ATTRIBUTE = "_incremental_own"  # cached on each article, and kept by the article store
URL_ATTRIBUTE = "_incremental_url"  # an article's final URL, remembered (generators.py)
SAVE_AS_ATTRIBUTE = "_incremental_save_as"  # and its final save_as


class Unkeyable(Exception):
    """A value whose content this module cannot vouch for: the page is rendered."""


def _hash(*parts: str) -> str:
    """The parts, each followed by a NUL, hashed (joined first: one update, not two a part)."""
    text = "\x00".join(parts) + "\x00" if parts else ""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=20).hexdigest()


def canonical(value: Any, *, depth: int = 0, lenient: bool = False) -> str:
    """A deterministic text for settings-like values (no memory addresses, sorted mappings).
    Functions and classes stand for their code, which the code digest covers. `lenient`
    (settings only): other objects (a module, a logging filter) stand for their type."""
    if depth > 20:
        raise Unkeyable("nested too deep")
    again = {"depth": depth + 1, "lenient": lenient}
    if isinstance(value, _PRIMITIVES):
        return repr(value)
    if isinstance(value, Path):
        return repr(str(value))
    if isinstance(value, Mapping):
        items = sorted((canonical(k, **again), canonical(v, **again))  # type: ignore[arg-type]
                       for k, v in value.items())
        return "{" + ",".join(f"{k}:{v}" for k, v in items) + "}"
    if isinstance(value, list | tuple | set | frozenset):
        parts = [canonical(v, **again) for v in value]  # type: ignore[arg-type]
        if isinstance(value, set | frozenset):
            parts.sort()
        return "[" + ",".join(parts) + "]"
    if callable(value) and hasattr(value, "__qualname__"):
        return f"<{getattr(value, '__module__', '?')}.{value.__qualname__}>"
    fields = getattr(value, "__dataclass_fields__", None)
    if fields is not None:
        return type(value).__name__ + canonical({f: getattr(value, f) for f in fields},
                                                **again)  # type: ignore[arg-type]
    if lenient:
        return f"<{type(value).__module__}.{type(value).__qualname__}>"
    raise Unkeyable(f"cannot digest a {type(value).__name__}")


# Settings that change how a build runs, never what it writes.
# NETWORK_TODAY, the build's date, is not one of them, but it is in the fingerprint and in the
# keys of the pages that show it (build.today): a new day is not a new site.
HOW_NOT_WHAT = frozenset({"BUILD_PROCESSES", "BUILD_PROCESS_MIN_PAGES", "LOAD_CONTENT_CACHE",
                          "CACHE_CONTENT", "CACHE_PATH", "GZIP_CACHE", "CHECK_MODIFIED_METHOD",
                          "CONTENT_CACHING_LAYER", "LOG_FILTER", "NETWORK_TODAY"})


def settings_digest(settings: Mapping[str, Any]) -> str:
    """Every setting that can change the output: not the private ones plugins keep there during
    a build (`_…`), not those in HOW_NOT_WHAT."""
    return _hash(canonical({k: v for k, v in settings.items() if isinstance(k, str)
                            and not k.startswith("_") and k not in HOW_NOT_WHAT}, lenient=True))


def tree_digest(folders: Iterable[Path], *, suffixes: tuple[str, ...] = ()) -> str:
    """The bytes of every file under the folders (sorted by path): theme and code."""
    h = hashlib.blake2b(digest_size=20)
    for folder in folders:
        if not folder.is_dir():
            h.update(f"missing:{folder}".encode())
            continue
        for root, dirs, files in os.walk(folder):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.startswith("."))
            for name in sorted(files):
                if suffixes and not name.endswith(suffixes):
                    continue
                path = Path(root) / name
                h.update(str(path.relative_to(folder)).encode("utf-8", "surrogateescape"))
                h.update(path.read_bytes())
    return h.hexdigest()


def _url_wrapper(value: Any) -> str:
    """A tag, category or author: what a page shows of it."""
    return f"{type(value).__name__}({value.name!r},{value.slug!r},{value.url!r})"


def own_digest(article: Any) -> str:
    """An article's own content and metadata, its URL and save_as: what follows from its file,
    the settings and the code (so the article store keeps it between builds: store.py).

    Computed once and kept on the article."""
    cached = article.__dict__.get(OWN_ATTRIBUTE)
    if cached is not None:
        return str(cached)
    metadata = getattr(article, "metadata", None) or {}
    # Metadata values are text, dates and Pelican's tags, categories and authors, whose repr is
    # their type and name (their slug and URL follow from the name, the settings and the
    # registry, all in the site key). Anything whose repr is not stable is spelled out.
    meta = [repr(sorted(metadata.items(), key=lambda item: str(item[0])))]
    if " at 0x" in meta[0]:
        meta = [f"{key}={value_digest(metadata[key])}" for key in sorted(metadata)]
    digest = _hash(type(article).__name__, str(getattr(article, "source_path", "")),
                   str(getattr(article, "_content", "")), *meta, str(article.url),
                   str(article.save_as), str(getattr(article, "status", "")))
    article.__dict__[OWN_ATTRIBUTE] = digest
    return digest


def article_digest(article: Any) -> str:
    """An article as lists and pages show it: its own digest and its comment count.

    Computed once per build and kept on the article."""
    state = article.__dict__
    cached = state.get(DIGEST_ATTRIBUTE)
    if cached is not None:
        return str(cached)
    digest = state[DIGEST_ATTRIBUTE] = _hash(own_digest(article),
                                             repr(getattr(article, "comment_count", None)))
    return digest


def thread_digest(roots: Iterable[Any] | None) -> str:
    """A comment tree as the article page shows it (authors, links, dates, bodies, nesting)."""
    h = hashlib.blake2b(digest_size=20)
    stack: list[tuple[Any, int]] = [(node, 0) for node in reversed(list(roots or []))]
    while stack:
        node, depth = stack.pop()
        fields = getattr(node, "__dataclass_fields__", None) or vars(node)
        children = list(getattr(node, "children", None) or [])
        for name in sorted(fields):
            if name != "children":
                h.update(f"{name}={getattr(node, name, None)!r}".encode("utf-8", "surrogatepass"))
                h.update(b"\x00")
        h.update(f"depth={depth};children={len(children)}\n".encode())
        stack.extend((child, depth + 1) for child in reversed(children))
    return h.hexdigest()


def neighbour_digest(article: Any | None) -> str:
    """The newer/older post links on an article page: a title and a URL (computed once per
    build and kept on the article: each is the neighbour of two others)."""
    if article is None:
        return "-"
    state = article.__dict__
    cached = state.get(NEIGHBOUR_ATTRIBUTE)
    if cached is None:
        cached = state[NEIGHBOUR_ATTRIBUTE] = _hash(str(article.title), str(article.url))
    return str(cached)


def value_digest(value: Any) -> str:
    """A page's own variable (a kwarg of write_file). Raises Unkeyable for unknown kinds."""
    if isinstance(getattr(value, "metadata", None), dict) and hasattr(value, "source_path"):
        return "A" + article_digest(value)
    if hasattr(value, "slug") and hasattr(value, "name") and hasattr(value, "url"):
        return _url_wrapper(value)
    if isinstance(value, list | tuple):
        return "[" + ",".join(value_digest(v) for v in value) + "]"
    return canonical(value)
