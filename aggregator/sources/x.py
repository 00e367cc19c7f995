"""X accounts through the API v2 with tweepy (the only module that imports tweepy).

One ``XFetcher`` per run. For each X source it resolves the handle to its user id once
(kept in ``sources.x_user_id``), then reads the timeline newer than the stored cursor
(``since_id``), page by page up to ``x.max_pages``. The new cursor travels back in the
``FetchResult`` and is committed by the collector with the posts it covers.

Two things are written here at once, because they are facts the moment X answers and
must survive a crash before the posts are committed: billed reads (``x_reads``, the cost
governor) and rate-limit pauses (``x_pauses``). What X said about posts' and the account's
availability travels back in ``FetchResult.availability`` and is written by the collector
with the posts (``aggregator.compliance``).

Handles marked ``via: bridge``, or every handle when no token is set but
``x.bridge_template`` is, are read as feeds through the bridge (the feed fetcher).
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import requests
import tweepy

from aggregator.errors import AuthError, FetchError, GoneError, ParseError, RateLimited, SourceError
from aggregator.models import Availability, FetchResult, RawItem, SourceSpec, iso
from aggregator.settings import Settings
from aggregator.sources.http import check_allowed
from aggregator.sources.x_budget import budget_error, page_size, spend, within_budget
from aggregator.sources.x_payload import availability_of, flag_of, pick_includes, reset_at
from aggregator.store import Store

log = logging.getLogger(__name__)

TWEEPY_HOST = "https://api.twitter.com"
TWEET_FIELDS = [
    "created_at", "lang", "entities", "referenced_tweets", "attachments", "conversation_id",
    "public_metrics", "edit_history_tweet_ids", "author_id", "withheld",
]
EXPANSIONS = [
    "author_id", "referenced_tweets.id", "referenced_tweets.id.author_id",
    "attachments.media_keys",
]
MEDIA_FIELDS = ["url", "preview_image_url", "alt_text", "width", "height", "type"]
USER_FIELDS = ["username", "name", "protected", "withheld"]
AUTH_HINT = (
    "token missing, expired or without read access: put a bearer token with read access "
    "(X developer console > your app > Keys and tokens) in the environment variable {env}"
)


class _RedactToken(logging.Filter):
    """tweepy logs request headers at DEBUG; never let the bearer token reach a log."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if "Bearer " in text:
            record.msg = re.sub(r"Bearer [^'\"\s,}]+", "Bearer [redacted]", text)
            record.args = ()
        return True


_REDACT = _RedactToken()


def _guard_tweepy_log() -> None:
    tweepy_log = logging.getLogger("tweepy.client")
    if _REDACT not in tweepy_log.filters:
        tweepy_log.addFilter(_REDACT)


class _Transport(requests.adapters.HTTPAdapter):
    """Sends tweepy's requests to ``x.api_base`` (a loopback fake in tests), with timeouts,
    and reads each body within what is left of the source's ``http.deadline``: a server that
    trickles a byte a second is cut off there, not after one read timeout per byte."""

    def __init__(self, base: str, timeout: tuple[float, float], remaining: Callable[[], float]) -> None:
        super().__init__(max_retries=0)
        self.base = base.rstrip("/")
        self.timeout = timeout
        self.remaining = remaining

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        url = request.url or ""
        if url.startswith(TWEEPY_HOST):
            request.url = self.base + url[len(TWEEPY_HOST):]
        left = self.remaining()
        if left <= 0:
            raise requests.Timeout("the source's http.deadline is spent")
        kwargs["timeout"] = (min(self.timeout[0], left), min(self.timeout[1], left))
        kwargs["stream"] = True
        response = super().send(request, **kwargs)
        chunks: list[bytes] = []

        def piece() -> bytes:
            try:
                return bytes(response.raw.read1(65536, decode_content=True))
            except TypeError:  # a stand-in body without decode_content (vcrpy's replays)
                return bytes(response.raw.read1(65536))

        try:
            while chunk := piece():
                chunks.append(chunk)
                if self.remaining() <= 0:
                    raise requests.Timeout("the body did not arrive within the source's http.deadline")
        except requests.RequestException:
            response.close()
            raise
        except Exception as exc:  # urllib3's read errors, as requests would wrap them
            response.close()
            if "Timeout" in type(exc).__name__:
                raise requests.Timeout(str(exc)) from exc
            raise requests.ConnectionError(str(exc)) from exc
        response._content = b"".join(chunks)
        return response


