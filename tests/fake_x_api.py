"""A loopback fake of the X API v2, fed with real recorded bodies and headers.

The fake serves, per path, a queue of replies (the last one repeats) and records every
request it receives (path, query parameters, whether a bearer token was sent). Without a
queued reply, ``GET /2/tweets?ids=`` (the tweets lookup) answers like X from ``posts`` and
``gone``: at most 100 ids (more is a 400), each post returned in ``data`` or reported in
``errors`` with X's own wording (not found, not authorized), ``edit_history_tweet_ids``
as stored. A reply may also trickle its body (``trickle_s`` per byte) or not be JSON
(``raw``). Bodies and
rate-limit headers come from ``../shared/fixtures/x_api_v2/`` read in place; where no real
recording of a call exists (a timeline with expansions, a second page, a 429), tests
assemble one from the real pieces with the helpers below and say so.

Run it alone (for trying the CLI by hand)::

    python tests/fake_x_api.py  # serves one UNISFA-like timeline on a free port
"""

from __future__ import annotations

import contextlib
import copy
import http.server
import json
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

if TYPE_CHECKING:
    from aggregator.models import RawItem

TOO_MANY_REQUESTS = {  # the v2 429 body as quoted by a third-party note (see fixtures README)
    "title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429,
}
UNAUTHORIZED = {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}


@dataclass
class Reply:
    body: Any
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    stall: threading.Event | None = None  # wait for this event before answering
    raw: bytes | None = None  # a body sent as is (not JSON), with content_type
    content_type: str = "application/json; charset=utf-8"
    trickle_s: float = 0.0  # seconds between bytes of the body (a server that trickles)


@dataclass
class Seen:
    path: str
    params: dict[str, str]
    authorized: bool


class FakeXApi:
    def __init__(self) -> None:
        self.routes: dict[str, list[Reply]] = {}
        self.posts: dict[str, dict[str, Any]] = {}  # status id -> post, for the tweets lookup
        self.gone: dict[str, str] = {}  # status id -> "deleted" or "protected"
        self.requests: list[Seen] = []
        self._lock = threading.Lock()
        self._server: http.server.ThreadingHTTPServer | None = None

    def add(self, path: str, body: Any, status: int = 200, headers: Mapping[str, str] | None = None,
            stall: threading.Event | None = None, *, raw: bytes | None = None,
            content_type: str = "application/json; charset=utf-8", trickle_s: float = 0.0) -> None:
        self.routes.setdefault(path, []).append(
            Reply(body, status, dict(headers or {}), stall, raw, content_type, trickle_s))

    def lookup(self, params: Mapping[str, str]) -> Reply:
        """GET /2/tweets?ids=: what X answers for these ids now (see the module)."""
        ids = [i for i in params.get("ids", "").split(",") if i]
        if not ids or len(ids) > 100:
            return Reply({"errors": [{"parameters": {"ids": ids[:3]}, "message": "The number of values"
                          " in the `ids` query parameter list [" + str(len(ids)) + "] is not between 1 and 100"}],
                          "title": "Invalid Request", "detail": "One or more parameters to your request was invalid.",
                          "type": "https://api.twitter.com/2/problems/invalid-request"}, 400)
        data, errors = [], []
        for i in ids:
            state = self.gone.get(i)
            if state == "protected":
                errors.append({"value": i, "detail": f"Sorry, you are not authorized to see the Tweet with ids: [{i}].",
                               "title": "Authorization Error", "resource_type": "tweet", "parameter": "ids",
                               "resource_id": i, "type": "https://api.twitter.com/2/problems/not-authorized-for-resource"})
            elif state is not None or i not in self.posts:
                errors.append({"value": i, "detail": f"Could not find tweet with ids: [{i}].",
                               "title": "Not Found Error", "resource_type": "tweet", "parameter": "ids",
                               "resource_id": i, "type": "https://api.twitter.com/2/problems/resource-not-found"})
            else:
                data.append(self.posts[i])
        body: dict[str, Any] = {"data": data} if data else {}
        if errors:
            body["errors"] = errors
        return Reply(body)

    def reset(self, path: str) -> None:
        self.routes.pop(path, None)

    def seen(self, path_part: str) -> list[Seen]:
        return [r for r in self.requests if path_part in r.path]

    def _reply(self, path: str) -> Reply | None:
        with self._lock:
            queue = self.routes.get(path)
            if not queue:
                return None
            return queue.pop(0) if len(queue) > 1 else queue[0]

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FakeXApi:
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                params = {k: v[0] for k, v in parse_qs(parts.query).items()}
                auth = self.headers.get("Authorization", "")
                with fake._lock:
                    fake.requests.append(Seen(parts.path, params, auth.startswith("Bearer ") and len(auth) > 7))
                reply = fake._reply(parts.path)
                if reply is None and parts.path == "/2/tweets":
                    reply = fake.lookup(params)
                if reply is None:
                    reply = Reply({"title": "Not Found", "status": 404}, 404)
                if reply.stall is not None:
                    reply.stall.wait(30)
                data = reply.raw if reply.raw is not None else json.dumps(reply.body).encode()
                self.send_response(reply.status)
                self.send_header("content-type", reply.content_type)
                self.send_header("content-length", str(len(data)))
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                with contextlib.suppress(OSError):  # the client may have been killed
                    if reply.trickle_s:
                        for i in range(len(data)):
                            self.wfile.write(data[i : i + 1])
                            self.wfile.flush()
                            time.sleep(reply.trickle_s)
                    else:
                        self.wfile.write(data)

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()


