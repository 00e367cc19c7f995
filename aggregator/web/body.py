"""Request bodies read in full, within a deadline and a size limit, before any handler runs
(#16 item 9).

A client that announces a body and sends it slowly (or never) must not hold anything but its
own connection: handlers take locks (the store's one connection), so the body is read here,
first, by ``make_wsgi``. The read runs in a helper thread the request waits on for at most
``serve.body_timeout`` seconds, which holds under any WSGI server, including one that hands
the application the raw socket (wsgiref); a server that buffers bodies itself (waitress)
simply makes the read immediate.
"""

from __future__ import annotations

import threading
from typing import Any

from aggregator.web import Response

CHUNK = 64 * 1024


def _refuse(status: str, message: str) -> Response:
    return Response(message.encode("utf-8"), status, [("Cache-Control", "no-store")],
                    content_type="text/plain; charset=utf-8")


def _read(stream: Any, length: int, into: list[bytes]) -> None:
    left = length
    while left > 0:
        chunk = stream.read(min(CHUNK, left))
        if not chunk:
            return
        into.append(bytes(chunk))
        left -= len(chunk)


def read_body(environ: dict[str, Any], *, limit: int, timeout: float) -> bytes | Response:
    """The request's body, or the response that refuses it (400, 408 or 413)."""
    raw = str(environ.get("CONTENT_LENGTH") or "").strip()
    if not raw:
        return b""
    if not raw.isdigit():
        return _refuse("400 Bad Request", "Content-Length is not a number.")
    length = int(raw)
    if length > limit:
        return _refuse("413 Content Too Large", f"The body is larger than {limit:,} bytes.")
    if length == 0:
        return b""
    chunks: list[bytes] = []
    failed: list[BaseException] = []

    def pull() -> None:
        try:
            _read(environ["wsgi.input"], length, chunks)
        except Exception as exc:  # the client went away: reported below
            failed.append(exc)

    reader = threading.Thread(target=pull, name="request-body", daemon=True)
    reader.start()
    reader.join(timeout)
    if reader.is_alive():
        return _refuse("408 Request Timeout",
                       f"The body did not arrive within {timeout:g} seconds.")
    body = b"".join(chunks)
    if failed or len(body) < length:
        return _refuse("400 Bad Request", "The body is shorter than its Content-Length.")
    return body


__all__ = ["read_body"]
