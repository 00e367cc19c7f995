"""Clean untrusted HTML from sources, and turn HTML into plain text.

The sanitizer is nh3 (Python bindings to the Rust crate ammonia), an allowlist sanitizer:
only the tags and attributes below survive, URLs must use http, https or mailto, every link
gets ``rel="noopener nofollow ugc"``, and relative URLs are resolved against the entry's
(or feed's) address with ammonia's own ``rewrite_with_base`` so that a rewritten URL is
still checked against the scheme allowlist. feedparser's own sanitizer is turned off
(see ``sources/feed_parse.py``): this is the one place that decides what HTML is safe.
"""

from __future__ import annotations

import html as html_lib
import re
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import nh3

from aggregator.normalize.limits import bound_html

LINK_REL = "noopener nofollow ugc"

ALLOWED_TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "div", "dl",
        "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i",
        "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "small", "span",
        "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "time",
        "tr", "u", "ul",
    }
)  # fmt: skip

ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "hreflang", "title"},
    "abbr": {"title"},
    "blockquote": {"cite"},
    "img": {"src", "alt", "title", "width", "height"},
    "ol": {"start"},
    "q": {"cite"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "time": {"datetime"},
}

URL_SCHEMES = frozenset({"http", "https", "mailto"})

# Whose content is dropped with the tag, not just the tag.
DROP_WITH_CONTENT = frozenset({"script", "style", "iframe", "object", "embed", "noscript",
                               "template", "svg", "math", "form", "select", "textarea"})

def _allowlist_cleaner(**extra: Any) -> nh3.Cleaner:
    """The one allowlist; ``extra`` adds options (a base URL for relative links)."""
    return nh3.Cleaner(
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(DROP_WITH_CONTENT),
        attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
        **extra,
    )


_BASE_CLEANER = _allowlist_cleaner()

_TEXT_CLEANER = nh3.Cleaner(
    tags=set(),
    clean_content_tags=set(DROP_WITH_CONTENT),
    attributes={},
    strip_comments=True,
    link_rel=None,
)

# Block-level boundaries become line breaks in plain text.
_BLOCK = re.compile(
    r"<(?=/?(?:p|div|br|li|ul|ol|h[1-6]|tr|table|blockquote|pre|section|article|header|"
    r"footer|figure|figcaption|dd|dt|dl|hr)\b)",
    re.IGNORECASE,
)
# What counts as a space in plain text besides " " (U+200B is not whitespace to Python, but
# is to readers); a run of spaces becomes one " ".
_OTHER_SPACES = "\t\f\v\r\u00a0\u200b"
_NEWLINES = re.compile(r"\n(?:\s*\n)+")

# A tag in nh3's output: ``<name attr="value" ...>`` or ``</name>``. Attribute values are
# always double-quoted with ``"`` escaped, and text has ``<`` escaped, so outside quotes every
# ``<`` opens a tag and the first ``>`` closes it (a ``>`` inside a value is skipped).
_SANITIZED_TAG = re.compile(r'<[^>"]*(?:"[^"]*"[^>"]*)*>')


def _usable_base(base_url: str | None) -> str | None:
    if not base_url:
        return None
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return base_url


@lru_cache(maxsize=256)
def _cleaner_for(base_url: str) -> nh3.Cleaner:
    return _allowlist_cleaner(url_relative=("rewrite_with_base", base_url))


def sanitize_html(html: str, base_url: str | None = None) -> str:
    """Return ``html`` with everything outside the allowlist removed.

    Relative ``href``/``src`` values are resolved against ``base_url`` when it is an
    absolute http(s) URL; otherwise they are kept as they are.
    """
    if not html:
        return ""
    html = bound_html(html)
    base = _usable_base(base_url)
    if base is None:
        return str(_BASE_CLEANER.clean(html))
    try:
        cleaner = _cleaner_for(base)
    except ValueError:  # ammonia refused the base (e.g. a malformed host)
        return str(_BASE_CLEANER.clean(html))
    return str(cleaner.clean(html))


def html_to_text(html: str) -> str:
    """Plain text of an HTML fragment: tags dropped, entities decoded, blocks on new lines.

    Script and style content is dropped; runs of spaces collapse to one, runs of line
    breaks to one; the result is stripped.
    """
    if not html:
        return ""
    marked = _BLOCK.sub("\n<", bound_html(html))
    return _tidy(html_lib.unescape(str(_TEXT_CLEANER.clean(marked))))


def sanitize_with_text(html: str, base_url: str | None = None) -> tuple[str, str]:
    """``sanitize_html(html, base_url)`` and the ``html_to_text`` of that, made together.

    Same result in about half the time: the text is read off the sanitized HTML without the
    second nh3 parse that ``html_to_text`` needs for arbitrary HTML (see ``_sanitized_text``).
    """
    clean = sanitize_html(html, base_url)
    return clean, _sanitized_text(clean)


def _sanitized_text(clean: str) -> str:
    """``html_to_text(clean)`` for ``clean`` made by ``sanitize_html``, by stripping its tags.

    Why it is the same: ``html_to_text`` parses ``clean`` again and keeps only the text, in
    tree order. Parsing nh3's output gives back its text runs in document order, with three
    exceptions. Foster parenting moves text out of a table: tables take the general path. A
    NUL is dropped (nh3 never emits one, but it is cheap to rule out). And the tokenizer turns
    CR and CRLF into LF (done here too), and the parser drops a LF right after ``<pre>``: kept
    here, it only adds a line break next to the one ``_BLOCK`` put before ``<pre>``, and
    ``_tidy`` collapses any run of line breaks to one. tests/test_normalize_html.py checks
    this against ``html_to_text`` on generated hostile HTML.
    """
    if "<table" in clean or "\x00" in clean:
        return html_to_text(clean)
    marked = _BLOCK.sub("\n<", clean).replace("\r\n", "\n").replace("\r", "\n")
    return _tidy(html_lib.unescape(_SANITIZED_TAG.sub("", marked)))


def _tidy(text: str) -> str:
    """Runs of spaces to one space, lines stripped, runs of line breaks to one, stripped.

    Each kind of space is replaced by " " and double spaces are collapsed with str.replace,
    rather than with a regex substitution: that one matched (and rebuilt) the single space
    after every word, and was half of ``html_to_text``'s time.
    """
    for space in _OTHER_SPACES:
        text = text.replace(space, " ")
    while "  " in text:
        text = text.replace("  ", " ")
    lines = [line.strip() for line in text.split("\n")]
    return _NEWLINES.sub("\n", "\n".join(lines)).strip()


__all__ = ["LINK_REL", "html_to_text", "sanitize_html", "sanitize_with_text"]
