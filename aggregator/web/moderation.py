"""The moderation page of ``aggregator serve``: sign-in, the queue per mission, the actions.

- Off (404) unless at least one editor account exists (``aggregator editors add``).
- Sessions are server-side (``Store.create_session``); the cookie holds only a random token,
  ``HttpOnly``, ``SameSite=Strict``, and ``Secure`` (with the ``__Host-`` prefix) when the
  request is HTTPS or ``base_url`` is https. Sign-out revokes the session.
- Every form carries a CSRF token: the session's own once signed in; before that, a
  double-submit token bound to a short-lived cookie. Tokens are compared in constant time.
- After ``signin_max_failures`` failed sign-ins in a minute (per name or per address), further
  tries get 429 without their password being checked.
- Editor pages are never cached (``Cache-Control: no-store``) and never framed.

:func:`current_editor` is public: the search page calls it to show hidden posts to editors.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from collections.abc import Callable, Mapping
from http.cookies import CookieError, SimpleCookie
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode

from aggregator import moderation
from aggregator.errors import UsageError
from aggregator.store.editors import Session
from aggregator.web import Request, Response, Route

if TYPE_CHECKING:
    from jinja2 import Environment

    from aggregator.app import App

COOKIE = "agg_editor"
SECURE_COOKIE = "__Host-agg_editor"
SIGNIN_COOKIE = "agg_signin"
BASE = "/moderation"
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


def _cookies(request: Request) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(request.header("Cookie"))
    except CookieError:
        return {}
    return {k: v.value for k, v in jar.items()}


def _session(app: App, request: Request) -> tuple[Session | None, str]:
    cookies = _cookies(request)
    token = cookies.get(SECURE_COOKIE) or cookies.get(COOKIE) or ""
    return (app.store.session(token) if token else None), token


def current_session(app: App, request: Request) -> Session | None:
    """The signed-in editor's session (name and CSRF token) for this request, or None."""
    return _session(app, request)[0]


def same_token(a: str, b: str) -> bool:
    """Two CSRF tokens are equal (constant time; empty never matches)."""
    return _same(a, b)


def current_editor(app: App, request: Request) -> str | None:
    """The signed-in editor's name for this request, or None (anonymous, expired, revoked)."""
    session, _ = _session(app, request)
    return session.editor if session else None


def _secure(app: App, request: Request) -> bool:
    scheme = str(request.environ.get("wsgi.url_scheme", "http"))
    return scheme == "https" or str(app.config.settings.base_url).startswith("https://")


def _cookie(name: str, value: str, *, secure: bool, max_age: int, path: str = "/") -> str:
    parts = [f"{name}={value}", f"Path={path}", f"Max-Age={max_age}", "HttpOnly", "SameSite=Strict"]
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


def _same(a: str, b: str) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(a.encode(), b.encode())


