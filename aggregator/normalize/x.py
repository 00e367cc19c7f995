"""X posts (API v2 objects with their includes) -> ``Post``. Pure.

``RawItem.data`` for an X post is ``{"tweet": {...}, "includes": {"users": [...],
"tweets": [...], "media": [...]}}``: the post as X returned it and the included objects it
refers to (author, retweeted or quoted posts and their authors, media), so the raw JSON kept
in the archive is enough to normalize it again.

- A post's id comes from its X status id alone (``x:<id>``; for an edited post, the id of
  its first version), so the same status seen through an RSS bridge is stored once: the
  feed side calls :func:`x_status_id` on entry links.
- Retweets show the retweeted post in full (X truncates the ``RT @...`` text); quotes show
  the quoted post beneath. t.co links become their expanded URLs; links to the post's own
  media are dropped from the text (the media are shown with their alt text instead).
- X escapes ``&``, ``<`` and ``>`` in post text; the plain text is unescaped, the HTML is
  built from escaped pieces and passed through the project's sanitizer.
"""

from __future__ import annotations

import hashlib
import html as html_lib
import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from aggregator.models import LONE_SURROGATE, Media, Post, RawItem, parse_iso, raw_json
from aggregator.normalize.html import LINK_REL, sanitize_html
from aggregator.normalize.language import resolve

X_WEB = "https://x.com"
_MEDIA_KINDS = {"photo": "image", "video": "video", "animated_gif": "animated_gif"}
_WEB_PATH = re.compile(r"^https?://([^/\s?#]+)(/[^\s]*)$")
X_HOSTS = frozenset({"x.com", "www.x.com", "mobile.x.com", "twitter.com", "www.twitter.com",
                     "mobile.twitter.com"})
_STATUS_PATH = re.compile(
    r"^/(?:[A-Za-z0-9_]{1,15}|i/web|i)/status(?:es)?/(\d{1,20})(?:[/?#]|$)"
)


def x_status_id(url: str | None, *, any_host: bool = False) -> str | None:
    """The X status id in a link to an X post, else None.

    Only X's own hosts (``X_HOSTS``) count, unless ``any_host``: an entry of an X handle read
    through an RSS bridge (Nitter, RSSHub...) links to the bridge's host. Another site's
    ``/<name>/status/<digits>`` is not an X post (#14).

    >>> x_status_id("https://twitter.com/UNMISSmedia/status/1576994746135764992")
    '1576994746135764992'
    >>> x_status_id("https://nitter.net/UNMISSmedia/status/1576994746135764992#m") is None
    True
    """
    if not url:
        return None
    match = _WEB_PATH.match(url.strip())
    if not match:
        return None
    if not any_host and (match.group(1).lower().split("@")[-1].split(":")[0] not in X_HOSTS):
        return None
    found = _STATUS_PATH.match(match.group(2))
    return found.group(1) if found else None


def x_post_id(status_id: str) -> str:
    """The archive id of the post with this X status id (API and bridges alike)."""
    return f"x:{status_id}"


def status_url(status_id: str, username: str | None = None) -> str:
    return f"{X_WEB}/{username or 'i/web'}/status/{status_id}"


def original_id(tweet: Mapping[str, Any]) -> str:
    """The id of a post's first version (edits keep the post, not the id)."""
    history = tweet.get("edit_history_tweet_ids") or []
    return str(history[0]) if history else str(tweet["id"])


def is_latest_version(tweet: Mapping[str, Any]) -> bool:
    history = tweet.get("edit_history_tweet_ids") or []
    return not history or str(history[-1]) == str(tweet["id"])


# --- text with entities ----------------------------------------------------------------


def _link(href: str, label: str) -> str:
    return f'<a href="{html_lib.escape(href)}" rel="{LINK_REL}">{html_lib.escape(label)}</a>'


