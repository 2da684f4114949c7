"""Which of a member's posts the network takes: the registry's `only_topics` and `skip_topics`.

A blogger may write about public service and about their allotment on one blog. The registry
can name the topics (the feed's categories and tags) the network takes from that blog, and the
ones it never takes. Topics are compared as a reader would: case, accents, hyphens, underscores,
runs of spaces and "&" for "and" do not matter ("Local government" is "local-government",
"Économie" is "economie", "Health & care" is "Health and care"); letters beyond the Latin
alphabet are kept as they are. Every topic the entry
carries is looked at, not only the first few that become the post's tags.

A post left out is not written; a post already in the archive is never removed or changed by a
filter (a typo in members.yaml must not wipe a member's archive: taking posts down is
takedowns.yaml's job).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from aggregator.models import Member

_SEPARATORS = re.compile(r"[\s_\-]+")
_AND = re.compile(r"\s*&\s*")


def topic_key(text: str) -> str:
    """The form in which two topics are compared."""
    letters = unicodedata.normalize("NFKD", text.casefold())
    letters = "".join(c for c in letters if not unicodedata.combining(c))
    return _SEPARATORS.sub(" ", _AND.sub(" and ", letters)).strip()


def takes(member: Member, topics: Iterable[str]) -> bool:
    """Whether the network takes a post of `member` that carries `topics`."""
    if not member.only_topics and not member.skip_topics:
        return True
    keys = {topic_key(topic) for topic in topics}
    if keys & {topic_key(t) for t in member.skip_topics}:
        return False
    return not member.only_topics or bool(keys & {topic_key(t) for t in member.only_topics})
