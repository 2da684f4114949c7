"""The member registry, `members.yaml`: loaded, validated, and reported with file:line.

Every problem in the file is collected and raised as one ConfigError, so that a maintainer
fixes them all in one pass; nothing is fetched from an invalid registry.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from aggregator.atomic import write_atomic
from aggregator.errors import ConfigError
from aggregator.models import Member
from aggregator.selection import topic_key
from aggregator.slugs import is_slug, slugify

logger = logging.getLogger(__name__)

KNOWN_KEYS = frozenset({"name", "feed", "id", "site", "organisation", "sector", "region",
                        "avatar", "content", "comments", "paused", "only_topics",
                        "skip_topics"})
_TEXT_MAX = 200
_TOPICS_MAX = 100


def normalise_feed_url(url: str) -> str:
    """The form two feed URLs are compared in: scheme and host lower-cased, default port and
    fragment dropped, and a trailing slash ignored."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    port = parts.port
    if port and not ((parts.scheme == "http" and port == 80) or
                     (parts.scheme == "https" and port == 443)):
        host = f"{host}:{port}"
    path = parts.path.rstrip("/") or "/"
    return urlunsplit((parts.scheme.lower(), host, path, parts.query, ""))


def is_http_url(value: object) -> bool:
    """True for an absolute http(s) URL with a host and no credentials or whitespace."""
    if not isinstance(value, str) or not value or any(c.isspace() for c in value):
        return False
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return False
    return (parts.scheme in ("http", "https") and bool(parts.hostname)
            and parts.username is None and parts.password is None)


