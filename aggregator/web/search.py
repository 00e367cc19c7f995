"""The archive's search page in ``aggregator serve``: query box, facets, histogram, results,
permalinks ``/post/<id>``, CSV/JSON Lines downloads of the current query, the query as a feed
(``/search.atom``, ``/search.json``: public posts only, #18) and, for a signed-in editor,
saved searches with email alerts (``aggregator/alerts.py``).

Anonymous visitors see public posts only (``store.posts.VISIBLE``); a signed-in editor
(``web.moderation.current_editor``) also sees hidden and removed posts, flagged. Each
request reads through its own read-only connection, so a long download never shares a
cursor with another request.
"""

from __future__ import annotations

import dataclasses
import hmac
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from datetime import date
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode

from aggregator import search
from aggregator.errors import QuerySyntaxError, UsageError
from aggregator.render.i18n import reason, site_title, t
from aggregator.render.syndication import search_feed
from aggregator.search import archive
from aggregator.store import Store
from aggregator.store.search import MARK_CLOSE, MARK_OPEN, Facets, Sort
from aggregator.trends.chart import Slot, bar_chart
from aggregator.web import Request, Response, Route
from aggregator.web import trends as mission_trends
from aggregator.web.console.text import ACTION_WORDS, translator

if TYPE_CHECKING:
    from jinja2 import Environment

    from aggregator.app import App

PAGE_SIZE = 20
DOWNLOAD_LIMIT = 50_000  # rows per download; `aggregator export` has no limit
FACET_TTL = 60.0  # seconds facet counts are reused for the same query and audience
HEADERS = [
    ("Cache-Control", "no-store"),
    ("X-Frame-Options", "DENY"),
    (
        "Content-Security-Policy",
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self';"
        " frame-ancestors 'none'; base-uri 'none'",
    ),
]


def language(request: Request) -> str:
    """The pages' language: French under /fr/, as the rendered site's French pages."""
    return "fr" if request.path.startswith("/fr/") else "en"


def segments(text: str) -> list[tuple[str, bool]]:
    """Split highlighted text into (text, is_match) pieces; the template escapes each."""
    parts = text.replace(MARK_CLOSE, MARK_OPEN).split(MARK_OPEN)
    return [(p, i % 2 == 1) for i, p in enumerate(parts) if p]


def histogram(months: list[tuple[str, int]]) -> dict[str, Any]:
    """Bars for the month facet, with axes (``trends.chart``), for an inline SVG.

    The axis is time: months without a match between the first and the last are empty bars,
    and a bar is never wider than a twelfth of the chart (one month is not a banner)."""
    counts = {m: n for m, n in months if _MONTH.fullmatch(m or "")}
    if not counts:
        return bar_chart([])
    series = _every_month(min(counts), max(counts))
    if len(series) > MAX_MONTHS:  # a stray date decades off: keep the months that have posts
        series = sorted(counts)
    chart = bar_chart([Slot(date(int(m[:4]), int(m[5:]), 1), counts.get(m, 0), f"{m}: {counts.get(m, 0)}")
                       for m in series])
    for bar, month in zip(chart["bars"], series, strict=True):
        bar["month"] = month
    return chart


MAX_MONTHS = 600
_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


def _every_month(first: str, last: str) -> list[str]:
    """"2023-11", "2024-02" -> every month from the one to the other."""
    year, month = int(first[:4]), int(first[5:])
    out: list[str] = []
    while (key := f"{year:04d}-{month:02d}") <= last:
        out.append(key)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


class FacetCache:
    """Facet counts per (query, visibility) for ``FACET_TTL`` seconds.

    Counting a broad query over a large archive takes a while (docs/benchmarks.md: about
    2.5 s for the whole of a million posts); the search page asks for the same counts on
    every page of results and on every visit to /search, so they are kept briefly.
    """

    def __init__(self, size: int = 128) -> None:
        self.size = size
        self.entries: OrderedDict[tuple[str, bool], tuple[float, Facets]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, store: Store, plan: search.SearchPlan, include_hidden: bool) -> Facets:
        key = (plan.query, include_hidden)
        now = time.monotonic()
        with self.lock:
            hit = self.entries.get(key)
            if hit is not None and now - hit[0] < FACET_TTL:
                self.entries.move_to_end(key)
                return hit[1]
        facets = store.search_facets(plan, include_hidden=include_hidden)
        with self.lock:
            self.entries[key] = (now, facets)
            self.entries.move_to_end(key)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)
        return facets


