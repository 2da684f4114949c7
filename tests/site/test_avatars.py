"""plugins/avatars: pictures fetched over real HTTP at build time, checked, resized, cached.

A LoopbackServer plays the members' sites: a PNG (with an ETag, answering conditional GETs),
an SVG, a decompression bomb and a 404. The build must show the PNG from the site itself and
initials for the rest, and never let a bad avatar fail the build.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin
from ruamel.yaml import YAML

from plugins.avatars.images import AvatarError, square_pictures
from tests.httpserver import LoopbackServer, Reply, Request
from tests.site.sitebuild import FIXTURE, build_site, page

SVG = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="96" height="96">'
       b'<script>alert(1)</script><circle r="40" cx="48" cy="48"/></svg>')
ETAG = '"alice-v1"'


def png(size: tuple[int, int] = (300, 200), mode: str = "RGB") -> bytes:
    """A real PNG with metadata that must not survive: EXIF (with GPS) and a text chunk."""
    image = Image.new(mode, size, "red" if mode == "RGB" else 1)
    exif = Image.Exif()
    exif[0x010E] = "secret description"
    exif[0x8825] = {2: (51.0, 30.0, 0.0)}  # GPS latitude
    out = io.BytesIO()
    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", "taken at home, 1 Secret Street")
    image.save(out, format="PNG", exif=exif, pnginfo=text)
    return out.getvalue()


def bomb() -> bytes:
    """A few kilobytes that decode to 25 million pixels."""
    return png((5000, 5000), mode="1")


def decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_a_png_becomes_two_clean_square_webps() -> None:
    pictures = square_pictures(png(), (96, 192), url="https://x.example/a.png")
    assert sorted(pictures) == [96, 192]
    for size, data in pictures.items():
        image = decoded(data)
        assert image.format == "WEBP" and image.size == (size, size)
        assert not image.getexif() and "exif" not in image.info and "icc_profile" not in image.info
        assert b"Secret" not in data and b"secret" not in data


@pytest.mark.parametrize(("data", "reason"), [
    (SVG, "SVG"),
    (bomb(), "too large"),
    (png()[:200], "not a readable image"),
    (b"GIF89a" + b"\0" * 20, "not a readable image"),
    (b"<html>not found</html>", "not a PNG, JPEG, GIF or WebP"),
])
def test_anything_but_a_sound_small_raster_image_is_refused(data: bytes, reason: str) -> None:
    with pytest.raises(AvatarError, match=reason) as caught:
        square_pictures(data, (96,), url="https://x.example/a")
    assert caught.value.url == "https://x.example/a"


def test_transparency_and_animation_keep_their_first_frame() -> None:
    frames = [Image.new("P", (40, 40), i) for i in (1, 2)]
    out = io.BytesIO()
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:], transparency=0)
    image = decoded(square_pictures(out.getvalue(), (96,), url="https://x.example/a.gif")[96])
    assert image.size == (96, 96) and getattr(image, "n_frames", 1) == 1


def registry(tmp: Path, server: LoopbackServer) -> Path:
    """The fixture registry, with avatars on the loopback server, and a fourth member."""
    data = YAML(typ="safe").load((FIXTURE / "members.yaml").read_text(encoding="utf-8"))
    members = data["members"]
    members[0]["avatar"] = server.url("/alice.png")
    members[1]["avatar"] = server.url("/bob.svg")
    members[2]["avatar"] = server.url("/carol.png")
    members.append({"name": "Dave Missing", "id": "dave-missing", "sector": "other",
                    "feed": "https://dave.example.org/feed/", "avatar": server.url("/gone.png")})
    path = tmp / "members.yaml"
    YAML().dump(data, path)
    return path


def serve_avatars(server: LoopbackServer) -> LoopbackServer:
    """The members' avatar URLs: a PNG with an ETag, an SVG, a bomb (and /gone.png: 404)."""
    alice = png()

    def conditional(request: Request) -> Reply:
        if request.headers.get("if-none-match") == ETAG:
            return Reply(304, b"", {"ETag": ETAG})
        return Reply(200, alice, {"Content-Type": "image/png", "ETag": ETAG})

    server.routes.update({
        "/alice.png": conditional,
        "/bob.svg": Reply(200, SVG, {"Content-Type": "image/svg+xml"}),
        "/carol.png": Reply(200, bomb(), {"Content-Type": "image/png"}),
    })
    return server


@pytest.fixture(scope="module")
def avatar_server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as server:
        yield serve_avatars(server)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, avatar_server: LoopbackServer,
          ) -> tuple[Path, Path, Path]:
    tmp = tmp_path_factory.mktemp("avatars")
    members = registry(tmp, avatar_server)
    output = build_site(tmp / "first", deep_chain=False, MEMBERS_FILE=str(members),
                        CACHE_PATH=str(tmp / "cache"), AVATARS_ALLOW_PRIVATE=True)
    return tmp, members, output


