"""The registry: every mistake is reported with file, line and member; nothing half-loaded."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator.errors import ConfigError
from aggregator.members import (
    add_members,
    append_entries,
    load_members,
    parse_members,
    remove_member,
)

SECTORS = {"local-government": "Local government", "health-and-care": "Health and care"}
REGIONS = {"london": "London"}

GOOD = """\
# The network's members
members:
  - name: Dave Briggs
    feed: https://example.org/feed/
    site: https://example.org/
    organisation: Learning Pool
    sector: local-government
    region: london
    avatar: https://example.org/me.jpg
    content: full
    comments: false
  - name: Sarah Lay
    id: sarah
    feed: https://sarah.example.net/atom.xml
    paused: true
"""


def test_valid_registry_loads_with_defaults() -> None:
    members = parse_members(GOOD, sectors=SECTORS, regions=REGIONS)
    assert [m.id for m in members] == ["dave-briggs", "sarah"]
    dave, sarah = members
    assert dave.content == "full" and dave.comments is False and dave.line == 3
    assert sarah.content == "summary" and sarah.comments is True and sarah.paused is True


@pytest.mark.parametrize(("text", "line", "member", "words"), [
    ("members:\n  - name: A\n    feed: https://a.org/\n    colour: red\n", 4, "A",
     "unknown key 'colour'"),
    ("members:\n  - name: A\n", 2, "A", "missing 'feed'"),
    ("members:\n  - feed: https://a.org/\n", 2, None, "missing 'name'"),
    ("members:\n  - name: A\n    feed: ftp://a.org/feed\n", 3, "A", "http(s) URL"),
    ("members:\n  - name: A\n    feed: javascript:alert(1)\n", 3, "A", "http(s) URL"),
    ("members:\n  - name: A\n    feed: https://a.org/\n  - name: B\n    id: a\n"
     "    feed: https://b.org/\n", 4, "B", "duplicate id 'a'"),
    ("members:\n  - name: A\n    feed: https://a.org/feed/\n  - name: B\n"
     "    feed: HTTPS://A.org/feed\n", 4, "B", "duplicate feed"),
    ("members:\n  - name: A\n    feed: https://a.org/\n    sector: space\n", 4, "A",
     "unknown sector 'space'"),
    ("members:\n  - name: A\n    feed: https://a.org/\n    content: everything\n", 4, "A",
     "'summary' or 'full'"),
    ("members:\n  - name: A\n    feed: https://a.org/\n    id: ../../etc\n", 4, "A",
     "'id' must be"),
    ("members:\n  - name: A\n    feed: https://a.org/\n    comments: maybe\n", 4, "A",
     "true or false"),
    ("members:\n  - name: A\n    feed: https://user:pw@a.org/\n", 3, "A", "http(s) URL"),
    ("members:\n  - name: A\n    feed: https://a.org/\n    only_topics: []\n", 4, "A",
     "'only_topics' must be a list of 1 to 100 topics"),
    ("members:\n  - name: A\n    feed: https://a.org/\n    skip_topics: {a: 1}\n", 4, "A",
     "'skip_topics' must be a list"),
    ("members:\n  - name: A\n    feed: https://a.org/\n    skip_topics: [Personal, ' - ']\n",
     4, "A", "each of 'skip_topics' must be a topic of one line"),
    ("members:\n  - name: A\n    feed: https://a.org/\n    only_topics: [[housing]]\n", 4,
     "A", "each of 'only_topics' must be a topic"),
    ("members: [\n", 2, None, "not valid YAML"),
])
def test_mistakes_name_file_line_and_member(text: str, line: int, member: str | None,
                                            words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_members(text, path="reg.yaml", sectors=SECTORS, regions=REGIONS)
    error = caught.value
    assert error.path == "reg.yaml"
    assert error.line == line
    assert error.member == member
    assert words in str(error)
    assert str(error).startswith(f"reg.yaml:{line}")


def test_topic_filters_load_as_written() -> None:
    text = ("members:\n  - name: A\n    feed: https://a.org/\n"
            "    only_topics: [Local government, housing]\n    skip_topics: Personal\n")
    member, = parse_members(text)
    assert member.only_topics == ("Local government", "housing")
    assert member.skip_topics == ("Personal",)  # one topic may be written without a list


def test_every_problem_is_reported_at_once() -> None:
    text = ("members:\n  - name: A\n    feed: nope\n  - name: B\n    feed: https://b.org/\n"
            "    flavour: x\n")
    with pytest.raises(ConfigError) as caught:
        parse_members(text, path="reg.yaml")
    message = str(caught.value)
    assert "reg.yaml:3 (member 'A')" in message and "reg.yaml:6 (member 'B')" in message


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="registry file not found"):
        load_members(tmp_path / "nope.yaml")


def test_add_members_keeps_comments_and_formatting(tmp_path: Path) -> None:
    path = tmp_path / "members.yaml"
    path.write_text(GOOD)
    add_members(path, [{"name": 'Jo "JJ" Smith: # not a comment', "feed": "https://jo.org/feed/",
                        "sector": "health-and-care"}], sectors=SECTORS, regions=REGIONS)
    text = path.read_text()
    assert text.startswith(GOOD)  # the existing text is untouched, byte for byte
    members = load_members(path, sectors=SECTORS, regions=REGIONS)
    assert members[-1].name == 'Jo "JJ" Smith: # not a comment'
    assert members[-1].sector == "health-and-care"


def test_add_members_refuses_an_invalid_result(tmp_path: Path) -> None:
    path = tmp_path / "members.yaml"
    path.write_text(GOOD)
    with pytest.raises(ConfigError, match="duplicate feed"):
        add_members(path, [{"name": "Copy", "feed": "https://example.org/feed/"}])
    assert path.read_text() == GOOD


REGISTRY_WITH_NOTES = """\
# The network's members.
members:
  # WordPress, full posts.
  - name: Ann Example
    id: ann
    feed: https://ann.example/feed/
    content: full   # she asked

  # Blogger, her personal posts left out.
  - name: Bea Example
    id: bea
    feed: https://bea.example/feed/
    skip_topics: [personal]

  # The last one.
  - name: Cy Example
    id: cy
    feed: https://cy.example/feed/