class _Problems:
    """Collects problems with their line, raised together at the end."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.items: list[tuple[int | None, str | None, str]] = []

    def add(self, line: int | None, member: str | None, message: str) -> None:
        self.items.append((line, member, message))

    def raise_if_any(self) -> None:
        if not self.items:
            return
        self.items.sort(key=lambda item: item[0] or 0)
        line, member, message = self.items[0]
        if len(self.items) > 1:
            rest = "\n".join(
                f"  {self.path}:{ln if ln is not None else '?'}"
                f"{f' (member {m!r})' if m else ''}: {msg}"
                for ln, m, msg in self.items[1:])
            message = f"{message}\n{len(self.items) - 1} more problem(s):\n{rest}"
        raise ConfigError(message, path=self.path, line=line, member=member)


def _line_of(node: Any, key: str | int | None = None) -> int | None:
    """1-based line of a mapping (or of one of its keys / a list item) as ruamel saw it."""
    lc = getattr(node, "lc", None)
    if lc is None:
        return None
    try:
        if key is None:
            return int(lc.line) + 1
        if isinstance(key, int):
            return int(lc.item(key)[0]) + 1
        return int(lc.key(key)[0]) + 1
    except (KeyError, IndexError, TypeError, AttributeError):
        return int(lc.line) + 1


def parse_members(text: str, *, path: str = "members.yaml",
                  sectors: Mapping[str, str] | None = None,
                  regions: Mapping[str, str] | None = None) -> list[Member]:
    """Validate registry text. `sectors`/`regions`, when given, are the allowed slugs."""
    yaml = YAML(typ="rt")
    try:
        data = yaml.load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ConfigError(f"not valid YAML: {getattr(exc, 'problem', exc)}",
                          path=path, line=line) from exc
    if data is None:
        data = {"members": []}
    if not isinstance(data, Mapping) or "members" not in data:
        raise ConfigError("the file must be a mapping with a 'members:' list", path=path, line=1)
    extra = sorted(set(data) - {"members"})
    if extra:
        raise ConfigError(f"unknown top-level key(s): {', '.join(map(str, extra))}",
                          path=path, line=_line_of(data, extra[0]))
    items = data["members"] or []
    if not isinstance(items, list):
        raise ConfigError("'members:' must be a list", path=path, line=_line_of(data, "members"))

    problems = _Problems(path)
    members: list[Member] = []
    seen_ids: dict[str, int | None] = {}
    seen_feeds: dict[str, tuple[str, int | None]] = {}
    seen_names: dict[str, tuple[str, int | None]] = {}
    for index, item in enumerate(items):
        line = _line_of(items, index)
        member = _parse_one(item, line, problems, sectors, regions)
        if member is None:
            continue
        label = member.name
        if member.id in seen_ids:
            problems.add(line, label, f"duplicate id {member.id!r} (first used on line "
                                      f"{seen_ids[member.id]}); give one of them an explicit id")
            continue
        feed_key = normalise_feed_url(member.feed)
        if feed_key in seen_feeds:
            other, other_line = seen_feeds[feed_key]
            problems.add(line, label, f"duplicate feed {member.feed} (already member {other!r} "
                                      f"on line {other_line})")
            continue
        name_key = member.name.casefold()
        if name_key in seen_names:
            other, other_line = seen_names[name_key]
            problems.add(line, label, f"duplicate name (already member {other!r} on line "
                                      f"{other_line}); names are author names on the site and "
                                      "must differ, e.g. add the organisation")
            continue
        seen_ids[member.id] = line
        seen_feeds[feed_key] = (member.id, line)
        seen_names[name_key] = (member.id, line)
        members.append(member)
    problems.raise_if_any()
    return members


def _parse_one(item: Any, line: int | None, problems: _Problems,
               sectors: Mapping[str, str] | None,
               regions: Mapping[str, str] | None) -> Member | None:
    if not isinstance(item, Mapping):
        problems.add(line, None, "each member must be a mapping with at least name and feed")
        return None
    raw_name = item.get("name")
    label = raw_name if isinstance(raw_name, str) and raw_name.strip() else None
    errors_before = len(problems.items)

    def bad(key: str, message: str) -> None:
        problems.add(_line_of(item, key) if key in item else line, label, message)

    for key in sorted(set(map(str, item)) - KNOWN_KEYS):
        bad(key, f"unknown key {key!r} (known: {', '.join(sorted(KNOWN_KEYS))})")
    if label is None:
        bad("name", "missing 'name'")
    elif len(label) > _TEXT_MAX or "\n" in label:
        bad("name", "'name' must be one line of at most 200 characters")
    feed = item.get("feed")
    if feed is None:
        bad("feed", "missing 'feed'")
    elif not is_http_url(feed):
        bad("feed", f"'feed' must be an http(s) URL, not {feed!r}")
    for key in ("site", "avatar"):
        if item.get(key) is not None and not is_http_url(item.get(key)):
            bad(key, f"{key!r} must be an http(s) URL, not {item.get(key)!r}")
    member_id = item.get("id")
    if member_id is None and label is not None:
        member_id = slugify(label, max_length=64, fallback="member")
    elif member_id is not None and (not isinstance(member_id, str) or not is_slug(member_id,
                                                                              max_length=64)):
        bad("id", f"'id' must be lower-case letters, digits and hyphens, not {member_id!r}")
    for key in ("organisation", "region", "sector"):
        value = item.get(key)
        if value is not None and (not isinstance(value, str) or "\n" in value
                                  or len(value) > _TEXT_MAX):
            bad(key, f"{key!r} must be one line of text")
    sector = item.get("sector")
    if sectors is not None and sector is not None and sector not in sectors:
        bad("sector", f"unknown sector {sector!r} (known: {', '.join(sectors)})")
    region = item.get("region")
    if regions is not None and region is not None and region not in regions:
        bad("region", f"unknown region {region!r} (known: {', '.join(regions)})")
    content = item.get("content", "summary")
    if content not in ("summary", "full"):
        bad("content", f"'content' must be 'summary' or 'full', not {content!r}")
    for key in ("comments", "paused"):
        if key in item and not isinstance(item[key], bool):
            bad(key, f"{key!r} must be true or false, not {item[key]!r}")
    topics = {key: _topics(item, key, bad) for key in ("only_topics", "skip_topics")}
    if len(problems.items) > errors_before or label is None:
        return None
    return Member(
        id=str(member_id), name=label.strip(), feed=str(feed).strip(),
        site=item.get("site"), organisation=item.get("organisation"), sector=sector,
        region=region, avatar=item.get("avatar"), content=content,
        comments=item.get("comments", True), paused=item.get("paused", False),
        only_topics=topics["only_topics"], skip_topics=topics["skip_topics"], line=line)


def _topics(item: Mapping[str, Any], key: str,
            bad: Callable[[str, str], None]) -> tuple[str, ...]:
    """A topic filter (selection.py): a list of one-line topics, none of them empty."""
    value = item.get(key)
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]  # `only_topics: housing` means what it says
    if not isinstance(value, list) or not 0 < len(value) <= _TOPICS_MAX:
        bad(key, f"{key!r} must be a list of 1 to {_TOPICS_MAX} topics, not {value!r}")
        return ()
    topics = []
    for topic in value:
        if not isinstance(topic, str) or not topic_key(topic) or "\n" in topic \
                or len(topic) > _TEXT_MAX:
            bad(key, f"each of {key!r} must be a topic of one line, at most {_TEXT_MAX} "
                     f"characters, not {topic!r}")
            return ()
        topics.append(topic.strip())
    return tuple(topics)


def load_members(path: str | Path, *, sectors: Mapping[str, str] | None = None,
                 regions: Mapping[str, str] | None = None) -> list[Member]:
    """Read and validate the registry file; ConfigError names the file and line at fault."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError("registry file not found", path=str(path)) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the registry: {exc}", path=str(path)) from exc
    return parse_members(text, path=str(path), sectors=sectors, regions=regions)


def _render_items(items: list[dict[str, Any]], indent: int) -> str:
    """New registry entries as block YAML, each value quoted as YAML needs (never raw text)."""
    import io

    yaml = YAML(typ="rt")
    yaml.indent(mapping=2, sequence=indent + 2, offset=indent)
    yaml.width = 4096
    out = io.StringIO()
    yaml.dump(items, out)
    return out.getvalue()