LOOKUP_MAX = 100  # ids per GET /2/tweets
LOOKUP_FIELDS = ["edit_history_tweet_ids", "withheld", "author_id", "created_at"]
RECHECK = SourceSpec(id="recheck", kind="x", name="X recheck", mission=None)  # whose reads the lookups are


@dataclass
class Lookup:
    """What one tweets lookup said: flags per post, warnings, posts newly charged."""

    flags: list[Availability] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    charged: int = 0


@dataclass
class _Page:
    body: dict[str, Any]
    headers: Mapping[str, str]


@dataclass
class _Run:
    """What one source's fetch gathered so far."""

    tweets: list[dict[str, Any]] = field(default_factory=list)
    includes: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    flags: list[Availability] = field(default_factory=list)
    charged: dict[str, int] = field(default_factory=lambda: {"post": 0, "user": 0})


def uses_bridge(spec: SourceSpec, settings: Settings, token: str | None) -> bool:
    """Whether this X handle is read through the RSS bridge instead of the API."""
    if spec.kind != "x" or not settings.x_bridge_template:
        return False
    return spec.via_bridge or not token


def bridge_spec(spec: SourceSpec, settings: Settings) -> SourceSpec:
    url = settings.x_bridge_template.format(handle=spec.handle or "")
    return replace(spec, kind="feed", url=url, via_bridge=True)


