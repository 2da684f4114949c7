"""Pelican settings for local work (relative URLs). publishconf.py builds on these for production.

The aggregator reads its defaults from here too (MEMBERS_FILE, PATH, AGGREGATOR_*), so that
`python -m aggregator fetch` and `pelican` agree on where things are.
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:  # plugins import the aggregator package from the project root
    sys.path.insert(0, _HERE)

SITENAME = "Public Sector Blogs"
SITEURL = ""
SITE_CONTACT_URL = "https://github.com/publicsector-blogs/network"
PATH = "content"
TIMEZONE = "Europe/London"
DEFAULT_LANG = "en-GB"

# --- The aggregator -------------------------------------------------------------------------
MEMBERS_FILE = "members.yaml"
AGGREGATOR_STATE = "var/state.sqlite3"
AGGREGATOR_USER_AGENT = "PublicSectorBlogsBot/0.1 (+https://publicsectorblogs.org.uk/about/)"
AGGREGATOR_CONCURRENCY = 400  # feeds in flight at once; each host gets AGGREGATOR_PER_HOST
AGGREGATOR_PER_HOST = 4  # connections to any one host
AGGREGATOR_TIMEOUT = 30.0  # seconds per feed, body included
AGGREGATOR_MAX_BYTES = 10 * 1024 * 1024  # per body, after decompression
AGGREGATOR_MAX_REDIRECTS = 5
AGGREGATOR_MAX_BACKOFF = 24 * 3600  # seconds: a failing feed is retried at least daily
AGGREGATOR_SUMMARY_WORDS = 60
COMMENTS_MAX_AGE_DAYS = 90  # threads of older posts are no longer refreshed

# Sector and region slugs used in members.yaml, with their display names.
SECTORS = {
    "local-government": "Local government",
    "central-government": "Central government",
    "devolved-government": "Devolved government",
    "health-and-care": "Health and care",
    "policing-and-justice": "Policing and justice",
    "fire-and-rescue": "Fire and rescue",
    "education": "Education",
    "housing": "Housing",
    "charity-and-voluntary": "Charity and voluntary sector",
    "digital-and-data": "Digital and data",
    "other": "Other public service",
}
REGIONS = {
    "north-east": "North East",
    "north-west": "North West",
    "yorkshire-and-the-humber": "Yorkshire and the Humber",
    "east-midlands": "East Midlands",
    "west-midlands": "West Midlands",
    "east-of-england": "East of England",
    "london": "London",
    "south-east": "South East",
    "south-west": "South West",
    "scotland": "Scotland",
    "wales": "Wales",
    "northern-ireland": "Northern Ireland",
    "uk-wide": "UK-wide",
}

# --- Reading ---------------------------------------------------------------------------------
USE_FOLDER_AS_CATEGORY = False  # categories are set explicitly (the member's sector)
# Every post is its own: the aggregator gives each a unique slug, so there are no translations
# to group (Pelican's grouping is a quadratic list scan: seconds at 20,000 posts).
ARTICLE_TRANSLATION_ID = None


def newest_first(article: object) -> tuple[float, str]:
    """The river's order: newest first, posts of the same minute by slug (deterministic)."""
    return (-article.date.timestamp(), article.slug)  # type: ignore[attr-defined]


ARTICLE_ORDER_BY = newest_first
ARTICLE_PATHS = ["posts"]
ARTICLE_EXCLUDES = ["comments"]
PAGE_PATHS = ["pages"]
PAGE_EXCLUDES = ["comments", "posts"]
# No attr_list or md_in_html: feed text must not be able to add attributes.
MARKDOWN = {
    "extension_configs": {
        "markdown.extensions.meta": {},
        "markdown.extensions.fenced_code": {},
        "markdown.extensions.tables": {},
        "markdown.extensions.sane_lists": {},
    },
    "output_format": "html5",
}

# --- The site --------------------------------------------------------------------------------
PROJECT_ROOT = _HERE  # relative MEMBERS_FILE paths are resolved against this folder
THEME = "themes/network"
SITESUBTITLE = "Blogs from people who work in and around UK public services, in one place"
RELATIVE_URLS = True  # local work: open the output from any folder or sub-path
DEFAULT_PAGINATION = 10
SUMMARY_MAX_LENGTH = 60
NETWORK_QUIET_AFTER_DAYS = 365  # members with no post for this long are marked quiet
NETWORK_DISCUSSED_DAYS = 30  # "most discussed" window on the network page
# The topics page lists every tag; past this many it shows the most used first, then an
# A to Z with a letter index (a large network has thousands of tags, most on one post).
TOPICS_INDEX_FROM = 60
TOPICS_MOST_USED = 24
NETWORK_TODAY = None  # a fixed "now" (datetime) for reproducible builds and tests; None = now
SUBMISSIONS_URL = None  # the Join form's endpoint (aggregator serve-submissions), when deployed
REGISTRY_EDIT_URL = SITE_CONTACT_URL + "/blob/main/members.yaml"

