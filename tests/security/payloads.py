"""Hostile input: the payloads, and feeds, comment feeds and a registry that carry them.

Every payload that ever mattered stays here as a regression test. Scripts call `alert(…)`,
`confirm(…)` or `prompt(…)` so that the browser check (a dialog hook) sees any that runs.
"""

from __future__ import annotations

import json
from xml.sax.saxutils import escape, quoteattr

# Commenters' and submitters' addresses: none may ever reach output/.
EMAILS = ("commenter.secret@example.org", "rss.commenter@example.org",
          "blogger.author@example.org", "jsonfeed.author@example.org",
          "rest.commenter@example.org", "post.author@example.org")

TEMPLATE_TEXT = "{{ 7*7 }} {% if true %}TPL-RAN{% endif %} {{ config }} ${7*7} #{7*7}"

# URLs that must never become a link, an image or an action. Each is also tried as a link,
# an enclosure, an author URL, a comment author URL and an image source.
BAD_URLS = (
    "javascript:alert(101)",
    "JaVaScRiPt:alert(102)",
    " \tjavascript:alert(103)",
    "\x01javascript:alert(104)",
    "java\tscript:alert(105)",
    "java\nscript:alert(106)",
    "&#106;avascript:alert(107)",
    "&#x6A;avascript:alert(108)",
    "&#106avascript:alert(109)",
    "&#0000106&#0000097vascript:alert(110)",
    "javascript&colon;alert(111)",
    "javascript&#58;alert(112)",
    "javascript&#x3A;alert(113)",
    "jav&#x09;ascript:alert(114)",
    "jav&#x0A;ascript:alert(115)",
    "&#x26;#106;avascript:alert(116)",
    "vbscript:msgbox(117)",
    "VBScript:msgbox(118)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxMTkpPC9zY3JpcHQ+",
    "DaTa:text/html,<script>alert(120)</script>",
    "data:image/svg+xml,<svg onload=alert(121)>",
    "{filename}/../../../secret.txt",
    "{static}/../secret.txt",
    "{attach}../../secret.txt",
    "%6A%61%76%61%73%63%72%69%70%74:alert(122)",
    "javascript://%0aalert(123)",
)

# HTML that must lose every active part. Posted as content, summaries and comment bodies.
HTML_PAYLOADS = (
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<scr<script>ipt>alert(2)</scr</script>ipt>",
    "<img src=x onerror=alert(3)>",
    "<IMG SRC=x OnErRoR=alert(4)>",
    "<img src=x onerror\n=alert(5)>",
    "<img/src=x/onerror=alert(6)>",
    '<img src="x" alt="a" onerror="alert(7)">',
    "<svg onload=alert(8)>",
    "<svg><script>alert(9)</script></svg>",
    '<svg><a xlink:href="javascript:alert(10)"><text x="0" y="20">svg link</text></a></svg>',
    "<svg><animate onbegin=alert(11) attributeName=x dur=1s>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(12)>",
    '<math href="javascript:alert(13)">math link</math>',
    "<iframe src=\"javascript:alert(14)\"></iframe>",
    '<iframe srcdoc="<script>alert(15)</script>"></iframe>',
    '<object data="javascript:alert(16)"></object>',
    '<embed src="javascript:alert(17)">',
    '<form action="javascript:alert(18)"><input type="password" name="pw">'
    '<button formaction="javascript:alert(19)">Go</button></form>',
    '<base href="javascript:alert(20)//">',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(21)">',
    '<meta http-equiv="Set-Cookie" content="x=y">',
    "<style>body{background:url(javascript:alert(22))}</style>",
    "<style>@import 'javascript:alert(23)';</style>",
    '<div style="background-image:url(javascript:alert(24))">styled</div>',
    '<div style="width:expression(alert(25))">expr</div>',
    '<p style="background:url(&#106;avascript:alert(26))">styled</p>',
    '<img srcset="javascript:alert(27) 1x, x 2x">',
    '<img src="https://ok.example/a.png" srcset="data:image/svg+xml,<svg onload=alert(28)> 2x">',
    '<picture><source srcset="javascript:alert(29)"><img src="https://ok.example/b.png">'
    "</picture>",
    '<a href="https://ok.example/" onmouseover="alert(30)" onclick="alert(31)">hover</a>',
    "<details open ontoggle=alert(32)><summary>x</summary></details>",
    '<noscript><p title="</noscript><img src=x onerror=alert(33)>"></noscript>',
    '<!--<img src="--><img src=x onerror=alert(34)//">',
    "<textarea><script>alert(35)</script></textarea>",
    "<title><script>alert(36)</script></title>",
    "<xmp><script>alert(37)</script></xmp>",
    '<a href="x" id="y" name="z" class="skip-link" tabindex="1" target="_top">attrs</a>',
    '<input autofocus onfocus="alert(38)">',
    '<video><source onerror="alert(39)"></video>',
    '<audio src=x onerror=alert(40)>',
    '<body onload="alert(41)">',
    '<marquee onstart="alert(42)">m</marquee>',
    '<isindex action="javascript:alert(43)" type="image">',
    '<link rel="import" href="javascript:alert(44)">',
    '<link rel="stylesheet" href="javascript:alert(45)">',
    '<table background="javascript:alert(46)"><tr><td>t</td></tr></table>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCg0Nyk8L3NjcmlwdD4=">data</a>',
    '<a href="&#x6A&#x61&#x76&#x61&#x73&#x63&#x72&#x69&#x70&#x74&#x3A;alert(48)">hex</a>',
    "<p>&lt;script&gt;alert(49)&lt;/script&gt; stays text</p>",
    "<p>[markdown link](javascript:alert(50)) and ![img](javascript:alert(51))</p>",
    "<p>&lt;img src=x onerror=alert(52)&gt; as text</p>",
    "<p><a href='javascript:alert(53)'>single quotes</a></p>",
    "<p><a href=javascript:alert(54)>unquoted</a></p>",
    "<div><p>{{ 7*7 }} and {% if true %}TPL-RAN{% endif %}</p></div>",
    "<p>Title: injected-body-line</p>",
    "<p>Save_as: index.html</p>",
    "<template><script>alert(55)</script></template>",
    "<keygen autofocus onfocus=alert(56)>",
    '<a href="javas&#99;ript:alert(57)">c-ref</a>',
    '<a href="&Tab;javascript:alert(58)">tab entity</a>',
    '<a href="javascript&NewLine;:alert(59)">newline entity</a>',
    "<frameset><frame src=javascript:alert(60)></frameset>",
)