class XFetcher:
    def __init__(
        self, settings: Settings, env: Mapping[str, str], store: Store, *,
        sleep: Callable[[float], None] = time.sleep, rand: Callable[[], float] = random.random,
    ) -> None:
        self.settings = settings
        self.store = store
        self.token = (env.get(settings.x_token_env) or "").strip() or None
        self.sleep = sleep
        self.rand = rand
        self._client: tweepy.Client | None = None
        self._until = float("inf")  # monotonic time by which the current source must be done
        _guard_tweepy_log()

    # --- entry point --------------------------------------------------------------------

    def fetch_many(
        self, jobs: Sequence[tuple[SourceSpec, Mapping[str, Any]]]
    ) -> Iterator[tuple[SourceSpec, FetchResult | SourceError]]:
        bridged = [(s, r) for s, r in jobs if uses_bridge(s, self.settings, self.token)]
        direct = [(s, r) for s, r in jobs if not uses_bridge(s, self.settings, self.token)]
        if bridged:
            yield from self._through_bridge(bridged)
        now = self.store.clock()
        spent = spend(self.store.x_usage(now), self.settings)
        allowed = within_budget(direct, spent, self.settings)
        refused: AuthError | None = None  # X refused the token: the others are not called
        for spec, row in direct:
            if spec.via_bridge:
                yield spec, SourceError(
                    f"{spec.id}: marked via: bridge but x.bridge_template is not set",
                    source=spec.id, hint="set x.bridge_template in config.yaml, e.g. "
                    "http://rsshub.local/twitter/user/{handle}, or remove via: bridge",
                )
                continue
            if spec.id not in allowed:
                yield spec, budget_error(spec, row, spend(self.store.x_usage(now), self.settings), self.settings, now)
                continue
            if refused is not None:
                yield spec, AuthError(
                    f"{spec.id}: not called: X refused the token for {refused.source} in this run",
                    source=spec.id, hint=refused.hint)
                continue
            started = time.monotonic()
            self._until = started + self.settings.http_deadline
            try:
                result = self.fetch(spec, row)
            except SourceError as exc:
                exc.source = exc.source or spec.id
                exc.fetch_s = time.monotonic() - started
                if isinstance(exc, AuthError) and self.token:
                    refused = exc
                yield spec, exc
                continue
            yield spec, replace(result, fetch_s=time.monotonic() - started)

    def _through_bridge(
        self, jobs: Sequence[tuple[SourceSpec, Mapping[str, Any]]]
    ) -> Iterator[tuple[SourceSpec, FetchResult | SourceError]]:
        from aggregator.sources.feeds import FeedFetcher

        by_id = {spec.id: spec for spec, _ in jobs}
        feed_jobs = [(bridge_spec(spec, self.settings), row) for spec, row in jobs]
        fetcher = FeedFetcher(self.settings, clock=self.store.clock)
        try:
            for feed_spec, outcome in fetcher.fetch_many(feed_jobs):
                yield by_id[feed_spec.id], outcome
        finally:
            close = getattr(fetcher, "close", None)
            if close is not None:
                close()

    def resolve(self, spec: SourceSpec) -> tuple[str | None, list[str], list[Availability]]:
        """Look the handle up now: (user id or None, warnings, what X said about the account).
        For ``aggregator x resolve``, which writes them."""
        if not self.token:
            raise self._no_token(spec)
        run = _Run()
        self._until = time.monotonic() + self.settings.http_deadline
        user_id = self._resolve(spec, run)
        return user_id or None, run.warnings, run.flags

    # --- re-checking stored posts (tweets lookup) ---------------------------------------

    def lookup(self, status_ids: Sequence[str], post_ids: Mapping[str, str]) -> Lookup:
        """Ask X about up to 100 stored posts at once (``GET /2/tweets?ids=``).

        ``post_ids`` maps each status id asked to its archive id. Each post X returns is a
        billed read (recorded now, as ``recheck``) and is available (or withheld); each one it
        reports in ``errors`` gets that flag. Raises the ``SourceError``s of any call.
        """
        if not self.token:
            raise self._no_token(RECHECK)
        if not 0 < len(status_ids) <= LOOKUP_MAX:
            raise ValueError(f"between 1 and {LOOKUP_MAX} ids per lookup, not {len(status_ids)}")
        self._until = time.monotonic() + self.settings.http_deadline
        page = self._call("tweets_lookup", RECHECK, lambda: self.client.get_tweets(
            list(status_ids), tweet_fields=LOOKUP_FIELDS,
        ))
        data = page.body.get("data") or []
        out = Lookup()
        for tweet in data:
            flag = flag_of(tweet)
            asked = post_ids.get(str(tweet.get("id")))
            out.flags.append(replace(flag, target=asked) if asked and asked != flag.target else flag)
        for err in page.body.get("errors") or []:
            asked = str(err.get("resource_id") or err.get("value") or "")
            detail = str(err.get("detail") or err.get("title") or "")
            state = availability_of(str(err.get("title") or ""), detail)
            if str(err.get("resource_type")) == "tweet" and asked in post_ids and state:
                out.flags.append(Availability(post_ids[asked], state, detail))
            else:
                out.warnings.append(f"X reported: {detail}")
        out.charged = self.store.record_x_reads(
            RECHECK.id, self.store.clock(), posts=[str(t["id"]) for t in data])["post"]
        return out

    # --- one source ---------------------------------------------------------------------

    def fetch(self, spec: SourceSpec, row: Mapping[str, Any]) -> FetchResult:
        if not self.token:
            raise self._no_token(spec)
        run = _Run()
        user_id = str(row.get("x_user_id") or "") or self._resolve(spec, run)
        if not user_id:
            return self._result(spec, row, run, user_id=None)
        cursor = str(row.get("cursor") or "") or None
        gap = (str(row.get("x_gap_since") or ""), str(row.get("x_gap_until") or ""))
        if cursor and gap[0] and gap[1]:  # a burst larger than x.max_pages left older posts
            return self._catch_up(spec, row, run, user_id, gap)
        token: str | None = None
        for number in range(1, self.settings.x_max_pages + 1):
            # The first run reads the backfill exactly (X asks for 5 to 100 per page).
            wanted = self.settings.x_backfill - len(run.tweets)
            size = page_size(row, self.settings) if cursor else max(5, min(100, wanted))
            params: dict[str, Any] = {"max_results": size}
            if cursor:
                params["since_id"] = cursor
            if token:
                params["pagination_token"] = token
            try:
                page = self._call("users_tweets", spec, self._timeline(user_id, params))
            except RateLimited as exc:
                if not run.tweets:
                    raise
                run.warnings.append(f"rate limited after page {number - 1}; the rest is read after {iso(exc.reset_at)}")
                return replace(self._result(spec, row, run, user_id=user_id, advance=False),
                               retry_after=exc.reset_at)
            self._take(spec, page, run, user_id)
            token = (page.body.get("meta") or {}).get("next_token")
            if not token or (not cursor and len(run.tweets) >= self.settings.x_backfill):
                break
        else:
            if token and cursor and run.tweets:  # the newest are read; the rest in later runs
                oldest = str(min(int(t["id"]) for t in run.tweets))
                run.warnings.append(
                    f"more than {self.settings.x_max_pages} pages of new posts: catching up on the "
                    f"older ones (before id {oldest}) in the next runs (x.max_pages)"
                )
                result = self._result(spec, row, run, user_id=user_id)
                return replace(result, extra_state={**result.extra_state, "x_gap_since": cursor,
                                                    "x_gap_until": oldest})
        return self._result(spec, row, run, user_id=user_id)

    def _catch_up(self, spec: SourceSpec, row: Mapping[str, Any], run: _Run, user_id: str,
                  gap: tuple[str, str]) -> FetchResult:
        """Read the posts a burst left between ``since`` and ``until`` (exclusive), older
        pages first from where the last run stopped; new posts wait until the gap is closed."""
        since, until = gap
        token: str | None = None
        retry_after: datetime | None = None
        for _number in range(1, self.settings.x_max_pages + 1):
            params: dict[str, Any] = {"max_results": 100, "since_id": since, "until_id": until}
            if token:
                params["pagination_token"] = token
            try:
                page = self._call("users_tweets", spec, self._timeline(user_id, params))
            except RateLimited as exc:
                if not run.tweets:
                    raise
                retry_after, token = exc.reset_at, token or "rate limited"
                break
            self._take(spec, page, run, user_id)
            token = (page.body.get("meta") or {}).get("next_token")
            if not token:
                break
        result = self._result(spec, row, run, user_id=user_id, advance=False)
        gap_state: dict[str, Any] = {"x_gap_since": None, "x_gap_until": None}  # caught up
        notes = result.warnings
        if token:
            until = str(min([int(t["id"]) for t in run.tweets] + [int(until)]))
            gap_state = {"x_gap_since": since, "x_gap_until": until}
            notes = (*notes, f"catching up: {len(run.tweets)} older posts read this run, more before"
                             f" id {until} in the next runs")
        return replace(result, warnings=notes, retry_after=retry_after,
                       extra_state={**result.extra_state, **gap_state})

    def _no_token(self, spec: SourceSpec) -> AuthError:
        return AuthError(
            f"{spec.id}: no X token in ${self.settings.x_token_env}",
            source=spec.id, hint=AUTH_HINT.format(env=self.settings.x_token_env)
            + ", or set x.bridge_template to read X handles through an RSS bridge",
        )

    def _timeline(self, user_id: str, params: Mapping[str, Any]) -> Callable[[], Any]:
        def call() -> Any:
            return self.client.get_users_tweets(
                user_id, tweet_fields=TWEET_FIELDS, expansions=EXPANSIONS,
                media_fields=MEDIA_FIELDS, user_fields=USER_FIELDS, **params,
            )

        return call

    def _resolve(self, spec: SourceSpec, run: _Run) -> str:
        handle = spec.handle or spec.id.split(":", 1)[-1]
        page = self._call("users_by_username", spec, lambda: self.client.get_user(
            username=handle, user_fields=USER_FIELDS,
        ))
        user = page.body.get("data") or {}
        if not user:
            detail = "; ".join(str(e.get("detail") or e.get("title")) for e in page.body.get("errors") or [])
            if "suspend" in detail.lower():
                run.warnings.append(f"@{handle}: the account is suspended on X ({detail})")
                self._mark_source(spec, "suspended", detail, run)
            else:  # unknown handle: deleted, or renamed (its posts are not flagged for a name)
                run.warnings.append(
                    f"@{handle}: X has no such account ({detail or 'no data'}); it was deleted "
                    "or renamed: check the handle in its mission file"
                )
            return ""
        user_id = str(user["id"])
        run.charged["user"] += self.store.record_x_reads(spec.id, self.store.clock(), users=[user_id])["user"]
        if user.get("protected"):
            run.warnings.append(f"@{handle} is a protected account: its posts cannot be read")
            self._mark_source(spec, "protected", f"@{handle} is a protected account on X", run)
        else:
            self._mark_source(spec, "available", "", run)
        return user_id

    def _take(self, spec: SourceSpec, page: _Page, run: _Run, user_id: str) -> None:
        body = page.body
        data = body.get("data") or []
        includes = body.get("includes") or {}
        for key in ("users", "tweets", "media"):
            ident = "media_key" if key == "media" else "id"
            for obj in includes.get(key) or []:
                run.includes.setdefault(key, {})[str(obj.get(ident))] = obj
        run.tweets.extend(data)
        self._errors(spec, body.get("errors") or [], bool(data), run)
        if data or not any(str(e.get("resource_type")) == "user" for e in body.get("errors") or []):
            self._mark_source(spec, "available", "", run)  # X answered for the account: it is readable
        for tweet in data:
            run.flags.append(flag_of(tweet))
        counted = self.settings.x_count_expansions
        posts = [str(t["id"]) for t in data]
        posts += [str(t["id"]) for t in includes.get("tweets") or []] if counted else []
        users = [str(u["id"]) for u in includes.get("users") or []] if counted else []
        charged = self.store.record_x_reads(spec.id, self.store.clock(), posts=posts, users=users)
        for unit, n in charged.items():
            run.charged[unit] += n
        me = run.includes.get("users", {}).get(user_id)
        seen = str((me or {}).get("username") or "")
        if seen and spec.handle and seen.lower() != spec.handle.lower():
            note = f"@{spec.handle} is now @{seen} on X (same account, id {user_id}): update its mission file"
            if note not in run.warnings:
                run.warnings.append(note)

    def _errors(self, spec: SourceSpec, errors: Sequence[Mapping[str, Any]], has_data: bool, run: _Run) -> None:
        """Partial errors in a 200: recorded as warnings; unavailable posts are marked."""
        for err in errors:
            title = str(err.get("title") or "")
            detail = str(err.get("detail") or title)
            kind = str(err.get("resource_type") or "")
            resource = str(err.get("resource_id") or err.get("value") or "")
            state = availability_of(title, detail)
            if kind == "tweet" and resource and state:
                run.flags.append(Availability(f"x:{resource}", state, detail))
            elif kind == "user" and not has_data and state:
                self._mark_source(spec, state, detail, run)
            run.warnings.append(f"X reported: {detail}")

    def _mark_source(self, spec: SourceSpec, state: str, detail: str, run: _Run) -> None:
        run.flags.append(Availability(spec.id, state, detail, account=True))

    def _result(
        self, spec: SourceSpec, row: Mapping[str, Any], run: _Run, *, user_id: str | None,
        advance: bool = True,
    ) -> FetchResult:
        tweets = sorted({str(t["id"]): t for t in run.tweets}.values(), key=lambda t: int(t["id"]))
        if not row.get("cursor") and len(tweets) > self.settings.x_backfill > 0:
            tweets = tweets[-self.settings.x_backfill:]  # the newest: a last page holds 5 at least
        items = tuple(
            RawItem(source_id=spec.id, kind="x", data={"tweet": t, "includes": pick_includes(t, run.includes)},
                    feed_language=spec.language)
            for t in tweets
        )
        old = str(row.get("cursor") or "") or None
        newest = max([int(t["id"]) for t in tweets] + ([int(old)] if old else []), default=None)
        cursor = str(newest) if advance and newest is not None else old
        me = run.includes.get("users", {}).get(user_id or "")
        extra: dict[str, Any] = {"x_user_id": user_id} if user_id else {}
        if me and me.get("username"):
            extra["x_handle_seen"] = me["username"]
        return FetchResult(
            source_id=spec.id, status="ok", items=items, http_status=200, cursor=cursor,
            warnings=tuple(run.warnings), units_read={"posts": run.charged["post"], "users": run.charged["user"]},
            extra_state=extra, availability=tuple(run.flags),
        )

    # --- HTTP -----------------------------------------------------------------------------

    @property
    def client(self) -> tweepy.Client:
        if self._client is None:
            client = tweepy.Client(self.token, return_type=requests.Response, wait_on_rate_limit=False)
            timeout = (self.settings.http_connect_timeout, self.settings.http_read_timeout)
            client.session.mount(TWEEPY_HOST, _Transport(
                self.settings.x_api_base, timeout, lambda: self._until - time.monotonic()))
            client.user_agent = f"{self.settings.http_user_agent} {client.user_agent}"
            self._client = client
        return self._client

    def scope(self, endpoint: str) -> str:
        return f"x:{self.settings.x_token_env}:{endpoint}"

    def _call(self, endpoint: str, spec: SourceSpec, call: Callable[[], Any]) -> _Page:
        """One API call: pauses honoured, 5xx/connection errors retried, errors wrapped."""
        scope = self.scope(endpoint)
        check_allowed(self.settings.x_api_base, self.settings, spec.id)  # `offline`: before any token
        now = self.store.clock()
        paused = self.store.x_paused_until(scope, now)
        if paused is not None:
            raise RateLimited(
                f"{spec.id}: X rate limit on {endpoint} for this token; paused until {iso(paused)}",
                reset_at=paused, source=spec.id, scope=scope,
                hint="nothing to do: the source is collected again after that time",
            )
        attempt = 0
        while True:
            try:
                response = call()
                page = _Page(body=_json_body(response, spec), headers=response.headers)
            except tweepy.TooManyRequests as exc:
                raise self._rate_limited(exc, scope, spec) from exc
            except (tweepy.Unauthorized, tweepy.Forbidden) as exc:
                raise AuthError(
                    f"{spec.id}: X answered {exc.response.status_code}: token missing, expired or "
                    "without read access", source=spec.id,
                    hint=AUTH_HINT.format(env=self.settings.x_token_env),
                ) from exc
            except tweepy.NotFound as exc:
                raise GoneError(f"{spec.id}: X answered 404 for {endpoint}", source=spec.id, http_status=404) from exc
            except (tweepy.TwitterServerError, requests.ConnectionError, requests.Timeout) as exc:
                attempt += 1
                delay = min(30.0, 2.0 ** (attempt - 1)) * (0.5 + self.rand())
                if self._until - time.monotonic() <= delay:
                    raise FetchError(
                        f"{spec.id}: X did not answer within http.deadline "
                        f"({self.settings.http_deadline:g} s, {attempt} attempt(s)): {_short(exc)}",
                        source=spec.id, hint="X or the network is too slow; the source is retried"
                        " later. Raise http.deadline in config.yaml if this is normal here",
                    ) from exc
                if attempt > self.settings.x_max_retries:
                    raise FetchError(
                        f"{spec.id}: X unavailable after {attempt} attempts: {_short(exc)}",
                        source=spec.id, hint="X or the network failed; the source is retried later",
                        http_status=getattr(getattr(exc, "response", None), "status_code", None),
                    ) from exc
                self.sleep(delay)
                continue
            except tweepy.HTTPException as exc:
                raise FetchError(
                    f"{spec.id}: X answered {exc.response.status_code}: {_short(exc)}",
                    source=spec.id, http_status=exc.response.status_code,
                ) from exc
            except (requests.RequestException, tweepy.TweepyException) as exc:
                raise FetchError(f"{spec.id}: X request failed: {_short(exc)}", source=spec.id) from exc
            self._maybe_pause(page.headers, scope, now)
            return page

    def _rate_limited(self, exc: tweepy.TooManyRequests, scope: str, spec: SourceSpec) -> RateLimited:
        now = self.store.clock()
        reset = reset_at(exc.response.headers) or now + timedelta(minutes=15)
        self.store.set_x_pause(scope, reset, f"429 on {spec.id}", now)
        return RateLimited(
            f"{spec.id}: X rate limit reached (429); every source on this token waits until {iso(reset)}",
            reset_at=reset, source=spec.id, scope=scope,
            hint="poll less often (interval_minutes) or fewer accounts per token",
        )

    def _maybe_pause(self, headers: Mapping[str, str], scope: str, now: datetime) -> None:
        """A response that used the window's last call pauses the scope without a 429."""
        if str(headers.get("x-rate-limit-remaining", "")).strip() == "0":
            reset = reset_at(headers)
            if reset is not None and reset > now:
                self.store.set_x_pause(scope, reset, "x-rate-limit-remaining: 0", now)


def _json_body(response: requests.Response, spec: SourceSpec) -> dict[str, Any]:
    """The response's JSON object, or a ``ParseError`` that names the source and what came."""
    try:
        body = response.json()
    except ValueError as exc:  # requests' JSONDecodeError is a RequestException too: first
        kind = response.headers.get("content-type") or "no Content-Type"
        raise ParseError(
            f"{spec.id}: X answered HTTP {response.status_code} with a body that is not JSON"
            f" ({kind}): {response.text[:60]!r}", source=spec.id, http_status=response.status_code,
            hint="X, or a proxy in between, sent an error page; the source is retried later",
        ) from exc
    if not isinstance(body, dict):
        raise ParseError(f"{spec.id}: X answered with JSON that is not an object", source=spec.id,
                         hint="the source is retried later", http_status=response.status_code)
    return body


def _short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200]
