"""Which of a member's posts the network takes: topics compared as a reader would."""

from __future__ import annotations

import pytest

from aggregator.models import Member
from aggregator.selection import takes

BLOG = Member(id="jo", name="Jo", feed="https://jo.example/feed/")


@pytest.mark.parametrize(("only", "skip", "topics", "taken"), [
    ((), (), [], True),  # no filter: every post
    ((), (), ["Allotment"], True),
    (("Local government",), (), ["local-government"], True),
    (("Local government",), (), ["LOCAL_GOVERNMENT", "Cats"], True),
    (("Local government",), (), ["  local   government "], True),
    (("Local government",), (), ["Government"], False),  # a whole topic, not a word of it
    (("Local government",), (), [], False),  # an untagged post is outside every topic
    (("Housing", "Digital"), (), ["digital"], True),
    ((), ("Personal",), ["Digital", "personal"], False),
    ((), ("Personal",), [], True),
    (("Digital",), ("Personal",), ["Digital", "Personal"], False),  # never beats only
    (("Gofal cymdeithasol",), (), ["gofal-cymdeithasol"], True),
    (("Économie",), (), ["economie"], True),  # accents do not matter
    (("Health and care",), (), ["Health & care"], True),
    (("R&D",), (), ["r and d"], True),
    (("Здоровье",), (), ["здоровье"], True),  # letters beyond Latin are kept, not dropped
    (("Здоровье",), (), ["Образование"], False),
])
def test_takes(only: tuple[str, ...], skip: tuple[str, ...], topics: list[str],
               taken: bool) -> None:
    member = Member(id=BLOG.id, name=BLOG.name, feed=BLOG.feed, only_topics=only,
                    skip_topics=skip)
    assert takes(member, topics) is taken
