"""A synthetic network for the build benchmark, in our formats and as plain Pelican posts.

Deterministic from a seed: the same spec writes the same bytes. Post files are rendered by
`aggregator.write.render_post` (slugs and paths from `PostIndex.assign`) and comment files by
`aggregator.comment_files.render_comment`, so the format cannot drift from what the aggregator
writes. The same posts are also written as plain Pelican Markdown (Title, Date, Author,
Category, Tags, Slug; same bodies; no comments) for the reference build with stock Pelican.
"""

from __future__ import annotations

import json
import logging
import random
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aggregator.comment_files import comment_slug, render_comment, thread_dir
from aggregator.comments import Comment
from aggregator.dates import format_date
from aggregator.models import Member, Post
from aggregator.slugs import slugify
from aggregator.write import PostIndex, render_post

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SECTORS = {  # pelicanconf.py's SECTORS (kept here so that generating needs no settings file)
    "local-government": "Local government", "central-government": "Central government",
    "devolved-government": "Devolved government", "health-and-care": "Health and care",
    "policing-and-justice": "Policing and justice", "fire-and-rescue": "Fire and rescue",
    "education": "Education", "housing": "Housing",
    "charity-and-voluntary": "Charity and voluntary sector",
    "digital-and-data": "Digital and data", "other": "Other public service",
}
REGIONS = ("north-east", "north-west", "yorkshire-and-the-humber", "east-midlands",
           "west-midlands", "east-of-england", "london", "south-east", "south-west", "scotland",
           "wales", "northern-ireland", "uk-wide")
END = datetime(2026, 3, 1, tzinfo=UTC)  # the newest generated post; fixed for determinism

_FIRST = ("Alex", "Sam", "Jo", "Chris", "Pat", "Nadia", "Priya", "Tom", "Aisha", "Ben", "Cara",
          "Dev", "Ellie", "Femi", "Gwen", "Hamish", "Imran", "Jess", "Kieran", "Lucy", "Mo",
          "Niamh", "Owen", "Rhiannon", "Sunita", "Tariq", "Una", "Vik", "Wendy", "Yusuf")
_LAST = ("Briggs", "Shah", "Jones", "Evans", "Okafor", "Patel", "Murray", "Walsh", "Campbell",
         "Hughes", "Khan", "Lewis", "Morgan", "Nolan", "O'Brien", "Price", "Quinn", "Reid",
         "Singh", "Taylor", "Usher", "Vaughan", "Ward", "Young", "Ahmed", "Bell", "Clarke",
         "Doyle", "Ellis", "Fraser")
_ORGS = tuple(f"{place} {kind}" for place in ("Leeds", "Bristol", "Cardiff", "Glasgow", "Kent",
                                               "Norfolk", "Belfast", "Camden", "Devon", "Fife")
              for kind in ("City Council", "NHS Trust", "Police", "Fire and Rescue Service",
                           "College", "Housing Association"))
_WORDS = tuple("""service user research council digital data policy team public health care
housing budget community design delivery open standards agile government local central people
citizens staff change transformation strategy outcome evidence funding partnership network
blog week project discovery alpha beta live platform content accessibility inclusion support
frontline manager leadership culture learning practice review report guidance procurement
contract supplier cloud security privacy consent record system legacy migration website form
online phone visit appointment waiting list school pupil teacher parent library park road
transport bus planning licence tax benefit payment claim advice volunteer charity grant board
meeting workshop prototype test iteration feedback insight metric performance target cost
value risk issue decision approach principle question answer problem example story""".split())
_TAGS = tuple(f"{a} {b}" for a in ("digital", "data", "service", "user", "open", "local",
                                    "health", "housing", "policy", "agile")
              for b in ("design", "research", "standards", "delivery", "strategy", "leadership",
                        "inclusion", "transformation", "security", "procurement"))


@dataclass(frozen=True)
class SiteSpec:
    """What to generate: how many posts, members and comments, from which seed."""

    posts: int
    members: int = 300
    comments_per_post: float = 3.0  # on average; exactly round(posts × this) in all
    reply_share: float = 0.25  # of all comments, answering an earlier comment on the same post
    paragraphs: int = 6  # per post body: with a heading, a list and a link, about 5 KB
    seed: int = 0


@dataclass
class GeneratedSite:
    """Where the trees are and what they hold."""

    root: Path
    content: Path  # ours: posts/, comments/, pages/
    plain: Path  # the reference: the same posts as plain Pelican Markdown
    members_file: Path
    posts: int = 0
    comments: int = 0
    replies: int = 0
    post_bytes: int = 0  # of our post files
    post_slugs: list[str] = field(default_factory=list)  # oldest first
    newest: Post | None = None  # the last post written (for add_update's comment count)


def _words(rng: random.Random, count: int) -> str:
    return " ".join(rng.choices(_WORDS, k=count))


