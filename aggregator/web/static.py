"""Files of ``output/`` as ``aggregator serve`` sends them (#16 item 12).

Each file gets the headers docs/publishing.md recommends for a static host: a
``Cache-Control`` by path, CORS for the JSON API and the feeds, and a Content-Security-Policy
(the pages' own policy as a header, ``frame-ancestors *`` for the widget documents so they
stay embeddable anywhere, and a sandbox for everything that is not a page, so a feed or JSON
file opened as a document runs nothing). A path that cannot name a file (a NUL byte, a
segment longer than a file name may be, a way out of ``output/``) is a 404, never an error.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from urllib.parse import unquote

from aggregator.web import Response

MAX_SEGMENT_BYTES = 255  # the longest file name Linux, macOS and Windows file systems allow

PAGE_CSP = ("default-src 'none'; img-src 'self'; style-src 'self'; frame-src 'self'; "
            "script-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'")
WIDGET_CSP = "frame-ancestors *"  # the document's own <meta> policy does the rest
FILE_CSP = "default-src 'none'; frame-ancestors 'none'; sandbox"

# (path prefix or exact path, Cache-Control), first match wins (docs/publishing.md's table)
CACHE = (
    ("media/", "public, max-age=31536000, immutable"),
    ("static/", "public, max-age=86400"),
    ("widget/embed.js", "public, max-age=3600"),
    ("widget/builder.js", "public, max-age=3600"),
    ("widget/index.html", "public, max-age=3600"),
    ("feeds/", "public, max-age=900"),
    ("", "public, max-age=300"),
)
CORS = ("api/", "feeds/")


def usable_path(path: str) -> bool:
    """False for a path no file can have: a NUL byte or an over-long segment."""
    if "\x00" in path:
        return False
    return all(len(part.encode("utf-8", "surrogateescape")) <= MAX_SEGMENT_BYTES
               for part in path.split("/"))


def not_found() -> Response:
    return Response(b"<h1>Not found</h1>", "404 Not Found",
                    [("Cache-Control", "no-store"), ("Content-Security-Policy", FILE_CSP)])


def headers_for(rel: str, ctype: str) -> list[tuple[str, str]]:
    cache = next(value for prefix, value in CACHE if rel == prefix or rel.startswith(prefix))
    if ctype.startswith("text/html"):
        widget_doc = rel.startswith("widget/") and rel != "widget/index.html"
        csp = WIDGET_CSP if widget_doc else PAGE_CSP
    else:
        csp = FILE_CSP
    out = [("Cache-Control", cache), ("Content-Security-Policy", csp)]
    if rel.startswith(CORS):
        out += [("Access-Control-Allow-Origin", "*"),
                ("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")]
    return out


def serve_file(root: Path, path: str) -> Response:
    rel = unquote(path).lstrip("/")  # a server may hand over %-escapes it did not decode
    if not usable_path(rel):
        return not_found()
    try:
        base = root.resolve()
        target = (base / rel).resolve()
        if target.is_dir():
            target = target / "index.html"
            rel = f"{rel.rstrip('/')}/index.html".lstrip("/")
        if not target.is_relative_to(base) or not target.is_file():
            return not_found()
        data = target.read_bytes()
    except (OSError, ValueError):  # a name the file system refuses is a file that is not there
        return not_found()
    ctype = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    if ctype.startswith("text/") or ctype in ("application/javascript", "application/json"):
        ctype += "; charset=utf-8"
    return Response(data, content_type=ctype, headers=headers_for(rel, ctype))


__all__ = ["headers_for", "not_found", "serve_file", "usable_path"]
