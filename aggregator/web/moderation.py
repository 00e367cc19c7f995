"""The editors' console in ``aggregator serve``: ``/moderation/`` (sign-in, the desk, the
actions), ``/status`` and ``/audit``. The handlers live in ``web/console/``; this module
declares the routes and keeps the public helpers other pages use:

- :func:`current_editor` ``(app, request) -> str | None``: the signed-in editor's name;
- :func:`editor_session` ``(app, request) -> (Session | None, token)``: the session with its
  CSRF token (``Session.csrf_token``), for pages that post to ``/moderation/act`` or
  carry their own forms for signed-in users (the permalink page, saved searches).

The console is off (404 everywhere) until an account exists (``aggregator editors add``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from aggregator.web import Request, Response, Route
from aggregator.web.console import BASE
from aggregator.web.console.auth import current_editor, editor_session
from aggregator.web.console.ops import Ops

if TYPE_CHECKING:
    from aggregator.app import App

__all__ = ["current_editor", "editor_session", "routes"]


def routes(app: App) -> list[Route]:
    from aggregator.render import make_env

    settings = app.config.settings
    templates = app.config.resolve(settings.templates_dir) if settings.templates_dir else None
    pages = Ops(app, make_env(templates))

    def not_found(request: Request) -> Response:
        return pages.message(request, "not_found", "no_page", "404 Not Found", back=f"{BASE}/")

    table: Mapping[tuple[str, str], Callable[[Request], Response]] = {
        ("GET", rf"{BASE}/?"): pages.queue,
        ("GET", rf"{BASE}/sign-in"): pages.show_sign_in,
        ("POST", rf"{BASE}/sign-in"): pages.sign_in,
        ("POST", rf"{BASE}/sign-out"): pages.sign_out,
        ("POST", rf"{BASE}/act"): pages.act,
        ("GET", r"/status/?"): pages.status,
        ("GET", r"/audit/?"): pages.audit,
        ("*", rf"{BASE}/.*"): not_found,
    }
    return [Route(method, pattern, pages.guarded(h)) for (method, pattern), h in table.items()]