class Pages:
    def __init__(self, app: App, env: Environment) -> None:
        self.app = app
        self.env = env
        self.cache = FacetCache()
        self.trends = mission_trends.Cache(app)

    def editor(self, request: Request) -> str | None:
        try:
            from aggregator.web.moderation import current_editor
        except ImportError:  # no moderation page: everyone is anonymous
            return None
        return current_editor(self.app, request)

    def session(self, request: Request) -> Any:
        try:
            from aggregator.web.moderation import editor_session
        except ImportError:
            return None
        return editor_session(self.app, request)[0]

    def store(self) -> Store:
        return Store(self.app.store.path, readonly=True,
                     timeout=self.app.config.settings.database_timeout)

    def _args(self, request: Request) -> tuple[str, Sort, str | None]:
        qs = parse_qs(request.query_string, keep_blank_values=True)
        query = (qs.get("q") or [""])[0]
        sort: Sort = "newest" if (qs.get("sort") or [""])[0] == "newest" else "relevance"
        cursor = (qs.get("cursor") or [""])[0] or None
        return query, sort, cursor

    def html(
        self, template: str, status: str = "200 OK", *, request: Request, **context: Any
    ) -> Response:
        lang = language(request)
        prefix = "" if lang == "en" else f"{lang}/"
        other = "fr/" if lang == "en" else ""
        path = request.path.removeprefix(f"/{prefix}")
        qs = request.query_string
        body = self.env.get_template(template).render(
            site_title=site_title(self.app.config.settings, lang), lang=lang, prefix=prefix,
            alternate=f"/{other}{path}" + (f"?{qs}" if qs else ""), **context
        )
        return Response(body.encode("utf-8"), status, headers=list(HEADERS))

    def page(self, request: Request) -> Response:
        query, sort, cursor = self._args(request)
        editor = self.editor(request)
        ctx: dict[str, Any] = {"query": query, "sort": sort, "editor": editor, "error": None,
                               "rows": [], "facets": None, "next": None}
        try:
            plan = search.parse(query, missions=set(self.app.config.missions))
            with self.store() as store:
                result = store.search(plan, sort=sort, limit=PAGE_SIZE, cursor=cursor,
                                      include_hidden=editor is not None)
                facets = self.cache.get(store, plan, editor is not None)
                names = store.source_names()
        except QuerySyntaxError as exc:
            ctx["error"] = {"message": exc.message, "position": exc.position}
            return self.html("search/page.html", "400 Bad Request", request=request, **ctx)
        except UsageError as exc:
            ctx["error"] = {"message": str(exc), "position": None}
            return self.html("search/page.html", "400 Bad Request", request=request, **ctx)
        lang = language(request)
        here = f"/{'' if lang == 'en' else lang + '/'}search"
        ctx.update(
            rows=[self._row(r) for r in result.rows],
            facets=self._facets(query, sort, facets, names, lang),
            histogram=histogram(facets.month), total=facets.total, download_limit=DOWNLOAD_LIMIT,
            next=f"{here}?{urlencode({'q': query, 'sort': sort, 'cursor': result.next_cursor})}"
            if result.next_cursor else None,
            csv=f"/search.csv?{urlencode({'q': query, 'sort': sort})}",
            jsonl=f"/search.jsonl?{urlencode({'q': query, 'sort': sort})}",
            atom=f"/search.atom?{urlencode({'q': query})}",
            json_feed=f"/search.json?{urlencode({'q': query})}",
        )
        ctx.update(mission_trends.page_context(self.trends, plan))  # mission:M only (#19)
        if editor is not None:
            ctx.update(self._alert_context(request, query))
        return self.html("search/page.html", request=request, **ctx)

    def _alert_context(self, request: Request, query: str) -> dict[str, Any]:
        from aggregator.alerts import alerts

        session = self.session(request)
        qs = parse_qs(request.query_string)
        with self.store() as store:
            saved = alerts(dataclasses.replace(self.app, store=store))
        return {"csrf": session.csrf_token if session else "",
                "alerts": [a for a, state in saved if state == "active"],
                "alert_message": (qs.get("alert") or [""])[0][:200]}

    def _row(self, row: dict[str, Any]) -> dict[str, Any]:
        title = row.get("title_highlighted") or ""
        return {**row, "title_segments": segments(title), "snippet_segments": segments(row["snippet"]),
                "missions_list": (row.get("missions") or "").split()}

    def _facets(
        self, query: str, sort: str, f: Facets, names: dict[str, str], lang: str
    ) -> list[dict[str, Any]]:
        here = f"/{'' if lang == 'en' else lang + '/'}search"

        def link(key: str, value: str) -> str:
            return f"{here}?{urlencode({'q': search.narrow(query, key, value), 'sort': sort})}"

        groups = [(t(lang, "facet_mission"), "mission", f.mission, {}),
                  (t(lang, "facet_source"), "source", f.source[:15], names),
                  (t(lang, "facet_lang"), "lang", [(v, n) for v, n in f.lang if v][:10], {})]
        return [
            {"title": title, "entries": [
                {"label": labels.get(v, v), "count": n, "href": link(key, v),
                 "active": f"{key}:{v}".lower() in query.lower()}
                for v, n in values]}
            for title, key, values, labels in groups if values
        ]

    def feed(self, request: Request) -> Response:
        """The newest public matches of the query as Atom or JSON Feed (anyone, signed in or
        not, gets the public view: a feed URL is shared and polled by readers)."""
        query, _, _ = self._args(request)
        fmt = "atom" if request.path.endswith(".atom") else "json"
        try:
            plan = search.parse(query, missions=set(self.app.config.missions))
        except UsageError as exc:
            return Response(str(exc).encode(), "400 Bad Request", content_type="text/plain; charset=utf-8")
        settings = self.app.config.settings
        with self.store() as store:
            result = store.search(plan, sort="newest", limit=settings.feed_posts,
                                  include_hidden=False)
        scheme = str(request.environ.get("wsgi.url_scheme", "http"))
        host = request.header("Host") or str(request.environ.get("SERVER_NAME", "localhost"))
        origin = f"{scheme}://{host}"
        body = search_feed(
            result.rows, fmt=fmt, query=query, base_url=settings.base_url,
            site_title=settings.site_title, now=self.app.now(),
            self_url=f"{origin}/search.{fmt}?{urlencode({'q': query})}",
            page_url=f"{origin}/search?{urlencode({'q': query, 'sort': 'newest'})}",
        )
        ctype = "application/atom+xml" if fmt == "atom" else "application/feed+json"
        return Response(body, content_type=f"{ctype}; charset=utf-8",
                        headers=[("Cache-Control", "max-age=300"),
                                 ("X-Content-Type-Options", "nosniff")])

    def form(self, request: Request) -> dict[str, str]:
        if "application/x-www-form-urlencoded" not in str(request.environ.get("CONTENT_TYPE", "")):
            return {}
        data = parse_qs(request.body(100_000).decode("utf-8", "replace"), keep_blank_values=True)
        return {k: v[0] for k, v in data.items() if v}

    def alert_action(self, request: Request) -> Response:
        """Save or remove an alert from the search page: a signed-in editor, with the
        session's CSRF token. Answers with a redirect back to the search and a message."""
        from aggregator.alerts import add_alert, remove_alert
        session = self.session(request)
        if session is None:
            return self.html("search/message.html", "403 Forbidden", request=request, editor=None,
                             message="Sign in on the moderation page to save alerts.")
        form = self.form(request)
        sent = form.get("csrf", "")
        if not sent or not hmac.compare_digest(sent.encode(), session.csrf_token.encode()):
            return self.html("search/message.html", "403 Forbidden", request=request,
                             editor=session.editor,
                             message="This form has expired: reload the search page and try again.")
        query, name = form.get("q", ""), form.get("name", "").strip()
        app = dataclasses.replace(self.app, store=Store(self.app.store.path))
        try:
            if request.path.endswith("/remove"):
                remove_alert(app, name)
                message = f"Alert {name} removed."
            else:
                every = form.get("every", "daily")
                add_alert(app, name, query, form.get("email", ""), every, by=session.editor)
                message = f"Alert {name} saved: new matches go to {form.get('email', '').strip()}, {every}."
        except UsageError as exc:
            message = f"Not saved: {exc}"
        finally:
            app.store.close()
        back = f"/search?{urlencode({'q': query, 'alert': message})}"
        return Response(b"", "303 See Other", [("Location", back), *HEADERS])

    def download(self, request: Request) -> Response:
        query, sort, _ = self._args(request)
        fmt = "csv" if request.path.endswith(".csv") else "jsonl"
        editor = self.editor(request)
        try:
            plan = search.parse(query, missions=set(self.app.config.missions))
        except QuerySyntaxError as exc:
            return Response(str(exc).encode(), "400 Bad Request", content_type="text/plain; charset=utf-8")
        store = self.store()
        settings = self.app.config.settings
        sources = {sid: (name, sid.split(":", 1)[1]) for sid, name in store.source_names().items()}

        def body() -> Iterator[bytes]:
            try:
                rows = store.iter_search(plan, sort=sort, include_hidden=editor is not None,
                                         limit=DOWNLOAD_LIMIT)
                records = (archive.record(r, base_url=settings.base_url, sources=sources) for r in rows)
                pending: list[str] = []
                size = 0
                for text in archive.lines(records, fmt, [name for name, _ in archive.FIELDS]):
                    pending.append(text)
                    size += len(text)
                    if size >= 65536:
                        yield "".join(pending).encode("utf-8")
                        pending, size = [], 0
                yield "".join(pending).encode("utf-8")
            finally:
                store.close()

        ctype = "text/csv; charset=utf-8" if fmt == "csv" else "application/x-ndjson; charset=utf-8"
        disposition = [("Content-Disposition", f'attachment; filename="search.{fmt}"')]
        return Response(body(), content_type=ctype, headers=[*HEADERS, *disposition])

    def post(self, request: Request) -> Response:
        post_id = request.params["id"]
        editor = self.editor(request)
        with self.store() as store:
            row = store.search_post(post_id)
            names = store.source_names()
            tags = store.tags_of(post_id) if row is not None else []
        if row is None or (editor is None and (row["hidden"] or row["availability"] != "available")):
            return self.html("search/post.html", "404 Not Found", request=request, row=None,
                             editor=editor)
        lang = language(request)
        row["reasons"] = [(tag.mission, *reason(tag, lang)) for tag in tags]  # why each mission
        row["source_name"] = names.get(row["source_id"], row["source_id"])
        return self.html("search/post.html", request=request, row=row, editor=editor,
                         **self._actions(request))

    def _actions(self, request: Request) -> dict[str, Any]:
        """A signed-in editor's action form on the permalink page (posts to the desk's
        ``/moderation/act``, which checks the role and comes back here)."""
        try:
            from aggregator.web.moderation import editor_session
        except ImportError:
            return {}
        session, _ = editor_session(self.app, request)
        if session is None:
            return {}
        lang = language(request)
        done = (parse_qs(request.query_string).get("done") or [""])[0]
        return {"csrf": session.csrf_token, "missions": sorted(self.app.config.missions),
                "tr": translator(lang), "done": ACTION_WORDS[lang].get(done, "")}

    def style(self, request: Request) -> Response:
        css = self.env.loader.get_source(self.env, "search/search.css")[0]  # type: ignore[union-attr]
        return Response(css.encode("utf-8"), content_type="text/css; charset=utf-8",
                        headers=[("Cache-Control", "max-age=3600")])


def routes(app: App) -> list[Route]:
    from aggregator.render import make_env

    settings = app.config.settings
    templates = app.config.resolve(settings.templates_dir) if settings.templates_dir else None
    pages = Pages(app, make_env(templates))
    return [
        Route("GET", r"/(?:fr/)?search/?", pages.page),
        Route("GET", r"/search\.(csv|jsonl)", pages.download),
        Route("GET", r"/search\.(atom|json)", pages.feed),
        Route("POST", r"/search/alerts(/remove)?", pages.alert_action),
        Route("GET", r"/search/style\.css", pages.style),
        Route("GET", r"/(?:fr/)?post/(?P<id>[^/]+)", pages.post),
    ]