# --- the real fixtures, read in place ----------------------------------------------------


def decoded(shared: Path, name: str) -> dict[str, Any]:
    """A tweepy cassette decoded to JSON: request, status, rate-limit headers, body."""
    data: dict[str, Any] = json.loads((shared / "fixtures/x_api_v2/tweepy_decoded" / f"{name}.json").read_text())
    return data


def twarc_page(shared: Path, name: str, line: int = 1) -> dict[str, Any]:
    """One real API v2 response page from twarc-csv's test data (without twarc's metadata)."""
    path = shared / "fixtures/x_api_v2/twarc_csv" / f"{name}.jsonl"
    with path.open(encoding="utf-8") as fh:
        for number, text in enumerate(fh, 1):
            if number == line:
                page: dict[str, Any] = json.loads(text)
                page.pop("__twarc", None)
                return page
    raise LookupError(f"{path} has no line {line}")


def split_page(page: Mapping[str, Any], at: int, token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Assemble two pages from one real page: ``data[:at]`` (with ``next_token``) and the rest."""
    first, second = copy.deepcopy(dict(page)), copy.deepcopy(dict(page))
    first["data"], second["data"] = page["data"][:at], page["data"][at:]
    for part in (first, second):
        ids = [int(t["id"]) for t in part["data"]]
        part["meta"] = {"result_count": len(ids), "newest_id": str(max(ids)), "oldest_id": str(min(ids))}
    first["meta"]["next_token"] = token
    return first, second


def item_from_page(page: dict[str, Any], index: int = 0, source_id: str = "x:test") -> RawItem:
    """A timeline item as the fetcher builds it: one post of a page with its own includes."""
    from aggregator.models import RawItem
    from aggregator.sources.x_payload import pick_includes

    includes = {
        key: {str(o.get("media_key" if key == "media" else "id")): o for o in page.get("includes", {}).get(key, [])}
        for key in ("users", "tweets", "media")
    }
    tweet = page["data"][index]
    return RawItem(source_id=source_id, kind="x", data={"tweet": tweet, "includes": pick_includes(tweet, includes)})


def timeline_headers(shared: Path, remaining: str | None = None) -> dict[str, str]:
    """The real rate-limit headers recorded for GET /2/users/:id/tweets."""
    headers = dict(decoded(shared, "test_client_get_users_tweets")["rate_limit_headers"])
    if remaining is not None:
        headers["x-rate-limit-remaining"] = remaining
    return headers


def user_body(user_id: str, username: str, name: str) -> dict[str, Any]:
    return {"data": {"id": user_id, "username": username, "name": name}}


def own_tweet(tweet_id: str, text: str, author_id: str, created_at: str, **extra: Any) -> dict[str, Any]:
    return {"id": tweet_id, "text": text, "author_id": author_id, "created_at": created_at,
            "edit_history_tweet_ids": [tweet_id], "lang": "en", **extra}


def serve_forever_demo() -> Iterator[str]:  # pragma: no cover - manual use only
    with FakeXApi() as fake:
        fake.add("/2/users/by/username/UNISFA_1", user_body("1", "UNISFA_1", "UNISFA"))
        fake.add("/2/users/1/tweets", {"data": [own_tweet("10", "Patrols in #Abyei", "1", "2026-11-27T10:00:00.000Z")],
                                       "includes": {"users": [{"id": "1", "username": "UNISFA_1", "name": "UNISFA"}]},
                                       "meta": {"result_count": 1, "newest_id": "10", "oldest_id": "10"}})
        yield fake.base_url


if __name__ == "__main__":  # pragma: no cover
    for url in serve_forever_demo():
        print(url, flush=True)
        threading.Event().wait()