def _tokens(entities: Mapping[str, Any], drop_urls: set[str]) -> list[tuple[int, str, str, str]]:
    """(start, literal in text, plain replacement, html replacement), in text order."""
    out: list[tuple[int, str, str, str]] = []
    for e in entities.get("urls") or []:
        short = str(e.get("url") or "")
        if not short:
            continue
        target = str(e.get("unwound_url") or e.get("expanded_url") or short)
        if short in drop_urls or target in drop_urls or e.get("media_key"):
            out.append((int(e.get("start", 0)), short, "", ""))
            continue
        label = str(e.get("display_url") or target)
        out.append((int(e.get("start", 0)), short, target, _link(target, label)))
    for e in entities.get("hashtags") or []:
        tag = str(e.get("tag") or "")
        if tag:
            literal = f"#{tag}"
            out.append((int(e.get("start", 0)), literal, literal, _link(f"{X_WEB}/hashtag/{tag}", literal)))
    for e in entities.get("mentions") or []:
        user = str(e.get("username") or "")
        if user:
            literal = f"@{user}"
            out.append((int(e.get("start", 0)), literal, literal, _link(f"{X_WEB}/{user}", literal)))
    return sorted(out, key=lambda t: t[0])


def _find(text: str, literal: str, start: int, cursor: int) -> int:
    """Where ``literal`` is in ``text``: at its stated offset if it is there, else searched."""
    if text[start : start + len(literal)].lower() == literal.lower() and start >= cursor:
        return start
    return text.lower().find(literal.lower(), cursor)


def render_text(
    text: str, entities: Mapping[str, Any] | None, drop_urls: set[str] | None = None
) -> tuple[str, str]:
    """(plain text, HTML) of X post text with t.co links expanded and entities linked."""
    plain: list[str] = []
    markup: list[str] = []
    cursor = 0
    for start, literal, plain_rep, html_rep in _tokens(entities or {}, drop_urls or set()):
        at = _find(text, literal, start, cursor)
        if at < 0:
            continue
        piece = html_lib.unescape(text[cursor:at])
        plain.append(piece)
        markup.append(html_lib.escape(piece))
        plain.append(plain_rep)
        markup.append(html_rep)
        cursor = at + len(literal)
    rest = html_lib.unescape(text[cursor:])
    plain.append(rest)
    markup.append(html_lib.escape(rest))
    flat = re.sub(r"[ \t]+\n", "\n", "".join(plain)).strip()
    body = "".join(markup).strip().replace("\n", "<br>")
    return flat, body


# --- the post ------------------------------------------------------------------------


def _index(items: Sequence[Mapping[str, Any]] | None, key: str) -> dict[str, Mapping[str, Any]]:
    return {str(i.get(key)): i for i in items or [] if i.get(key) is not None}


def _media(tweet: Mapping[str, Any], media: Mapping[str, Mapping[str, Any]]) -> list[Media]:
    out: list[Media] = []
    for key in (tweet.get("attachments") or {}).get("media_keys") or []:
        m = media.get(str(key))
        if not m:
            continue
        url = m.get("url") or m.get("preview_image_url")
        if not url:
            continue
        out.append(
            Media(
                url=str(url), kind=_MEDIA_KINDS.get(str(m.get("type")), str(m.get("type") or "image")),
                alt=str(m.get("alt_text") or ""), width=m.get("width"), height=m.get("height"),
                preview_url=m.get("preview_image_url"),
            )
        )
    return out


def _own_media_urls(tweet: Mapping[str, Any]) -> set[str]:
    """Links X adds to the text for the post's own photos and videos."""
    out = set()
    for e in (tweet.get("entities") or {}).get("urls") or []:
        target = str(e.get("expanded_url") or "")
        if e.get("media_key") or re.search(r"/status/\d+/(photo|video)/\d+$", target):
            out.add(str(e.get("url")))
    return out


def _refs(tweet: Mapping[str, Any]) -> dict[str, str]:
    return {str(r.get("type")): str(r.get("id")) for r in tweet.get("referenced_tweets") or []}