def add_members(path: str | Path, entries: list[dict[str, Any]], *,
                sectors: Mapping[str, str] | None = None,
                regions: Mapping[str, str] | None = None) -> list[Member]:
    """Append entries to the registry, keeping its comments, order and formatting intact.

    The new file is validated as a whole before it replaces the old one (atomically), so a
    bad entry never reaches the registry. Returns the members as loaded from the new file.
    """
    path = Path(path)
    members: list[Member] = []

    def check(text: str) -> None:
        members[:] = parse_members(text, path=str(path), sectors=sectors, regions=regions)

    append_entries(path, "members", entries, check)
    return members


def append_entries(path: Path, key: str, entries: list[dict[str, Any]],
                   check: Callable[[str], object]) -> str:
    """Append entries to the block list under `key` in a YAML file (the registry, the takedown
    list), every other byte kept: comments, quotes, order, long lines. `check` is given the
    new text and raises if it is not valid; only then does it replace the old file
    (atomically). A file in another shape (a flow list, `key` not last) is written again
    whole by ruamel, its entries as they were (a comment on a flow list's line may go).
    Returns the new text."""
    text = path.read_text(encoding="utf-8") if path.exists() else f"{key}:\n"
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True  # for the file written again whole (below)
    data = yaml.load(text) if text.strip() else None
    if data is not None and not isinstance(data, Mapping):
        raise ConfigError(f"not a mapping with '{key}:'", path=str(path))
    items = data.get(key) if data is not None else None
    keys = list(data) if data is not None else []
    block = (items is not None and len(items) > 0 and hasattr(items, "fa")
             and not items.fa.flow_style() and bool(keys) and keys[-1] == key)
    if items is None and text.rstrip().endswith(f"{key}:"):
        block, items = True, []
    if block:
        indent = 2
        if items:
            first_line = text.splitlines()[_line_of(items, 0) - 1]  # type: ignore[operator]
            indent = len(first_line) - len(first_line.lstrip(" "))
        new_text = text.rstrip("\n") + "\n" + _render_items(entries, indent)
    elif data is None or key not in data:  # comments only, or other keys: the list added last
        new_text = (text.rstrip("\n") + "\n" if text.strip() else "") + f"{key}:\n" \
            + _render_items(entries, 2)
    else:
        import io

        yaml.indent(mapping=2, sequence=4, offset=2)
        yaml.width = 4096
        out = io.StringIO()
        yaml.dump({**data, key: list(data.get(key) or []) + entries}, out)
        new_text = out.getvalue()
    check(new_text)
    write_atomic(path, new_text)
    return new_text


def remove_member(path: str | Path, member_id: str, *,
                  sectors: Mapping[str, str] | None = None,
                  regions: Mapping[str, str] | None = None) -> str:
    """Take a member's entry out of the registry, with the notes right above it (comment
    lines with no blank line between) and the blank line that set it apart; every other line
    stays as it was. The new file is validated whole before it replaces the old one. Returns
    the removed lines; ConfigError if no entry has that id."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    members = parse_members(text, path=str(path), sectors=sectors, regions=regions)
    index = next((i for i, m in enumerate(members) if m.id == member_id), None)
    if index is None:
        raise ConfigError(f"no member with id {member_id!r}", path=str(path))
    items = YAML(typ="rt").load(text)["members"]
    lines = text.splitlines(keepends=True)
    start = (_line_of(items, index) or 1) - 1
    end = (_line_of(items, index + 1) or len(lines) + 1) - 1 if index + 1 < len(items) \
        else len(lines)
    while end > start + 1 and (not lines[end - 1].strip()
                               or lines[end - 1].lstrip().startswith("#")):
        end -= 1  # blank lines and comments before the next entry are that entry's
    if not lines[start].lstrip().startswith("-"):  # a flow-style list: not ours to cut
        raise ConfigError("members: is not a block list (one '- ' entry per member); remove "
                          f"{member_id!r} by hand", path=str(path))
    dash = len(lines[start]) - len(lines[start].lstrip(" "))
    while start > 0 and lines[start - 1].lstrip().startswith("#") \
            and len(lines[start - 1]) - len(lines[start - 1].lstrip(" ")) == dash:
        start -= 1  # the notes right above the entry (no blank line between) are about it
    before = lines[start - 1] if start else ""
    if (end == len(lines) or not lines[end].strip()) and (
            not before.strip() or before.rstrip().endswith(":")):
        # the blank line that set the entry apart goes with it: one after it, else (last
        # entry) one before it
        if end < len(lines):
            end += 1
        elif start and not before.strip():
            start -= 1
    new_text = "".join(lines[:start] + lines[end:])
    parse_members(new_text, path=str(path), sectors=sectors, regions=regions)
    write_atomic(path, new_text)
    return "".join(lines[start:end])