# The HTML of a hostile post body: every bad URL as a link and an image, then every payload
# (an unclosed <svg> or <math> rightly swallows the rest, so each payload also gets a post of
# its own: `payload_html(i)`).
BODY_HTML = "\n".join(
    [f'<p><a href="{u}">bad link {i}</a> <img src="{u}" alt="bad image {i}"></p>'
     for i, u in enumerate(BAD_URLS)]
    + [f"<p>Hostile paragraph {i}</p>{p}" for i, p in enumerate(HTML_PAYLOADS)]
)
# Lines that look like a metadata block, at the top of a body.
BODY_LINES = ("<p>Title: injected-body-line</p>\n<p>Save_as: index.html</p>\n"
              "<p>Status: draft</p>\n<p>Template: missing</p>\n<p>Hello</p>")


def payload_html(index: int) -> str:
    return f"<p>Payload {index} start</p>\n{HTML_PAYLOADS[index]}\n<p>Payload {index} end</p>"


# Text fields (titles, names, tags): markup as *text* (double-encoded in the feed) and as
# markup, the template syntax, metadata lines and line breaks.
TEXT_PAYLOADS = (
    "&lt;script&gt;alert(61)&lt;/script&gt; literal",
    '"&gt;&lt;img src=x onerror=alert(62)&gt;',
    "&lt;/title&gt;&lt;script&gt;alert(63)&lt;/script&gt;",
    "<script>alert(64)</script>tagged",
    "<img src=x onerror=alert(65)>",
    "' onmouseover='alert(66)",
    TEMPLATE_TEXT,
)

META_TITLE = ("Meta line one\nSave_as: index.html\nTemplate: missing\nStatus: draft\n"
              "Slug: hijacked\nUrl: https://evil.example/\nCategory: Hijacked\n"
              "Date: 1999-01-01\nAuthor: Mallory\n\nBody: after a blank line")


_XML_ILLEGAL = dict.fromkeys(c for c in range(32) if c not in (9, 10, 13))


def _x(text: str) -> str:
    """XML-escaped, without the control characters XML 1.0 cannot carry (JSON Feed has them)."""
    return escape(text.translate(_XML_ILLEGAL))