# The build class: skips a build with nothing new, renders only pages whose inputs changed,
# paginates from the oldest post so old pages keep their bytes (plugins/incremental).
PELICAN_CLASS = "plugins.IncrementalPelican"
# The first page of these templates shows its list's newest posts and, besides, only what
# follows from the whole list, the registry and today's date (a member's profile, chart and
# totals): plugins/incremental renders it only when one of those changed. Not the home page
# or sector pages (their asides and member boxes show other lists).
INCREMENTAL_FRONT_TEMPLATES = ("tag", "author", "period_archives")
BUILD_PROCESSES = None  # pages are rendered on this many processes; None = one per core
# In a publish, this top-level content folder is walked by another process while the posts are
# read (plugins/incremental/ahead.py); "" walks it here too.
INCREMENTAL_WALK_APART = "comments"
PLUGIN_PATHS = ["plugins"]
PLUGINS = [
    "sanitize",  # cleans every aggregated article's rendered HTML once more
    "comment_threads",  # attaches article.comments (trees) and article.comment_count
    "members_directory",  # registry → member profiles, directory, organisation/region pages
    "avatars",  # member avatars fetched at build time, resized, served from avatars/
    "health",  # /health/: each member's feed status from the registry and the state database
    "neighbours",  # previous/next post in the river
    "theme_helpers",  # small Jinja filters: http_url, initials, monthly_counts, bar_chart
    "opml",  # /members.opml and one OPML per sector
    "syndication",  # feed entries carry the original link and a plain title
    "sitemap",  # sitemap.xml and robots.txt, from what was written
    "digest",  # the weekly digest: one feed entry a week, for readers and newsletter services
]

# Autoescape everything: titles, names and tags come from other people's feeds.
JINJA_ENVIRONMENT = {
    "trim_blocks": True,
    "lstrip_blocks": True,
    "extensions": [],
    "autoescape": True,
}

# Directory-style URLs. Pagination as {base_name}/page/{n}/ (the default names collide).
ARTICLE_URL = "{date:%Y}/{date:%m}/{slug}/"
ARTICLE_SAVE_AS = "{date:%Y}/{date:%m}/{slug}/index.html"
ARTICLE_LANG_URL = "{date:%Y}/{date:%m}/{slug}-{lang}/"
ARTICLE_LANG_SAVE_AS = "{date:%Y}/{date:%m}/{slug}-{lang}/index.html"
DRAFT_URL = "drafts/{slug}/"
DRAFT_SAVE_AS = "drafts/{slug}/index.html"
PAGE_URL = "{slug}/"
PAGE_SAVE_AS = "{slug}/index.html"
AUTHOR_URL = "members/{slug}/"  # the author slug is the member id (plugins/members_directory)
AUTHOR_SAVE_AS = "members/{slug}/index.html"
AUTHORS_URL = "members/"  # the directory, drawn from the registry
AUTHORS_SAVE_AS = "members/index.html"
CATEGORY_URL = "sectors/{slug}/"  # the category slug is the sector slug
CATEGORY_SAVE_AS = "sectors/{slug}/index.html"
CATEGORIES_URL = "sectors/"
CATEGORIES_SAVE_AS = "sectors/index.html"
TAG_URL = "tags/{slug}/"
TAG_SAVE_AS = "tags/{slug}/index.html"
TAGS_URL = "tags/"
TAGS_SAVE_AS = "tags/index.html"
ARCHIVES_URL = "archives/"
ARCHIVES_SAVE_AS = "archives/index.html"
YEAR_ARCHIVE_URL = "{date:%Y}/"
YEAR_ARCHIVE_SAVE_AS = "{date:%Y}/index.html"
MONTH_ARCHIVE_URL = "{date:%Y}/{date:%m}/"
MONTH_ARCHIVE_SAVE_AS = "{date:%Y}/{date:%m}/index.html"
SEARCH_URL = "search/"
SEARCH_SAVE_AS = "search/index.html"
NETWORK_URL = "network/"
NETWORK_SAVE_AS = "network/index.html"
ORGANISATION_URL = "organisations/{slug}/"  # written by plugins/members_directory
ORGANISATIONS_URL = "organisations/"
REGION_URL = "regions/{slug}/"
REGIONS_URL = "regions/"
OPML_SAVE_AS = "members.opml"  # plugins/opml; per sector: OPML_SECTOR_SAVE_AS
OPML_SECTOR_SAVE_AS = "sectors/{slug}/members.opml"
HEALTH_URL = "health/"  # plugins/health, from AGGREGATOR_STATE (read-only) and the registry
HEALTH_SAVE_AS = "health/index.html"
# The browser-search description (?q= on the search page): written with absolute URLs only,
# so publishconf.py turns it on.
OPENSEARCH_SAVE_AS = ""
DIRECT_TEMPLATES = ["index", "tags", "categories", "authors", "archives", "search", "network",
                    "opensearch"]
