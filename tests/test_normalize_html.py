"""The sanitizer and html_to_text: properties over generated hostile HTML (hypothesis)."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.normalize.html import html_to_text, sanitize_html, sanitize_with_text

TAGS = ["a", "img", "p", "div", "script", "style", "svg", "iframe", "b", "span", "object",
        "form", "math", "li", "table", "td", "noscript", "template", "video"]
EVENTS = ["onclick", "onerror", "onload", "onmouseover", "ONFOCUS", "OnAnimationStart"]
SCHEMES = ["javascript:", "JaVaScRiPt:", " javascript:", "java\tscript:", "jav&#x61;script:",
           "&#106;avascript:", "vbscript:", "data:text/html,", "https://ok.example/", "/rel/"]


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.extend((k, v or "") for k, v in attrs)


def _scan(markup: str) -> _Collector:
    c = _Collector()
    c.feed(markup)
    c.close()
    return c


text = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=20)


@st.composite
def hostile(draw: st.DrawFn) -> str:
    parts = []
    for _ in range(draw(st.integers(1, 6))):
        tag = draw(st.sampled_from(TAGS))
        attrs = []
        if draw(st.booleans()):
            attrs.append(f'{draw(st.sampled_from(EVENTS))}="alert(1)"')
        for name in draw(st.lists(st.sampled_from(["href", "src", "action", "xlink:href"]), max_size=2)):
            attrs.append(f'{name}="{draw(st.sampled_from(SCHEMES))}alert(1)"')
        inner = draw(text).replace("<", " ")
        parts.append(f"<{tag} {' '.join(attrs)}>{inner}</{tag}>")
    return draw(st.sampled_from(["", "<!-- c -->", "<p>"])) + "".join(parts)


def _bad_url(value: str) -> bool:
    cleaned = re.sub(r"[\x00-\x20]", "", html.unescape(value)).lower()
    return cleaned.startswith(("javascript:", "vbscript:", "data:"))


@settings(max_examples=300, deadline=None)
@given(hostile(), st.sampled_from([None, "https://example.org/feed/", "not a url"]))
def test_no_script_no_event_handler_no_javascript_url_survives(markup: str, base: str | None) -> None:
    out = sanitize_html(markup, base)
    found = _scan(out)
    assert not {"script", "style", "iframe", "object", "svg", "math", "form"} & set(found.tags)
    assert not any(name.lower().startswith("on") for name, _ in found.attrs)
    assert not any(_bad_url(v) for name, v in found.attrs if name in ("href", "src"))
    for name, value in found.attrs:
        if name == "rel":
            assert value == "noopener nofollow ugc"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", "p", "em", "li"]), max_size=4), text)
def test_every_link_gets_rel_and_relative_urls_resolve(tags: list[str], label: str) -> None:
    markup = "".join(f"<{t}>" for t in tags) + f'<a href="post/1">{html.escape(label)}</a>'
    out = sanitize_html(markup, "https://example.org/news/")
    assert '<a href="https://example.org/news/post/1" rel="noopener nofollow ugc">' in out


words = st.text(alphabet=st.characters(whitelist_categories=("L", "N")), min_size=1, max_size=8)


@settings(max_examples=300, deadline=None)
@given(st.lists(words, min_size=1, max_size=8), st.lists(st.sampled_from(TAGS), max_size=8))
def test_html_to_text_keeps_every_word_in_order_and_no_markup(
    ws: list[str], tags: list[str]
) -> None:
    safe = [t for t in tags if t not in ("script", "style", "iframe", "object", "svg", "math",
                                         "noscript", "template", "form")]
    markup = ""
    for i, w in enumerate(ws):
        t = safe[i % len(safe)] if safe else "span"
        markup += f"<{t} class='x'>{html.escape(w)} </{t}>"
    out = html_to_text(markup)
    assert "<" not in out and ">" not in out
    assert out.split() == [w for w in " ".join(ws).split()]


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from("\n\t "),
               max_size=60))
def test_html_to_text_of_escaped_text_gives_the_text_back(value: str) -> None:
    out = html_to_text(html.escape(value))
    expected = " ".join(value.split())
    assert " ".join(out.split()) == expected


def test_script_and_style_content_is_dropped_from_text() -> None:
    assert html_to_text("<p>Hi</p><script>alert('x')</script><style>p{}</style>there") == "Hi\nthere"


# --- sanitize_with_text: its fast path (text read off nh3's output) equals html_to_text ----

SOUP_TAGS = [*TAGS, "pre", "table", "tbody", "tr", "th", "caption", "colgroup", "em", "u",
             "textarea", "xmp", "plaintext", "select", "marquee", "button", "h1", "br"]
SOUP_ATTRS = ['href="/x?a=1&b=2"', 'title="a>b"', "title='q\"<p>'", "title=x>y", 'alt="<b>"',
              'src="i.png"', "colspan=2", 'title="a\nb"']
SOUP_TEXT = st.sampled_from([
    *"ab <>&;#\n\r\t\f\u00a0\u200b\u2003\x1c\"'/", "&amp;", "&lt;", "&gt;", "&nbsp;", "&#13;",
    "\x00", "&#0;", "&#x200b;", "&ndash;", "&notit;", "&amp", "\r\n", "  ", "<!-- c -->",
    "<![CDATA[x<y]]>", "<?pi?>", "</", "<3"])


@st.composite
def tag_soup(draw: st.DrawFn) -> str:
    """Unbalanced tags (kept, hoisted, dropped, table parts, raw text), quoted and unquoted
    attributes holding < > and quotes, CRs, NULs, entities, leading line breaks in <pre>."""
    parts = []
    for _ in range(draw(st.integers(1, 20))):
        kind = draw(st.sampled_from(["open", "open", "close", "text", "text", "text"]))
        tag = draw(st.sampled_from(SOUP_TAGS))
        if kind == "open":
            attrs = draw(st.lists(st.sampled_from(SOUP_ATTRS), max_size=2))
            parts.append(f"<{' '.join([tag, *attrs])}>")
        elif kind == "close":
            parts.append(f"</{tag}>")
        else:
            parts.append("".join(draw(st.lists(SOUP_TEXT, min_size=1, max_size=4))))
    return "".join(parts)


@settings(max_examples=500, deadline=None)
@given(tag_soup() | hostile(), st.sampled_from([None, "https://example.org/feed/"]))
def test_sanitize_with_text_equals_sanitize_then_html_to_text(markup: str, base: str | None) -> None:
    clean = sanitize_html(markup, base)
    assert sanitize_with_text(markup, base) == (clean, html_to_text(clean))


def test_text_read_off_sanitized_html_handles_what_parsing_changes() -> None:
    for markup in ["<p>a&#13;b\r\nc\rd</p>", "x<pre>\n\nkept</pre>y", '<a title="1>2">t</a>',
                   "<table><tr><td>a</td></tr></table>b", "a&#0;b"]:
        clean = sanitize_html(markup)
        assert sanitize_with_text(markup) == (clean, html_to_text(clean))


def _tidy_by_line(text: str) -> str:
    """html_to_text's whitespace rule as first written (one regex substitution per line)."""
    lines = [re.sub(r"[ \t\f\v\r\u00a0\u200b]+", " ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n(?:\s*\n)+", "\n", "\n".join(lines)).strip()


def _tidy_source(value: str) -> str:
    """What nh3 hands html_to_text for escaped ``value``: CR and CRLF as LF, NUL dropped."""
    return value.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")


@settings(max_examples=500, deadline=None)
@given(st.text(st.sampled_from("ab \n\r\t\f\v\u00a0\u200b\u2003\u2028\x1c\x85")
               | st.characters(blacklist_categories=("Cs",)), max_size=40))
def test_html_to_text_spaces_and_line_breaks_as_first_written(value: str) -> None:
    assert html_to_text(html.escape(value)) == _tidy_by_line(_tidy_source(value))