"""


@pytest.mark.parametrize(("member", "gone"), [
    ("ann", "  # WordPress, full posts.\n  - name: Ann Example\n    id: ann\n"
            "    feed: https://ann.example/feed/\n    content: full   # she asked\n\n"),
    ("bea", "  # Blogger, her personal posts left out.\n  - name: Bea Example\n    id: bea\n"
            "    feed: https://bea.example/feed/\n    skip_topics: [personal]\n\n"),
    ("cy", "\n  # The last one.\n  - name: Cy Example\n    id: cy\n"
           "    feed: https://cy.example/feed/\n"),
])
def test_remove_member_takes_out_its_entry_and_nothing_else(tmp_path: Path, member: str,
                                                            gone: str) -> None:
    """The entry goes with the notes right above it and the blank line that set it apart;
    every other line stays as it was (the other entries' notes, end-of-line comments)."""
    path = tmp_path / "members.yaml"
    path.write_text(REGISTRY_WITH_NOTES, encoding="utf-8")
    assert remove_member(path, member) == gone
    assert path.read_text(encoding="utf-8") == REGISTRY_WITH_NOTES.replace(gone, "", 1)
    assert [m.id for m in load_members(path)] == [i for i in ("ann", "bea", "cy")
                                                   if i != member]


def test_remove_member_names_the_file_for_an_unknown_id(tmp_path: Path) -> None:
    path = tmp_path / "members.yaml"
    path.write_text(REGISTRY_WITH_NOTES, encoding="utf-8")
    with pytest.raises(ConfigError, match="no member with id 'dee'") as raised:
        remove_member(path, "dee")
    assert str(path) in str(raised.value)
    assert path.read_text(encoding="utf-8") == REGISTRY_WITH_NOTES


@pytest.mark.parametrize(("before", "after"), [
    ("", "items:\n  - a: x\n"),
    ("# Only notes so far.\n", "# Only notes so far.\nitems:\n  - a: x\n"),
    ("# Notes.\nitems:\n  - a: \"quoted, and longer than any line of YAML is folded at by "
     "default\"\n", "# Notes.\nitems:\n  - a: \"quoted, and longer than any line of YAML is "
     "folded at by default\"\n  - a: x\n"),
    ("items: [{a: 'y'}]\nother: 1\n",  # a flow list: written again, its entries as they were
     "items:\n  - {a: 'y'}\n  - a: x\nother: 1\n"),
])
def test_append_entries_keeps_the_file_as_it_was(tmp_path: Path, before: str,
                                                 after: str) -> None:
    path = tmp_path / "list.yaml"
    if before:
        path.write_text(before, encoding="utf-8")
    seen: list[str] = []
    assert append_entries(path, "items", [{"a": "x"}], seen.append) == after
    assert seen == [after] and path.read_text(encoding="utf-8") == after


def test_append_entries_writes_nothing_the_check_refuses(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("items:\n  - a: y\n", encoding="utf-8")

    def refuse(text: str) -> None:
        raise ConfigError("no", path=str(path))

    with pytest.raises(ConfigError):
        append_entries(path, "items", [{"a": "x"}], refuse)
    assert path.read_text(encoding="utf-8") == "items:\n  - a: y\n"