PAGINATED_TEMPLATES = {"index": None, "tag": None, "category": None, "author": None,
                       "period_archives": None}
PAGINATION_PATTERNS = (
    (1, "{url}", "{save_as}"),
    (2, "{base_name}/page/{number}/", "{base_name}/page/{number}/index.html"),
)
STATIC_PATHS: list[str] = []  # the theme's static files are copied by THEME_STATIC_PATHS
MENUITEMS: list[tuple[str, str]] = []
DISPLAY_PAGES_ON_MENU = False
DISPLAY_CATEGORIES_ON_MENU = False

# Feeds are for production (publishconf.py); local builds skip them.
FEED_ALL_ATOM = None
FEED_ALL_RSS = None
CATEGORY_FEED_ATOM = None
CATEGORY_FEED_RSS = None
AUTHOR_FEED_ATOM = None
AUTHOR_FEED_RSS = None
TRANSLATION_FEED_ATOM = None
TAG_FEED_ATOM = None
DIGEST_FEED_ATOM = None  # the weekly digest (plugins/digest); publishconf.py writes it
DIGEST_SECTOR_FEED_ATOM = None  # each sector's own ("sectors/{slug}/weekly.atom.xml")
DIGEST_WEEKS = 8  # weeks they keep

CACHE_CONTENT = True
LOAD_CONTENT_CACHE = True
CHECK_MODIFIED_METHOD = "sha256"
# The "generator" layer: our articles generator keeps each Article as Pelican made it, keyed by
# its file's stamp (plugins/incremental/store.py), so a publish does not read or construct the
# posts that did not change. (Pelican's own generator cache would pickle each article with the
# whole build context; the pages generator keeps none.)
CONTENT_CACHING_LAYER = "generator"
GZIP_CACHE = False  # at 20,000 posts gzip costs seconds on every build; disk is cheaper
DEFAULT_DATE_FORMAT = "%-d %B %Y"

# plugins/comment_threads keeps each comment folder's parsed comments between builds
# (foldercache.py): a publish reads only the folders that changed. A full build reads them all
# on every core first (the build_preread signal of plugins/incremental).
COMMENT_FOLDER_CACHE = True

# --- Avatars (plugins/avatars): fetched at build time with the aggregator's HTTP client -------
AVATARS_SIZE = 96  # pixels square; a 2x copy is made too
AVATARS_MAX_BYTES = 2 * 1024 * 1024  # per avatar download
AVATARS_MAX_PIXELS = 16_000_000  # larger images are refused before decoding (bombs)
AVATARS_TIMEOUT = 10.0  # seconds per avatar
AVATARS_REFRESH_SECONDS = 6 * 3600  # a picture checked this recently is not asked for again
AVATARS_FETCH = True  # False: offline builds use only the cache (CACHE_PATH/avatars)
AVATARS_ALLOW_PRIVATE = False  # loopback/private avatar hosts; or AGGREGATOR_ALLOW_PRIVATE=1

# --- Joining: the submissions endpoint (`make submissions-server`) ------------------------------
SUBMISSIONS_DIR = "submissions"  # the moderation queue; holds submitters' e-mails: never published
SUBMISSIONS_RATE_LIMIT = 5  # submissions per address per window
SUBMISSIONS_RATE_WINDOW = 3600  # seconds
SUBMISSIONS_MAX_BODY = 16 * 1024  # bytes per request
# Posts taken down on request are listed in takedowns.yaml beside MEMBERS_FILE (or set
# TAKEDOWNS_FILE): the next fetch removes them and never writes them again.
