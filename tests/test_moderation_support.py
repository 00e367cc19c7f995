"""Shared set-up for the moderation, editors and stories tests (no tests of its own).

A small project in a temporary folder: config.yaml, three mission files, an archive, and
helpers that make posts and save them through ``Store.save_posts`` the way collection does.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from aggregator.app import App, make_app
from aggregator.config import load_config
from aggregator.models import Post, Tag
from tests.projects import feed, write_mission, x_account

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)

MISSIONS = [
    ("UNMIK", "United Nations Interim Administration Mission in Kosovo", "Kosovo", 1999,
     "unmik.unmissions.org"),
    ("UNISFA", "United Nations Interim Security Force for Abyei", "Sudan", 2011,
     "unisfa.unmissions.org"),
    ("UNIFIL", "United Nations Interim Force in Lebanon", "Lebanon", 1978,
     "unifil.unmissions.org"),
]


UN_NEWS = "https://news.un.org/feed/subscribe/en/news/all/rss.xml"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def write_project(root: Path, *, base_url: str = "http://127.0.0.1:8000/") -> Path:
    feeds = root / "feeds"
    feeds.mkdir(parents=True, exist_ok=True)
    for acronym, name, country, year, host in MISSIONS:
        write_mission(feeds, acronym, name=name, country=country, established=year, hosts=[host],
                      sources=[feed(f"https://{host}/rss.xml", f"{acronym} news"),
                               x_account(f"{acronym}media")])
    (feeds / "_general.yaml").write_text(
        f'sources:\n  - {{kind: feed, url: "{UN_NEWS}", name: "UN News"}}\n', encoding="utf-8"
    )
    config = root / "config.yaml"
    config.write_text(
        f"database: data/test.db\noutput_dir: output\nmissions_dir: feeds\nbase_url: {base_url}\n",
        encoding="utf-8",
    )
    return config


def host(acronym: str) -> str:
    return next(m[4] for m in MISSIONS if m[0] == acronym)


def source_id(acronym: str) -> str:
    return f"feed:https://{host(acronym)}/rss.xml"


def make_post(
    post_id: str,
    *,
    acronym: str = "UNMIK",
    text: str = "",
    url: str | None = None,
    minutes_ago: int = 0,
    kind: str = "feed",
    links: Sequence[str] = (),
    title: str | None = None,
    author: str = "",
    source: str | None = None,
) -> Post:
    published = NOW - timedelta(minutes=minutes_ago)
    body = text or f"Post {post_id} about {acronym}"
    return Post(
        id=post_id,
        source_id=source or source_id(acronym),
        kind=kind,  # type: ignore[arg-type]
        external_id=post_id,
        url=url or f"https://{host(acronym)}/news/{post_id}",
        author=author or f"{acronym} news",
        author_handle=None,
        title=title if title is not None else (body[:60] if kind == "feed" else ""),
        text=body,
        html=f"<p>{body}</p>",
        published_at=published,
        collected_at=NOW,
        links=tuple(links),
        content_hash=f"hash-{post_id}-{body}",
    )


def rule_tag(acronym: str, matched: str | None = None) -> Tag:
    return Tag(mission=acronym, rule="name", matched=matched or acronym)


def save(app: App, *posts: tuple[Post, Sequence[Tag]]) -> tuple[int, int, set[str]]:
    return app.store.save_posts(list(posts))


@pytest.fixture(name="clock")
def clock_fixture() -> Clock:
    return Clock()


@pytest.fixture(name="project")
def project_fixture(tmp_path: Path) -> Path:
    return write_project(tmp_path)


@pytest.fixture(name="app")
def app_fixture(project: Path, clock: Clock) -> Iterator[App]:
    with make_app(load_config(project), clock=clock, env={}) as built:
        yield built


def wsgi_call(
    wsgi: Any,
    method: str,
    path: str,
    *,
    form: dict[str, str] | list[tuple[str, str]] | None = None,
    cookies: dict[str, str] | None = None,
    address: str = "127.0.0.1",
    scheme: str = "http",
    headers: dict[str, str] | None = None,
) -> tuple[str, dict[str, list[str]], str]:
    """One request through the WSGI app; returns (status, headers, body)."""
    from urllib.parse import urlencode, urlsplit

    parts = urlsplit(path)
    body = urlencode(form or {}).encode()
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": parts.path,
        "QUERY_STRING": parts.query,
        "REMOTE_ADDR": address,
        "CONTENT_TYPE": "application/x-www-form-urlencoded" if form is not None else "",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": scheme,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
    }
    for name, value in (headers or {}).items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    if cookies:
        environ["HTTP_COOKIE"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen["status"] = status
        seen["headers"] = headers

    chunks = wsgi(environ, start_response)
    text = b"".join(chunks).decode("utf-8")
    headers: dict[str, list[str]] = {}
    for key, value in seen["headers"]:
        headers.setdefault(key.lower(), []).append(value)
    return seen["status"], headers, text


def set_cookies(headers: dict[str, list[str]]) -> dict[str, str]:
    """name -> value of the Set-Cookie headers (values set to '' are deletions)."""
    out = {}
    for header in headers.get("set-cookie", []):
        name, _, rest = header.partition("=")
        out[name] = rest.split(";", 1)[0]
    return out
