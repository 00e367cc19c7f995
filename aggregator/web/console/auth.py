"""Who is asking, and signing in and out (issues 8, 16 items 10 and 11, 17).

- **Client address**: ``REMOTE_ADDR``, unless it is one of ``serve.trusted_proxies``; then
  ``X-Forwarded-For`` is read from the right, skipping trusted proxies, and the first other
  address is the client. A header from anyone else is ignored (it is trivially forged).
- **Session cookie**: a random token (the store keeps its SHA-256), ``HttpOnly``,
  ``SameSite=Strict``. Over HTTPS (the request's scheme or an https ``base_url``) it is
  ``__Host-agg_editor`` with ``Secure``, and only that name is accepted: a cookie planted
  over plain HTTP or by a sibling domain cannot carry the prefix.
- **Sign-in form token**: ``nonce.issued.mac``, an HMAC (key kept in the archive) over the
  nonce, the issue time and the client address; the nonce also sits in a pre-session cookie.
  A token is good for an hour, from the address it was issued to, with its own cookie, and
  never cross-site (``Origin`` / ``Sec-Fetch-Site``): a planted cookie cannot force a sign-in.
- **Throttling**: see ``store/signin.py``; a browser that signed in to an account before
  carries a signed known-browser cookie and is not held back by others' failures on it.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import secrets
import time
from http.cookies import CookieError, SimpleCookie
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from aggregator.store.signin import Session
from aggregator.web import Request, Response
from aggregator.web.console import BASE, Console, form
from aggregator.web.console.text import translator

if TYPE_CHECKING:
    from aggregator.app import App

COOKIE = "agg_editor"
SECURE_COOKIE = "__Host-agg_editor"
SIGNIN_COOKIE = "agg_signin"
KNOWN_COOKIE = "agg_known"
FORM_TOKEN_SECONDS = 3600
KNOWN_BROWSER_DAYS = 365


def client_address(environ: dict[str, object], trusted: tuple[str, ...]) -> str:
    """The client's address: X-Forwarded-For is believed only from a trusted proxy."""
    remote = str(environ.get("REMOTE_ADDR", ""))
    networks = []
    for entry in trusted:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            continue

    def is_trusted(address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address.strip().strip("[]"))
        except ValueError:
            return False
        return any(ip in net for net in networks)

    if not networks or not is_trusted(remote):
        return remote
    hops = [h.strip() for h in str(environ.get("HTTP_X_FORWARDED_FOR", "")).split(",") if h.strip()]
    for hop in reversed(hops):
        if not is_trusted(hop):
            try:
                return str(ipaddress.ip_address(hop.strip("[]")))
            except ValueError:
                return remote  # a garbled header: the proxy itself is the best we know
    return remote


def cookies(request: Request) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(request.header("Cookie"))
    except CookieError:
        return {}
    return {k: v.value for k, v in jar.items()}


def secure(app: App, request: Request) -> bool:
    scheme = str(request.environ.get("wsgi.url_scheme", "http"))
    return scheme == "https" or str(app.config.settings.base_url).startswith("https://")


def cookie_name(base: str, is_secure: bool) -> str:
    return f"__Host-{base}" if is_secure else base


def set_cookie(name: str, value: str, *, is_secure: bool, max_age: int) -> tuple[str, str]:
    parts = [f"{cookie_name(name, is_secure)}={value}", "Path=/", f"Max-Age={max_age}",
             "HttpOnly", "SameSite=Strict"]
    if is_secure:
        parts.append("Secure")
    return ("Set-Cookie", "; ".join(parts))


def editor_session(app: App, request: Request) -> tuple[Session | None, str]:
    """The live session of this request and its cookie token (None, "" when anonymous).
    Over HTTPS only the ``__Host-`` cookie counts."""
    jar = cookies(request)
    token = jar.get(SECURE_COOKIE, "") if secure(app, request) else jar.get(COOKIE, "")
    return (app.store.session(token) if token else None), token


def current_editor(app: App, request: Request) -> str | None:
    """The signed-in editor's name for this request, or None (anonymous, expired, revoked)."""
    session, _ = editor_session(app, request)
    return session.editor if session else None


def same(a: str, b: str) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(a.encode(), b.encode())


def _mac(key: bytes, *parts: str) -> str:
    return hmac.new(key, "\x00".join(parts).encode(), hashlib.sha256).hexdigest()


def cross_site(app: App, request: Request) -> bool:
    """A POST sent by another site's page (the browser says so in Sec-Fetch-Site or Origin).

    ``Origin: null`` is what browsers send from a page with ``Referrer-Policy: no-referrer``
    (every page of ``serve``), so it proves nothing either way; Sec-Fetch-Site decides then."""
    if request.header("Sec-Fetch-Site") in ("cross-site", "same-site"):
        return True
    origin = request.header("Origin")
    if not origin or origin == "null":
        return False
    allowed = {request.header("Host").lower(), urlsplit(app.config.settings.base_url).netloc.lower()}
    return urlsplit(origin).netloc.lower() not in allowed


