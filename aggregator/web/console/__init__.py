"""The editors' console of ``aggregator serve`` (issues 8, 16 and 17): sign-in, the
moderation desk, ``/status`` and ``/audit``. Server-rendered, no script, EN and FR.

- ``auth.py``: who is asking (client address behind trusted proxies), cookies, sessions,
  signed sign-in tokens, the growing sign-in delay; ``current_editor``/``editor_session``
  for other pages (the search page, saved searches).
- ``desk.py``: the queue with its filters and cursor, the actions one by one or in bulk.
- ``ops.py``: the status of every source and of X, and the audit log.
- ``text.py``: the console's words in English and French.

``Console`` holds what every handler shares: the app, the templates, the language of the
request, and one lock that keeps the store's single connection to one request at a time
(request bodies are read before it is taken, so no client holds it while sending).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from aggregator.web import Request, Response
from aggregator.web.console.text import choose_language, translator

if TYPE_CHECKING:
    from jinja2 import Environment

    from aggregator.app import App

BASE = "/moderation"
FORM_LIMIT = 200_000
NO_STORE = [
    ("Cache-Control", "no-store, private"),
    ("Pragma", "no-cache"),
    ("X-Frame-Options", "DENY"),
    (
        "Content-Security-Policy",
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self';"
        " frame-ancestors 'none'; base-uri 'none'",
    ),
]


def query(request: Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.query_string, keep_blank_values=True).items() if v}


def form_lists(request: Request) -> dict[str, list[str]]:
    """The urlencoded form of a POST (read once, before any lock; cached on the request)."""
    cached = request.environ.get("aggregator.form")
    if cached is None:
        cached = {}
        if "application/x-www-form-urlencoded" in str(request.environ.get("CONTENT_TYPE", "")):
            body = request.body(FORM_LIMIT).decode("utf-8", "replace")
            cached = parse_qs(body, keep_blank_values=True)
        request.environ["aggregator.form"] = cached
    return dict(cached)


def form(request: Request) -> dict[str, str]:
    return {k: v[0] for k, v in form_lists(request).items() if v}


class Console:
    """What every console handler shares."""

    def __init__(self, app: App, env: Environment) -> None:
        self.app = app
        self.env = env
        self.lock = threading.Lock()

    def lang(self, request: Request) -> str:
        chosen = form(request).get("lang", "") if request.method == "POST" else ""
        return choose_language(query(request).get("lang", "") or chosen,
                               request.header("Accept-Language"))

    def guarded(self, handler: Callable[[Request], Response], *, always: bool = False,
                ) -> Callable[[Request], Response]:
        """Read the body first, then run ``handler`` under the lock; 404 when no account
        exists (the console is off) unless ``always``."""

        def run(request: Request) -> Response:
            if request.method == "POST":
                form_lists(request)
            with self.lock:
                if not always and not self.app.store.has_editors():
                    response = self.message(request, "not_found", "no_page", "404 Not Found")
                else:
                    response = handler(request)
            response.headers = [*NO_STORE, *(response.headers or [])]
            return response

        return run

    def page(self, request: Request, template: str, status: str = "200 OK", **context: Any) -> Response:
        lang = self.lang(request)
        body = self.env.get_template(template).render(
            base=BASE, lang=lang, tr=translator(lang), **context
        )
        return Response(body.encode("utf-8"), status)

    def message(self, request: Request, title: str, message: str, status: str, *,
                back: str = "", **values: object) -> Response:
        tr = translator(self.lang(request))
        return self.page(request, "moderation/message.html", status, title=tr(title),
                         message=tr(message, **values) if values else tr(message), back=back)

    def refused(self, request: Request, text: str, status: str = "403 Forbidden") -> Response:
        tr = translator(self.lang(request))
        return self.page(request, "moderation/message.html", status, title=tr("refused"),
                         message=text, back=f"{BASE}/")

    @staticmethod
    def redirect(location: str, headers: list[tuple[str, str]] | None = None) -> Response:
        return Response(b"", "303 See Other", [("Location", location), *(headers or [])])