class Pages:
    """Request handlers; one lock keeps the store's single connection to one thread at a time."""

    def __init__(self, app: App, env: Environment) -> None:
        self.app = app
        self.env = env
        self.lock = threading.Lock()

    # --- plumbing ------------------------------------------------------------------

    def guarded(self, handler: Callable[[Request], Response]) -> Callable[[Request], Response]:
        def run(request: Request) -> Response:
            with self.lock:
                if not self.app.store.has_editors():
                    return self.page("moderation/message.html", "404 Not Found", title="Not found",
                                     message="There is no moderation page here.")
                response = handler(request)
            response.headers = [*NO_STORE, *(response.headers or [])]
            return response

        return run

    def page(self, template: str, status: str = "200 OK", **context: Any) -> Response:
        body = self.env.get_template(template).render(base=BASE, **context)
        return Response(body.encode("utf-8"), status)

    def form(self, request: Request) -> dict[str, str]:
        if "application/x-www-form-urlencoded" not in str(request.environ.get("CONTENT_TYPE", "")):
            return {}
        data = parse_qs(request.body(100_000).decode("utf-8", "replace"), keep_blank_values=True)
        return {k: v[0] for k, v in data.items() if v}

    @staticmethod
    def redirect(location: str, headers: list[tuple[str, str]] | None = None) -> Response:
        return Response(b"", "303 See Other", [("Location", location), *(headers or [])])

    def refused(self, message: str, status: str = "403 Forbidden") -> Response:
        return self.page("moderation/message.html", status, title="Refused", message=message)

    # --- sign-in -------------------------------------------------------------------

    def sign_in_form(self, request: Request, *, error: str = "", status: str = "200 OK",
                     name: str = "") -> Response:
        token = secrets.token_urlsafe(24)
        response = self.page("moderation/sign_in.html", status, csrf=token, error=error, name=name)
        secure = _secure(self.app, request)
        response.headers = [("Set-Cookie", _cookie(SIGNIN_COOKIE, token, secure=secure,
                                                   max_age=3600, path=BASE))]
        return response

    def show_sign_in(self, request: Request) -> Response:
        session, _ = _session(self.app, request)
        return self.redirect(f"{BASE}/") if session else self.sign_in_form(request)

    def sign_in(self, request: Request) -> Response:
        form = self.form(request)
        if not _same(form.get("csrf", ""), _cookies(request).get(SIGNIN_COOKIE, "")):
            return self.refused("The sign-in form expired or came from another site; reload it.")
        name = form.get("name", "").strip()[:64]
        address = str(request.environ.get("REMOTE_ADDR", ""))
        limit = int(self.app.config.settings.signin_max_failures)
        store = self.app.store
        if store.recent_failures(name, address) >= limit:
            response = self.sign_in_form(
                request, status="429 Too Many Requests", name=name,
                error="Too many failed sign-ins in the last minute. Wait a minute and try again.",
            )
            response.headers = [*(response.headers or []), ("Retry-After", "60")]
            return response
        if not store.check_password(name, form.get("password", "")):
            store.record_failure(name, address)
            return self.sign_in_form(request, status="401 Unauthorized", name=name,
                                     error="Wrong editor name or password.")
        hours = float(self.app.config.settings.editor_session_hours)
        session = store.create_session(name, hours=hours, address=address)
        secure = _secure(self.app, request)
        return self.redirect(f"{BASE}/", [
            ("Set-Cookie", _cookie(SECURE_COOKIE if secure else COOKIE, session.token,
                                   secure=secure, max_age=int(hours * 3600))),
            ("Set-Cookie", _cookie(SIGNIN_COOKIE, "", secure=secure, max_age=0, path=BASE)),
        ])

    def sign_out(self, request: Request) -> Response:
        session, token = _session(self.app, request)
        if session is None:
            return self.redirect(f"{BASE}/sign-in")
        if not _same(self.form(request).get("csrf", ""), session.csrf_token):
            return self.refused("The form's security token did not match; reload the page.")
        self.app.store.revoke_session(token)
        secure = _secure(self.app, request)
        name = SECURE_COOKIE if secure else COOKIE
        return self.redirect(f"{BASE}/sign-in",
                             [("Set-Cookie", _cookie(name, "", secure=secure, max_age=0))])

    # --- the queue and the actions -------------------------------------------------

    def queue(self, request: Request) -> Response:
        session, _ = _session(self.app, request)
        if session is None:
            return self.redirect(f"{BASE}/sign-in")
        query = {k: v[0] for k, v in parse_qs(request.query_string).items() if v}
        mission = query.get("mission", "").upper() or None
        if mission and self.app.config.mission(mission) is None:
            mission = None
        store = self.app.store
        rows = store.moderation_queue(mission, limit=50, unreviewed_only=query.get("new") == "1")
        return self.page(
            "moderation/queue.html", editor=session.editor, csrf=session.csrf_token,
            rows=rows, mission=mission, only_new=query.get("new") == "1",
            missions=sorted(self.app.config.missions), counts=store.unreviewed_counts(),
            done=moderation.LABELS.get(query.get("done", ""), ""),
            done_post=query.get("post", ""), actions=moderation.LABELS,
        )

    def act(self, request: Request) -> Response:
        session, _ = _session(self.app, request)
        if session is None:
            return self.refused("Sign in first.")
        form = self.form(request)
        if not _same(form.get("csrf", ""), session.csrf_token):
            return self.refused("The form's security token did not match; reload the page.")
        back = {k: form[k] for k in ("mission_filter",) if form.get(k)}
        try:
            moderation.apply(
                self.app, form.get("post_id", ""), form.get("action", ""),
                editor=session.editor, note=form.get("note", ""),
                mission=form.get("mission") or None,
            )
        except UsageError as exc:
            return self.page("moderation/message.html", "400 Bad Request", title="Not done",
                             message=str(exc), back=f"{BASE}/")
        query = urlencode({"mission": back.get("mission_filter", ""),
                           "done": form.get("action", ""), "post": form.get("post_id", "")})
        return self.redirect(f"{BASE}/?{query}")

    def not_found(self, request: Request) -> Response:
        return self.page("moderation/message.html", "404 Not Found", title="Not found",
                         message="No such moderation page.", back=f"{BASE}/")


def routes(app: App) -> list[Route]:
    from aggregator.render import make_env

    settings = app.config.settings
    templates = app.config.resolve(settings.templates_dir) if settings.templates_dir else None
    pages = Pages(app, make_env(templates))
    table: Mapping[tuple[str, str], Callable[[Request], Response]] = {
        ("GET", rf"{BASE}/?"): pages.queue,
        ("GET", rf"{BASE}/sign-in"): pages.show_sign_in,
        ("POST", rf"{BASE}/sign-in"): pages.sign_in,
        ("POST", rf"{BASE}/sign-out"): pages.sign_out,
        ("POST", rf"{BASE}/act"): pages.act,
        ("*", rf"{BASE}/.*"): pages.not_found,
    }
    return [Route(method, pattern, pages.guarded(h)) for (method, pattern), h in table.items()]