def _sentence(rng: random.Random) -> str:
    text = _words(rng, rng.randint(8, 20))
    return text[0].upper() + text[1:] + "."


def _paragraph(rng: random.Random) -> str:
    return " ".join(_sentence(rng) for _ in range(rng.randint(5, 8)))


def post_body(rng: random.Random, paragraphs: int) -> str:
    """Markdown as the converter writes it: paragraphs, a heading, emphasis, a list, a link."""
    parts = [_paragraph(rng) for _ in range(paragraphs)]
    middle = max(1, paragraphs // 2)
    items = "\n".join(f"- {_sentence(rng)}" for _ in range(rng.randint(3, 6)))
    link = (f"More in [{_words(rng, 3)}](https://www.gov.uk/guidance/{slugify(_words(rng, 3))}) "
            f"and *{_words(rng, 2)}*.")
    heading = "## " + _sentence(rng).rstrip(".")
    return "\n\n".join([*parts[:middle], heading, items, *parts[middle:], link])


def make_members(rng: random.Random, count: int) -> list[Member]:
    """`count` members with unique names and ids, each in a sector and a region."""
    names = [f"{first} {last}" for first in _FIRST for last in _LAST]
    if count > len(names):
        names += [f"{name} {i}" for i in range(2, 2 + count // len(names)) for name in names]
    members = []
    for name in rng.sample(names, count):
        member_id = slugify(name)
        site = f"https://{member_id}.blogs.example/"
        members.append(Member(id=member_id, name=name, feed=site + "feed/", site=site,
                              organisation=rng.choice(_ORGS), sector=rng.choice(list(SECTORS)),
                              region=rng.choice(REGIONS), content="full", comments=True))
    return members


def write_members(path: Path, members: Sequence[Member]) -> None:
    """members.yaml in DESIGN.md's format (JSON strings are valid YAML scalars)."""
    lines = ["# Written by bench/sitegen.py.", "members:"]
    for m in members:
        lines.append(f"  - name: {json.dumps(m.name)}")
        for key in ("id", "feed", "site", "organisation", "sector", "region", "content"):
            lines.append(f"    {key}: {json.dumps(getattr(m, key))}")
        lines.append(f"    comments: {'true' if m.comments else 'false'}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def make_post(rng: random.Random, member: Member, number: int, date: datetime,
              paragraphs: int, comment_count: int) -> Post:
    """One post of `member`, as entries.py would hand it to the writer (content: full)."""
    title = _words(rng, rng.randint(4, 9))
    title = title[0].upper() + title[1:]
    site = member.site or ""
    url = f"{site}{date:%Y/%m}/{slugify(title)}/"
    body = post_body(rng, paragraphs)
    return Post(member_id=member.id, guid=f"{site}?p={number}", title=title, date=date,
                modified=None, author=member.name, byline=None,
                category=SECTORS[member.sector or "other"],
                tags=tuple(sorted(set(rng.sample(_TAGS, rng.randint(1, 4))))),
                original_url=url, source_feed=member.feed, blog=f"{member.name}'s blog",
                blog_url=site, summary=" ".join(body.split()[:60]), body=body,
                comments_url=url + "#comments", comment_feed=url + "feed/",
                comment_count=comment_count)


def make_comment(rng: random.Random, post_guid: str, post_url: str, number: int,
                 date: datetime, parent: Comment | None) -> Comment:
    """A WordPress comment (`…?p=N#comment-M`), a reply when `parent` is given."""
    author = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
    website = f"https://{slugify(author)}.example.net/" if rng.random() < 0.4 else None
    body = "".join(f"<p>{_sentence(rng)} {_sentence(rng)}</p>"
                   for _ in range(rng.randint(1, 3)))
    return Comment(id=f"{post_guid}#comment-{number}", post_guid=post_guid, author=author,
                   author_url=website, date=date, url=f"{post_url}#comment-{number}",
                   parent_id=parent.id if parent else None, body_html=body, source="wp-atom")


def render_plain(post: Post, *, slug: str) -> str:
    """The same post as a stock Pelican Markdown file: the keys any Pelican site uses."""
    lines = [f"Title: {post.title}", f"Date: {format_date(post.date)}",
             f"Author: {post.author}", f"Category: {post.category}"]
    if post.tags:
        lines.append(f"Tags: {', '.join(post.tags)}")
    lines.append(f"Slug: {slug}")
    return "\n".join(lines) + "\n\n" + post.body.strip("\n") + "\n"


def write_thread(content: Path, post_slug: str,
                 comments: Sequence[Comment]) -> int:
    """Each comment's file under content/comments/<post-slug>/ (none: no folder, as the
    aggregator leaves it)."""
    if not comments:
        return 0
    folder = thread_dir(content, post_slug)
    folder.mkdir(parents=True, exist_ok=True)
    for comment in comments:
        slug = comment_slug(comment.id)
        parent = comment_slug(comment.parent_id) if comment.parent_id else None
        (folder / f"{slug}.md").write_text(
            render_comment(comment, slug=slug, parent_slug=parent), encoding="utf-8")
    return len(comments)


def _comment_plan(rng: random.Random, spec: SiteSpec) -> tuple[list[int], set[tuple[int, int]]]:
    """Comments per post (exactly round(posts × rate) in all) and which (post, i) are replies."""
    total = round(spec.posts * spec.comments_per_post)
    counts = [0] * spec.posts
    for index in rng.choices(range(spec.posts), k=total):
        counts[index] += 1
    can_reply = [(p, i) for p, n in enumerate(counts) for i in range(1, n)]
    replies = min(round(total * spec.reply_share), len(can_reply))
    return counts, set(rng.sample(can_reply, replies))


def generate_site(root: Path, spec: SiteSpec) -> GeneratedSite:
    """Write members.yaml, content/ (posts, comments, the project's pages) and plain/."""
    rng = random.Random(spec.seed)
    site = GeneratedSite(root=root, content=root / "content", plain=root / "plain",
                         members_file=root / "members.yaml")
    members = make_members(rng, spec.members)
    root.mkdir(parents=True, exist_ok=True)
    write_members(site.members_file, members)
    shutil.copytree(PROJECT_ROOT / "content" / "pages", site.content / "pages")
    weights = [1 / (rank + 1) ** 0.7 for rank in range(len(members))]  # a few prolific bloggers
    span = 10 * 365 * 24 * 60  # minutes: ten years of posts
    dates = sorted(END - timedelta(minutes=rng.randrange(span)) for _ in range(spec.posts))
    counts, replies = _comment_plan(rng, spec)
    index = PostIndex(site.content / "posts")
    comment_number = 0
    for p, (date, member) in enumerate(zip(dates, rng.choices(members, weights, k=spec.posts),
                                           strict=True)):
        post = make_post(rng, member, p + 1, date, spec.paragraphs, counts[p])
        slug = _write_post(site, index, post)
        thread: list[Comment] = []
        when = date
        for i in range(counts[p]):
            comment_number += 1
            when += timedelta(minutes=rng.randint(5, 3000))
            parent = rng.choice(thread) if (p, i) in replies else None
            thread.append(make_comment(rng, post.guid, post.original_url or "",
                                       comment_number, when, parent))
        site.comments += write_thread(site.content, slug, thread)
        site.replies += sum(1 for c in thread if c.parent_id)
    logger.info("generated %d posts, %d comments (%d replies) in %s", site.posts, site.comments,
                site.replies, root)
    return site


def _write_post(site: GeneratedSite, index: PostIndex, post: Post, *, count: bool = True) -> str:
    slug, path = index.assign(post)
    text = render_post(post, slug=slug, content_mode="full")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    plain = site.plain / path.relative_to(site.content / "posts")
    plain.parent.mkdir(parents=True, exist_ok=True)
    plain.write_text(render_plain(post, slug=slug), encoding="utf-8")
    if count:
        site.posts += 1
        site.post_bytes += len(text.encode("utf-8"))
        site.post_slugs.append(slug)
        site.newest = post
    return slug


@dataclass(frozen=True)
class Update:
    """What `add_update` wrote: one new post, and new comments on an existing post."""

    new_post_slug: str
    commented_post_slug: str
    new_comments: int


def add_update(site: GeneratedSite, spec: SiteSpec, *, comments: int = 3,
               round_: int = 0) -> Update:
    """A publish's worth of news, a month after the newest post: a new post by the most prolific
    member, and `comments` new top-level comments on the newest existing post (a young thread,
    which the aggregator would refresh). That post's file is rewritten too, with the higher
    Comment_count its feed now gives, as the aggregator would. Deterministic from the seed;
    `round_` N > 0 gives the Nth further update (another post, an hour later each)."""
    target = site.newest
    if target is None or not site.post_slugs:
        raise ValueError(f"no post generated in {site.content} to comment on")
    target_slug = site.post_slugs[-1]
    rng = random.Random(spec.seed + 1 + 1000 * round_)
    members = make_members(random.Random(spec.seed), spec.members)
    index = PostIndex.scan(site.content / "posts")
    when = END + timedelta(days=30, hours=round_)
    count = (target.comment_count or 0) + comments
    _write_post(site, index, replace(target, comment_count=count), count=False)
    post = make_post(rng, members[0], spec.posts + 1 + round_, when, spec.paragraphs, 0)
    new_slug = _write_post(site, index, post)
    thread = [make_comment(rng, target.guid, target.original_url or "",
                           10_000_000 + 1000 * round_ + i, when + timedelta(hours=1 + i),
                           None) for i in range(comments)]
    write_thread(site.content, target_slug, thread)
    site.comments += comments
    logger.info("update: new post %s; %d new comments on %s", new_slug, comments, target_slug)
    return Update(new_slug, target_slug, comments)
