"""Widget weight: the document for 20 posts of maximum length with media, and the loader.

    .venv/bin/python benchmarks/widget.py [--quick]

"Maximum length" is the longest card the widget shows: the widget cuts a post's text at
WIDGET_TEXT_LIMIT (280 characters, what X allows) and a feed title at WIDGET_TITLE_LIMIT;
posts alternate between feed posts (title and text past both caps) and X posts (280
characters with 3 hashtags, 2 mentions and 2 links, each of which becomes markup). Each
has one local image whose alt text is a full sentence (150 characters) and a "Tagged
because" reason. A second row, "adversarial", makes every word of the X posts a link and
gives every image a 420-character alt text. Sizes are bytes on the wire,
raw and gzip-compressed (a static host or CDN compresses text). Targets: widget document
under 30 KB, loader under 3 KB.
"""

from __future__ import annotations

import argparse
import gzip
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aggregator.models import Media, Tag
from aggregator.render import render_site
from aggregator.render.cards import TEXT_LIMIT
from benchmarks._report import write_section
from tests.test_render_support import X_SOURCE, make_post, make_test_app

WORDS = ("Peacekeepers from #UNMIK met community leaders in North Mitrovica with @UNPeacekeeping "
         "https://unmik.unmissions.org/news/community-dialogue-north-mitrovica-2026 to discuss "
         "freedom of movement, returns and the protection of cultural heritage sites. ")


def _long(limit: int) -> str:
    text = (WORDS * (limit // len(WORDS) + 2))[: limit + 40]
    return text


X_TEXT = ("Day 3 of the #UNMIK community dialogue in North Mitrovica with @UNPeacekeeping and local "
          "leaders: freedom of movement, returns and the protection of heritage sites. Read more "
          "https://t.co/AbCdEfGhIj #Kosovo #A4P @UN https://t.co/KlMnOpQrSt and more to come tomorrow")[:280]
X_ALL_LINKS = ("#UNMIK @UNPeacekeeping https://t.co/abcdefghij " * 10)[:280]


ALT = ("Two peacekeepers in blue helmets talk with a group of residents outside the municipal "
       "building in North Mitrovica on a sunny afternoon, 2026.")[:150]
LONG_ALT = ("A peacekeeper speaks with residents " * 20)[:420]


def build(root: Path, posts: int, x_text: str = X_TEXT, alt: str = ALT) -> dict[str, int]:
    app = make_test_app(root)
    tagged = []
    for i in range(1, posts + 1):
        media = [Media(url=f"https://cdn.example.org/{i}.jpg", alt=alt,
                       local_path=f"media/{i:02d}/{'a' * 20}.webp", width=1200, height=800)]
        if i % 2:
            post = make_post(i, title=_long(300), text="Update: " + _long(TEXT_LIMIT * 2), media=media)
        else:
            post = make_post(i, kind="x", source_id=X_SOURCE, text=x_text, media=media,
                             author="UNMIK", handle="UNMIK_Kosovo", url=f"https://x.com/UNMIK/status/{10**17 + i}")
        tagged.append((post, [Tag("UNMIK", "hashtag", "#UNMIK")]))
    app.store.save_posts(tagged)
    started = time.perf_counter()
    render_site(app, ["UNMIK"])
    elapsed = time.perf_counter() - started
    out = root / "output"
    doc = (out / "widget/unmik.html").read_bytes()
    loader = (out / "widget/embed.js").read_bytes()
    api = (out / "api/unmik.json").read_bytes()
    app.close()
    return {
        "doc": len(doc), "doc_gz": len(gzip.compress(doc, 9)),
        "loader": len(loader), "loader_gz": len(gzip.compress(loader, 9)),
        "api": len(api), "render_ms": round(elapsed * 1000),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="only the 20-post case")
    args = parser.parse_args()
    rows = []
    cases = [("20", 20, X_TEXT, ALT)]
    if not args.quick:
        cases += [("20, adversarial", 20, X_ALL_LINKS, LONG_ALT),
                  ("50 (the most a widget holds)", 50, X_TEXT, ALT)]
    for label, n, x_text, alt in cases:
        with tempfile.TemporaryDirectory() as tmp:
            rows.append((label, build(Path(tmp), n, x_text, alt)))
    twenty = rows[0][1]
    ok_doc = twenty["doc"] < 30 * 1024
    ok_loader = twenty["loader"] < 3 * 1024
    lines = [
        "## Widget weight (`benchmarks/widget.py`)",
        "",
        "Posts of maximum length with one local image each (see the script's docstring).",
        "",
        "| posts | widget document | gzip | loader `embed.js` | gzip | `api/<m>.json` | render one mission |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, r in rows:
        lines.append(f"| {label} | {r['doc']:,} B | {r['doc_gz']:,} B | {r['loader']:,} B | {r['loader_gz']:,} B "
                     f"| {r['api']:,} B | {r['render_ms']} ms |")
    lines += [
        "",
        f"Targets: widget document for 20 posts under 30 KB ({30 * 1024:,} B): "
        f"**{'met' if ok_doc else 'missed'}** ({twenty['doc']:,} B); "
        f"loader under 3 KB ({3 * 1024:,} B): **{'met' if ok_loader else 'missed'}** ({twenty['loader']:,} B).",
    ]
    text = "\n".join(lines)
    print(text)
    write_section("widget", text)


if __name__ == "__main__":
    main()
