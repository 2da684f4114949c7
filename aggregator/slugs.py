"""Slugs: the only strings from a feed that ever become part of a path or URL.

A slug is ASCII lower-case letters, digits and single hyphens, never empty, never longer than
the cap, so it cannot hold `..`, a separator, NUL, a drive or a device name.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
# Windows device names: harmless on Linux, but a checkout on Windows must not choke on them.
_RESERVED = frozenset({"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)),
                       *(f"lpt{i}" for i in range(10))})


def slugify(text: str, *, max_length: int = 60, fallback: str = "post") -> str:
    """Turn any text into a slug; `fallback` when nothing usable is left."""
    text = text.replace("'", "").replace("\u2019", "")  # "isn't" → "isnt", not "isn-t"
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = _NON_ALNUM.sub("-", ascii_text.lower()).strip("-")
    if len(slug) > max_length:
        cut = slug[:max_length]
        slug = cut.rsplit("-", 1)[0] if "-" in cut else cut
        slug = slug.strip("-")
    if not slug:
        slug = fallback
    if slug in _RESERVED:
        slug = f"{slug}-{fallback}"
    return slug


def is_slug(text: str, *, max_length: int = 120) -> bool:
    """True for a string that is safe as a path component and a URL segment."""
    return bool(SLUG_RE.match(text)) and len(text) <= max_length and text not in _RESERVED


def short_hash(text: str, length: int = 6) -> str:
    """A short, stable hex digest, for telling apart two things with the same slug."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:length]
