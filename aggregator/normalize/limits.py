"""What one post may cost and carry (#16 items 1 and 2): pure functions on text and ``Post``.

- Characters XML 1.0 forbids (C0 controls other than tab, line feed and carriage return; lone
  surrogates; U+FFFE and U+FFFF) are removed from every field a page, feed or email shows
  (percent-encoded in URLs, as a browser would send them): one such character made the
  feed writer refuse the whole feed. The raw entry
  (``Post.raw``) keeps them, exactly as the source sent them.
- Stored text is cut at ``MAX_TEXT_CHARS``, titles at ``MAX_TITLE_CHARS``, and HTML is cut at
  ``MAX_HTML_CHARS`` *before* it is sanitized; each cut is marked with ``CUT_MARK``.
- Nesting deeper than ``MAX_DEPTH`` elements is flattened before sanitizing (the tags beyond
  that depth are dropped, their text kept): the sanitizer's cost grows with the square of
  the depth of nested blocks (20,000 nested ``<div>`` took 1 s, 40,000 took 5 s).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from aggregator.models import XML_FORBIDDEN, Media, Post

MAX_TEXT_CHARS = 20_000  # plain text of a post (a long UN press release is ~8,000)
MAX_TITLE_CHARS = 1_000
MAX_HTML_CHARS = 100_000  # HTML handed to the sanitizer
MAX_DEPTH = 64  # nested elements kept; deeper tags are dropped, their text kept
CUT_MARK = "[…]"  # ends a text that was cut; the whole of it is at the source


# A start or end tag (attribute values may hold ">" inside quotes), a comment, or a
# declaration; only tags count towards the depth.
_TAG = re.compile(
    r"<!--.*?(?:-->|$)|<[!?][^>]*>?|<(/?)([A-Za-z][A-Za-z0-9:-]*)((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>",
    re.S,
)
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
     "source", "track", "wbr"}
)  # fmt: skip


def xml_safe(text: str) -> str:
    """``text`` without the characters XML 1.0 forbids."""
    return XML_FORBIDDEN.sub("", text) if XML_FORBIDDEN.search(text) else text


def _percent(match: re.Match[str]) -> str:
    char = match.group()
    return "" if "\ud800" <= char <= "\udfff" else "".join(f"%{b:02X}" for b in char.encode())


def url_safe(url: str) -> str:
    """``url`` with XML-forbidden characters percent-encoded (as a browser sends them)."""
    return XML_FORBIDDEN.sub(_percent, url) if XML_FORBIDDEN.search(url) else url


def cut_text(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    """``text`` cut at ``limit`` characters on a word boundary, ending in ``CUT_MARK``."""
    if len(text) <= limit:
        return text
    head = text[: limit - len(CUT_MARK) - 1]
    space = head.rfind(" ", max(0, len(head) - 200))
    return (head[:space] if space > 0 else head).rstrip() + " " + CUT_MARK


def bound_html(html: str) -> str:
    """``html`` cut at ``MAX_HTML_CHARS`` (marked) with nesting past ``MAX_DEPTH`` flattened.

    The result still goes through the sanitizer, which closes what the cut left open; this
    only bounds what the sanitizer is given.
    """
    if len(html) > MAX_HTML_CHARS:
        html = html[:MAX_HTML_CHARS]
        last_open = html.rfind("<")
        if last_open > html.rfind(">"):
            html = html[:last_open]  # never end inside a tag
        html += f"<p>{CUT_MARK}</p>"
    if html.count("<") <= MAX_DEPTH:
        return html
    return _flatten(html)


def _flatten(html: str) -> str:
    depth = 0
    out: list[str] = []
    last = 0
    for match in _TAG.finditer(html):
        closing, name = match.group(1), match.group(2)
        if name is None:
            continue
        name = name.lower()
        if name in _VOID or (match.group(3) or "").rstrip().endswith("/"):
            keep = depth < MAX_DEPTH
        elif closing:
            keep = depth <= MAX_DEPTH
            depth = max(0, depth - 1)
        else:
            depth += 1
            keep = depth <= MAX_DEPTH
        if not keep:
            out.append(html[last : match.start()])
            out.append(" ")
            last = match.end()
    out.append(html[last:])
    return "".join(out)


def _media(media: tuple[Media, ...]) -> tuple[Media, ...]:
    if not any(XML_FORBIDDEN.search(m.url + m.alt + (m.preview_url or "")) for m in media):
        return media
    return tuple(replace(m, url=url_safe(m.url), alt=xml_safe(m.alt),
                         preview_url=_optional(m.preview_url, url_safe)) for m in media)


def _optional(text: str | None, clean: Callable[[str], str] = xml_safe) -> str | None:
    return clean(text) if text else text


def bounded_post(post: Post) -> Post:
    """``post`` with XML-forbidden characters removed and text and title cut to their caps."""
    title = cut_text(xml_safe(post.title), MAX_TITLE_CHARS)
    text = cut_text(xml_safe(post.text))
    html = xml_safe(post.html)
    fields = (post.author, post.author_handle or "", post.url or "", post.language or "",
              *post.links, *post.hashtags, *post.mentions)
    if (title, text, html) == (post.title, post.text, post.html) and not any(
        XML_FORBIDDEN.search(f) for f in fields
    ) and _media(post.media) is post.media:
        return post
    return replace(
        post,
        title=title,
        text=text,
        html=html,
        author=xml_safe(post.author),
        author_handle=_optional(post.author_handle),
        url=_optional(post.url, url_safe),
        canonical_url=_optional(post.canonical_url, url_safe),
        language=_optional(post.language),
        media=_media(post.media),
        links=tuple(url_safe(x) for x in post.links),
        hashtags=tuple(xml_safe(x) for x in post.hashtags),
        mentions=tuple(xml_safe(x) for x in post.mentions),
    )


__all__ = [
    "CUT_MARK", "MAX_DEPTH", "MAX_HTML_CHARS", "MAX_TEXT_CHARS", "MAX_TITLE_CHARS",
    "XML_FORBIDDEN", "bound_html", "bounded_post", "cut_text", "url_safe", "xml_safe",
]  # fmt: skip