def rss_posts_feed(base: str) -> bytes:
    """A WordPress-style RSS 2.0 posts feed carrying the payloads in every field."""
    items = []
    titles = [*TEXT_PAYLOADS, META_TITLE, f"Body injection {TEMPLATE_TEXT}"]
    for number, title in enumerate(titles, start=101):
        link = f"{base}/wp/{number}/"
        body = BODY_LINES if title.startswith("Body injection") else BODY_HTML
        tags = "".join(f"<category>{_x(t)}</category>" for t in TEXT_PAYLOADS)
        tags += "<category><![CDATA[../../etc]]></category><category>{{ 7*7 }}</category>"
        items.append(f"""
    <item>
      <title>{_x(title)}</title>
      <link>{link}</link>
      <comments>{_x(BAD_URLS[number % len(BAD_URLS)])}</comments>
      <dc:creator>{_x(TEXT_PAYLOADS[number % len(TEXT_PAYLOADS)])}</dc:creator>
      <author>{EMAILS[5]} (Post Author)</author>
      <pubDate>Mon, 02 Mar 2026 {number - 90:02d}:00:00 +0000</pubDate>
      <guid isPermaLink="false">{base}/?p={number}</guid>
      {tags}
      <description>{_x(body)}</description>
      <content:encoded>{_x(body)}</content:encoded>
      <enclosure url="{_x(BAD_URLS[0])}" length="1" type="audio/mpeg"/>
      <wfw:commentRss>{base}/wp/{number}/feed/</wfw:commentRss>
      <slash:comments>4</slash:comments>
    </item>""")
    # One post whose links are each a bad URL (the post link, its comments page).
    for i, url in enumerate(BAD_URLS):
        items.append(f"""
    <item>
      <title>Bad link {i}</title>
      <link>{_x(url)}</link>
      <comments>{_x(url)}</comments>
      <pubDate>Sun, 01 Mar 2026 10:{i:02d}:00 +0000</pubDate>
      <guid isPermaLink="false">bad-link-{i}</guid>
      <description>{_x(f'<p>A post whose link is <a href="{url}">bad</a>.</p>')}</description>
      <enclosure url={quoteattr(url.translate(_XML_ILLEGAL))} length="1" type="text/html"/>
    </item>""")
    for i in range(len(HTML_PAYLOADS)):
        items.append(f"""
    <item>
      <title>Payload {i}</title>
      <link>{base}/payload/{i}/</link>
      <pubDate>Sat, 28 Feb 2026 {i // 60:02d}:{i % 60:02d}:00 +0000</pubDate>
      <guid isPermaLink="false">payload-{i}</guid>
      <description>{_x(payload_html(i))}</description>
    </item>""")
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
  xmlns:wfw="http://wellformedweb.org/CommentAPI/" xmlns:dc="http://purl.org/dc/elements/1.1/"
  xmlns:slash="http://purl.org/rss/1.0/modules/slash/">
<channel>
  <title>{_x(TEXT_PAYLOADS[0])} Evil blog {{{{ 7*7 }}}}</title>
  <link>javascript:alert(70)</link>
  <description>{_x(BODY_HTML[:200])}</description>
  <generator>https://wordpress.org/?v=6.5</generator>
  <image><url>javascript:alert(71)</url><title>x</title><link>javascript:alert(72)</link></image>
  {''.join(items)}
</channel>
</rss>""".encode()


def wp_atom_comment_feed(base: str, number: int) -> bytes:
    """The post's WordPress Atom comment feed: threaded, with hostile authors and bodies."""
    guid = f"{base}/?p={number}"
    post = f"{base}/wp/{number}/"
    entries = []
    specs = [  # (comment number, parent, author name, author uri, e-mail)
        (1, None, TEXT_PAYLOADS[0], BAD_URLS[0], EMAILS[0]),
        (2, 1, "<script>alert(80)</script>", "javascript:alert(81)", EMAILS[0]),
        (3, 2, f"Reply {TEMPLATE_TEXT}", BAD_URLS[6], "not-an-address"),
        (4, None, f"{EMAILS[0]}", "https://ok.example/\"onmouseover=\"alert(82)", EMAILS[0]),
    ]
    for n, parent, name, uri, email in specs:
        ref = f"{guid}#comment-{parent}" if parent else guid
        entries.append(f"""
  <entry>
    <title>By: {_x(name)}</title>
    <link rel="alternate" href="{post}#comment-{n}" type="text/html"/>
    <author><name>{_x(name)}</name><uri>{_x(uri)}</uri><email>{email}</email></author>
    <id>{guid}#comment-{n}</id>
    <updated>2026-03-03T1{n}:00:00Z</updated>
    <published>2026-03-03T1{n}:00:00Z</published>
    <thr:in-reply-to ref="{ref}" href="{post}" type="text/html"/>
    <content type="html">{_x(payload_html((number * 4 + n) % len(HTML_PAYLOADS)))}</content>
  </entry>""")
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:thr="http://purl.org/syndication/thread/1.0">
  <title>Comments on: post {number}</title>
  <id>{post}feed/atom/</id>
  <updated>2026-03-03T10:00:00Z</updated>
  <generator uri="https://wordpress.org/">WordPress</generator>
  {''.join(entries)}