class SignIn(Console):
    """Sign-in and sign-out handlers."""

    def address(self, request: Request) -> str:
        return client_address(request.environ, tuple(self.app.config.settings.serve_trusted_proxies))

    def form_token(self, request: Request, nonce: str, issued: int) -> str:
        key = self.app.store.web_key("signin")
        return f"{nonce}.{issued}.{_mac(key, nonce, str(issued), self.address(request))}"

    def token_ok(self, request: Request, token: str) -> bool:
        nonce, _, rest = token.partition(".")
        issued, _, _ = rest.partition(".")
        if not nonce or not issued.isdigit():
            return False
        pre = cookies(request).get(cookie_name(SIGNIN_COOKIE, secure(self.app, request)), "")
        fresh = 0 <= time.time() - int(issued) <= FORM_TOKEN_SECONDS
        return fresh and same(pre, nonce) and same(token, self.form_token(request, nonce, int(issued)))

    def known_browser(self, request: Request, name: str) -> bool:
        value = cookies(request).get(cookie_name(KNOWN_COOKIE, secure(self.app, request)), "")
        who, _, mac = value.rpartition(".")
        key = self.app.store.web_key("known-browser")
        return bool(name) and who == name.encode().hex() and same(mac, _mac(key, who))

    def sign_in_form(self, request: Request, *, error: str = "", status: str = "200 OK",
                     name: str = "") -> Response:
        nonce = secrets.token_urlsafe(18)
        token = self.form_token(request, nonce, int(time.time()))
        response = self.page(request, "moderation/sign_in.html", status, csrf=token, error=error,
                             name=name)
        response.headers = [set_cookie(SIGNIN_COOKIE, nonce, is_secure=secure(self.app, request),
                                       max_age=FORM_TOKEN_SECONDS)]
        return response

    def show_sign_in(self, request: Request) -> Response:
        session, _ = editor_session(self.app, request)
        return self.redirect(f"{BASE}/") if session else self.sign_in_form(request)

    def sign_in(self, request: Request) -> Response:
        tr = translator(self.lang(request))
        data = form(request)
        if cross_site(self.app, request) or not self.token_ok(request, data.get("csrf", "")):
            return self.refused(request, tr("form_expired"))
        name = data.get("name", "").strip()[:64]
        address = self.address(request)
        settings = self.app.config.settings
        store = self.app.store
        limit = int(settings.signin_max_failures)
        cap = float(settings.signin_max_delay_minutes)
        wait = store.signin_throttle(name, address, max_failures=limit, cap_seconds=cap * 60,
                                     known_browser=self.known_browser(request, name))
        if wait is not None:
            seconds = str(math.ceil(wait.wait_seconds))
            key = "throttled_account" if wait.scope == "account" else "throttled_address"
            response = self.sign_in_form(request, status="429 Too Many Requests", name=name,
                                         error=tr(key, s=seconds, cap=f"{cap:g}"))
            response.headers = [*(response.headers or []), ("Retry-After", seconds)]
            return response
        if not store.check_password(name, data.get("password", "")):
            store.record_failure(name, address, max_failures=limit)
            return self.sign_in_form(request, status="401 Unauthorized", name=name, error=tr("wrong"))
        hours = float(settings.editor_session_hours)
        session = store.create_session(name, hours=hours, address=address)
        is_secure = secure(self.app, request)
        known = name.encode().hex()
        return self.redirect(f"{BASE}/?lang={self.lang(request)}", [
            set_cookie(COOKIE, session.token, is_secure=is_secure, max_age=int(hours * 3600)),
            set_cookie(SIGNIN_COOKIE, "", is_secure=is_secure, max_age=0),
            set_cookie(KNOWN_COOKIE, f"{known}.{_mac(store.web_key('known-browser'), known)}",
                       is_secure=is_secure, max_age=KNOWN_BROWSER_DAYS * 86400),
        ])

    def sign_out(self, request: Request) -> Response:
        session, token = editor_session(self.app, request)
        if session is None:
            return self.redirect(f"{BASE}/sign-in")
        if not same(form(request).get("csrf", ""), session.csrf_token):
            return self.refused(request, translator(self.lang(request))("bad_token"))
        self.app.store.revoke_session(token)
        is_secure = secure(self.app, request)
        return self.redirect(f"{BASE}/sign-in", [set_cookie(COOKIE, "", is_secure=is_secure, max_age=0)])