def _title(text: str, limit: int = 120) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def _scrub(value: Any) -> Any:
    """``value`` with every lone surrogate replaced by U+FFFD. X cuts long texts inside an
    emoji at times, and its JSON then carries half of a surrogate pair, which no UTF-8 text
    (the sanitizer's, the archive's) can hold."""
    if isinstance(value, str):
        return LONE_SURROGATE.sub("\ufffd", value) if not value.isascii() else value
    if isinstance(value, Mapping):
        return {k: _scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def normalize_x(item: RawItem, *, collected_at: datetime) -> Post:
    """Turn one X post with its includes into a ``Post`` (``raw`` keeps the payload as it came)."""
    data: Mapping[str, Any] = _scrub(item.data)
    tweet: Mapping[str, Any] = data["tweet"]
    inc: Mapping[str, Any] = data.get("includes") or {}
    users, tweets = _index(inc.get("users"), "id"), _index(inc.get("tweets"), "id")
    media = _index(inc.get("media"), "media_key")
    author = users.get(str(tweet.get("author_id"))) or {}
    handle = str(author.get("username") or "") or None
    refs = _refs(tweet)
    status_id = str(tweet["id"])
    entities = tweet.get("entities") or {}
    hashtags = [str(h.get("tag")) for h in entities.get("hashtags") or [] if h.get("tag")]
    mentions = [str(m.get("username")) for m in entities.get("mentions") or [] if m.get("username")]
    shown = tweet
    retweeted = tweets.get(refs.get("retweeted", ""))
    quoted = tweets.get(refs.get("quoted", ""))
    if retweeted is not None:
        shown = retweeted
        orig = users.get(str(retweeted.get("author_id"))) or {}
        orig_handle = str(orig.get("username") or "")
        text, body = render_text(str(retweeted.get("text", "")), retweeted.get("entities"), _own_media_urls(retweeted))
        who = f"@{orig_handle}" if orig_handle else "a post"
        plain = f"RT {who}: {text}"
        by = _link(status_url(str(retweeted["id"]), orig_handle), who) if orig_handle else who
        html = f'<p class="x-retweet">Reposted from {by}</p><p>{body}</p>'
        if orig_handle and orig_handle not in mentions:
            mentions.insert(0, orig_handle)
        r_entities = retweeted.get("entities") or {}
        hashtags += [str(h.get("tag")) for h in r_entities.get("hashtags") or [] if h.get("tag")]
        mentions += [str(m.get("username")) for m in r_entities.get("mentions") or [] if m.get("username")]
    else:
        drop = _own_media_urls(tweet)
        if quoted is not None:
            drop |= {
                str(e.get("url")) for e in entities.get("urls") or []
                if x_status_id(str(e.get("expanded_url") or "")) == str(quoted["id"])
            }
        plain, body = render_text(str(tweet.get("text", "")), entities, drop)
        html = f"<p>{body}</p>"
        if quoted is not None:
            q_author = users.get(str(quoted.get("author_id"))) or {}
            q_handle = str(q_author.get("username") or "")
            q_text, q_body = render_text(str(quoted.get("text", "")), quoted.get("entities"), _own_media_urls(quoted))
            q_url = status_url(str(quoted["id"]), q_handle)
            who = f"@{q_handle}" if q_handle else "a post"
            html += f'<blockquote class="x-quote" cite="{html_lib.escape(q_url)}"><p>{q_body}</p><p>— {_link(q_url, who)}</p></blockquote>'
            plain = f"{plain}\n\n“{who}: {q_text}”"
    links = [
        str(e.get("unwound_url") or e.get("expanded_url"))
        for e in (shown.get("entities") or {}).get("urls") or []
        if e.get("expanded_url") and not e.get("media_key")
        and x_status_id(str(e.get("expanded_url"))) is None
    ]
    files = _media(shown, media) or _media(tweet, media)
    first = original_id(tweet)
    created = parse_iso(tweet.get("created_at"))
    edited = first != status_id
    first_version = tweets.get(first)
    published = parse_iso(first_version.get("created_at")) if edited and first_version else created
    language = resolve(shown.get("lang") or tweet.get("lang"), item.feed_language, "", plain)
    canonical = status_url(str(retweeted["id"])) if retweeted is not None else status_url(status_id)
    html = sanitize_html(html)
    digest = hashlib.sha256(
        json.dumps([plain, html, [(m.url, m.alt) for m in files]], ensure_ascii=False).encode()
    ).hexdigest()
    return Post(
        id=x_post_id(first), source_id=item.source_id, kind="x", external_id=status_id,
        url=status_url(status_id, handle), author=str(author.get("name") or handle or ""),
        author_handle=handle, title=_title(plain), text=plain, html=html,
        published_at=published or created, collected_at=collected_at,
        updated_at=created if edited else None,
        language=language.code, language_origin=language.origin,
        language_confidence=language.confidence, media=tuple(files),
        links=tuple(dict.fromkeys(links)), hashtags=tuple(dict.fromkeys(hashtags)),
        mentions=tuple(dict.fromkeys(mentions)), is_retweet="retweeted" in refs,
        is_reply="replied_to" in refs, is_quote="quoted" in refs, content_hash=digest,
        raw=raw_json(item.data), canonical_url=canonical,
        aliases=tuple(x_post_id(str(h)) for h in tweet.get("edit_history_tweet_ids") or []
                      if str(h) != first),
    )