</feed>""".encode()


def wp_rss_comment_feed(base: str, number: int) -> bytes:
    """The flat RSS comment feed (used when the Atom one fails): RSS authors are e-mails."""
    items = "".join(f"""
    <item><title>By: {_x(TEXT_PAYLOADS[i])}</title>
      <link>{base}/wp/{number}/#comment-{i + 10}</link>
      <author>{EMAILS[1]} ({_x(TEXT_PAYLOADS[i])})</author>
      <dc:creator>{EMAILS[1]}</dc:creator>
      <guid isPermaLink="false">{base}/?p={number}#comment-{i + 10}</guid>
      <pubDate>Tue, 03 Mar 2026 0{i}:00:00 +0000</pubDate>
      <description>{_x(HTML_PAYLOADS[i])}</description></item>""" for i in range(3))
    return f"""<?xml version="1.0"?><rss version="2.0"
  xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>c</title>{items}
  </channel></rss>""".encode()


def atom_posts_feed(base: str) -> bytes:
    """An Atom feed (Blogger-like): HTML and XHTML titles, author e-mails and URIs."""
    entries = []
    for i, text in enumerate(TEXT_PAYLOADS):
        entries.append(f"""
  <entry>
    <id>tag:blogger.example,1999:post-{i}</id>
    <title type="html">{_x(text)}</title>
    <link rel="alternate" type="text/html" href="{_x(BAD_URLS[i])}"/>
    <link rel="replies" type="application/atom+xml" href="{base}/atom/{i}/comments"/>
    <author><name>{_x(text)}</name><uri>javascript:alert(90)</uri>
      <email>{EMAILS[2]}</email></author>
    <published>2026-02-1{i}T10:00:00Z</published>
    <updated>2026-02-1{i}T10:00:00Z</updated>
    <category term={quoteattr(text)} label={quoteattr(text)}/>
    <summary type="html">{_x(BODY_HTML)}</summary>
    <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">
      <p onclick="alert(91)">xhtml</p><script>alert(92)</script>
      <a href="javascript:alert(93)">x</a>
      <svg xmlns="http://www.w3.org/2000/svg" onload="alert(94)"/></div></content>
  </entry>""")
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="javascript:alert(95)//">
  <title type="html">&lt;b onmouseover=alert(96)&gt;Atom blog&lt;/b&gt;</title>
  <link rel="alternate" href="javascript:alert(97)"/>
  <id>tag:blogger.example,1999:blog-1</id>
  <updated>2026-02-20T10:00:00Z</updated>
  <generator>Blogger</generator>
  {''.join(entries)}
</feed>""".encode()


def json_feed(base: str) -> bytes:
    """A JSON Feed with payloads in every field it has."""
    items = []
    for i, text in enumerate(TEXT_PAYLOADS):
        raw = text.replace("&lt;", "<").replace("&gt;", ">")
        items.append({
            "id": f"../../json/{i}\\..\\CON",
            "url": BAD_URLS[i + 1],
            "external_url": BAD_URLS[i + 2],
            "title": raw,
            "content_html": BODY_HTML,
            "summary": raw,
            "image": BAD_URLS[i],
            "banner_image": BAD_URLS[i],
            "date_published": f"2026-01-1{i}T10:00:00Z",
            "authors": [{"name": raw + f" {EMAILS[3]}", "url": BAD_URLS[0],
                         "avatar": BAD_URLS[1]}],
            "tags": [raw, TEMPLATE_TEXT, "../x"],
            "attachments": [{"url": BAD_URLS[0], "mime_type": "text/html"}],
        })
    items.append({"id": "text-only", "title": "Plain text", "date_published":
                  "2026-01-20T10:00:00Z",
                  "content_text": "<script>alert(98)</script>\n\nTitle: not metadata"})
    return json.dumps({
        "version": "https://jsonfeed.org/version/1.1",
        "title": "<script>alert(99)</script> JSON blog",
        "home_page_url": "javascript:alert(100)",
        "feed_url": f"{base}/feed.json",
        "icon": BAD_URLS[2], "favicon": BAD_URLS[3],
        "authors": [{"name": "<img src=x onerror=alert(97)>", "url": BAD_URLS[4]}],
        "items": items,
    }).encode()


REGISTRY = """\
members:
  - name: Eve Wordpress
    id: eve
    feed: {BASE}/wp/feed/
    site: https://evil.example/"><script>alert(130)</script>
    organisation: <img src=x onerror=alert(131)> {{ 7*7 }}
    sector: local-government
    region: london
    avatar: https://evil.example/a.png"onerror="alert(132)
    content: full
    comments: true
  - name: Ann Atom <script>alert(133)</script>
    id: ann
    feed: {BASE}/atom.xml
    site: https://ann.example/'onmouseover='alert(134)
    organisation: "{% if true %}TPL-RAN{% endif %}"
    sector: central-government
    avatar: https://ann.example/a.png?x=<svg/onload=alert(135)>
    content: summary
  - name: Jay Json
    id: jay
    feed: {BASE}/feed.json
    organisation: '"><iframe src=javascript:alert(136)>'
    sector: health-and-care
    content: full
"""
