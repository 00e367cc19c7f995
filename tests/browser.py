"""Headless Chromium for tests, kept on loopback (see ../shared/BROWSER.md).

Usage::

    with open_browser(chromium_path, tmp_path) as b:
        page = b.context.new_page()
        page.goto(url)
        assert not b.external_requests
"""

from __future__ import annotations

import contextlib
import http.server
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--proxy-server=http://127.0.0.1:9",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
]

LOOPBACK = ("127.0.0.1", "localhost", "[::1]", "::1")
AXE = Path(__file__).resolve().parent.parent / ".ci" / "node_modules" / "axe-core" / "axe.min.js"


@dataclass
class Browser:
    context: Any
    external_requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def new_page(self) -> Any:
        page = self.context.new_page()
        page.on(
            "console",
            lambda msg: self.console_errors.append(msg.text) if msg.type == "error" else None,
        )
        page.on("pageerror", lambda exc: self.console_errors.append(str(exc)))
        return page


def _is_loopback_url(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about"):
        return True
    host = (parts.hostname or "").lower()
    return host in LOOPBACK or host.startswith("127.")


@contextlib.contextmanager
def open_browser(chromium: str, profile_dir: Path, **context_args: Any) -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            str(profile_dir / "chromium-profile"),
            executable_path=chromium,
            headless=True,
            args=LAUNCH_ARGS,
            **context_args,
        )
        browser = Browser(context=ctx)

        def route(r: Any) -> None:
            url = r.request.url
            if _is_loopback_url(url):
                r.continue_()
            else:
                browser.external_requests.append(url)
                r.abort()

        ctx.route("**/*", route)
        try:
            yield browser
        finally:
            ctx.close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def serve_directory(root: Path, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve ``root`` over HTTP on a free loopback port; yields the base URL."""
    handler = partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer((host, 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def axe_violations(page: Any) -> list[str]:
    """Run axe-core in ``page``; its serious and critical violations, one line each.

    The browser context needs ``bypass_csp=True`` where the page's CSP forbids the script.
    """
    from tests.conftest import need

    need(AXE.is_file(), f"axe-core not found at {AXE}; .ci/run installs it with npm")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v.get("impact") in ("serious", "critical")
    ]


@contextlib.contextmanager
def serve_app(app: Any) -> Iterator[str]:
    """``aggregator serve``'s WSGI app on a free loopback port in a thread; yields its URL."""
    from aggregator.web import serve

    server = serve(app, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