def test_the_build_serves_the_png_from_the_site_and_initials_for_the_rest(
        built: tuple[Path, Path, Path]) -> None:
    _, _, output = built
    assert sorted(p.name for p in (output / "avatars").iterdir()) == [
        "alice-example-2x.webp", "alice-example.webp"]
    assert decoded((output / "avatars" / "alice-example.webp").read_bytes()).size == (96, 96)
    assert decoded((output / "avatars" / "alice-example-2x.webp").read_bytes()).size == (192, 192)
    profile = page(output, "members/alice-example/")
    picture = next(i for i in profile.iter("img") if "avatar" in i.attrs.get("class", ""))
    assert picture.attrs["src"] == "../../avatars/alice-example.webp"
    assert "../../avatars/alice-example-2x.webp 2x" in picture.attrs["srcset"]
    assert picture.attrs["alt"] == "Picture of Alice Example"
    river = page(output, "")
    assert any(i.attrs.get("src") == "./avatars/alice-example.webp" and i.attrs["alt"] == ""
               for i in river.iter("img"))  # beside the name: decorative
    for member, initials in (("bob-quiet", "BQ"), ("carol-newcomer", "CN"),
                             ("dave-missing", "DM")):
        profile = page(output, f"members/{member}/")
        assert not [i for i in profile.iter("img") if "avatar" in i.attrs.get("class", "")]
        badge = next(s for s in profile.iter("span") if "avatar" in s.attrs.get("class", ""))
        assert badge.text == initials


def test_failures_are_logged_with_member_and_url(
        tmp_path: Path, server: LoopbackServer, caplog: pytest.LogCaptureFixture) -> None:
    # A server of its own: Pelican logs a given warning only once per process.
    avatar_server = serve_avatars(server)
    members = registry(tmp_path, avatar_server)
    with caplog.at_level(logging.WARNING):
        build_site(tmp_path / "site", deep_chain=False, MEMBERS_FILE=str(members),
                   AVATARS_ALLOW_PRIVATE=True)
    lines = [r.getMessage() for r in caplog.records if "avatars:" in r.getMessage()]
    expected = {"bob-quiet": ("/bob.svg", "SVG"), "carol-newcomer": ("/carol.png", "too large"),
                "dave-missing": ("/gone.png", "HTTP 404")}
    for member, (path, reason) in expected.items():
        assert any(f"member {member}," in line and avatar_server.url(path) in line
                   and reason in line and "initials" in line for line in lines), (member, lines)


def test_rebuilds_reuse_the_cache_and_ask_with_a_conditional_get(
        built: tuple[Path, Path, Path], avatar_server: LoopbackServer) -> None:
    tmp, members, _ = built
    before, svg_before = avatar_server.hits("/alice.png"), avatar_server.hits("/bob.svg")
    output = build_site(tmp / "second", deep_chain=False, MEMBERS_FILE=str(members),
                        CACHE_PATH=str(tmp / "cache"), AVATARS_ALLOW_PRIVATE=True)
    assert avatar_server.hits("/alice.png") == before  # checked recently: no request at all
    assert avatar_server.hits("/bob.svg") == svg_before  # refused before: remembered
    assert (output / "avatars" / "alice-example.webp").is_file()
    output = build_site(tmp / "third", deep_chain=False, MEMBERS_FILE=str(members),
                        CACHE_PATH=str(tmp / "cache"), AVATARS_ALLOW_PRIVATE=True,
                        AVATARS_REFRESH_SECONDS=0)
    asked = [r for r in avatar_server.requests if r.path == "/alice.png"][-1]
    assert asked.headers.get("if-none-match") == ETAG  # answered 304: nothing downloaded
    assert (output / "avatars" / "alice-example.webp").read_bytes() == (
        tmp / "first" / "output" / "avatars" / "alice-example.webp").read_bytes()


def test_private_addresses_are_refused_unless_allowed(
        tmp_path: Path, avatar_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGGREGATOR_ALLOW_PRIVATE", raising=False)
    members = registry(tmp_path, avatar_server)
    before = len(avatar_server.requests)
    output = build_site(tmp_path / "site", deep_chain=False, MEMBERS_FILE=str(members))
    assert not (output / "avatars").exists() or not list((output / "avatars").iterdir())
    assert len(avatar_server.requests) == before
    monkeypatch.setenv("AGGREGATOR_ALLOW_PRIVATE", "1")
    output = build_site(tmp_path / "again", deep_chain=False, MEMBERS_FILE=str(members))
    assert (output / "avatars" / "alice-example.webp").is_file()
