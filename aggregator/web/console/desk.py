"""The moderation desk (issue 17): filters, a cursor of 50 posts a page, newest first, each
post as the public sees it with why it is under each mission, and its actions, one by one
or on a selection. The permalink page ``/post/<id>`` posts to the same ``act`` handler.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qsl, urlencode

from aggregator import moderation, search
from aggregator.errors import QuerySyntaxError, Refused, UsageError
from aggregator.render.cards import card
from aggregator.store.search import STATES
from aggregator.web import Request, Response
from aggregator.web.console import BASE, form, form_lists, query
from aggregator.web.console.auth import SignIn, editor_session, same
from aggregator.web.console.text import ACTION_WORDS, translator

PAGE_SIZE = 50
COUNTS_TTL = 60.0
FILTERS = ("mission", "source", "state", "from", "to", "q")


def safe_back(value: str) -> str:
    """Where to go after an action: a desk or permalink URL of this site, nothing else."""
    if not value.startswith((f"{BASE}/", "/post/", "/fr/post/")) or "//" in value or "\\" in value:
        return f"{BASE}/"
    path, _, qs = value.partition("?")
    kept = [(k, v) for k, v in parse_qsl(qs, keep_blank_values=True) if k not in ("done", "n")]
    return path + ("?" + urlencode(kept) if kept else "")


class Desk(SignIn):
    """The queue and the actions."""

    _counts: tuple[tuple[int, int], float, dict[str, int]] | None = None

    def new_counts(self) -> dict[str, int]:
        """Posts no editor acted on, per mission, for the mission menu: recounted when a post
        or an audit entry was added, and at least once a minute (a retag moves posts)."""
        key = self.app.store.desk_version()
        now = time.monotonic()
        if self._counts is None or self._counts[0] != key or now - self._counts[1] > COUNTS_TTL:
            self._counts = (key, now, self.app.store.unreviewed_counts())
        return self._counts[2]

    def filters(self, request: Request) -> dict[str, str]:
        q = query(request)
        out = {k: q.get(k, "").strip()[:2000] for k in FILTERS}
        mission = self.app.config.mission(out["mission"]) if out["mission"] else None
        out["mission"] = mission.acronym if mission else ""
        if out["state"] not in STATES:
            out["state"] = ""
        return out

    def plan(self, f: dict[str, str]) -> search.SearchPlan:
        plan = search.parse(f["q"], missions=set(self.app.config.missions))
        filters = dict(plan.filters)
        for key, value in (("desk_mission", f["mission"]), ("desk_source", f["source"]),
                           ("state", f["state"])):
            if value:
                filters[key] = (value,)
        since, until = plan.since, plan.until
        if f["from"]:
            start, _ = search.date_bounds(f["from"], 0, f["from"])
            since = max(since or start, start)
        if f["to"]:
            _, end = search.date_bounds(f["to"], 0, f["to"])
            until = min(until or end, end)
        return search.SearchPlan(
            query=plan.query, match=plan.match, exclude=plan.exclude, filters=filters,
            negated=plan.negated, since=since, until=until, terms=plan.terms,
        )

    def queue(self, request: Request) -> Response:
        session, _ = editor_session(self.app, request)
        if session is None:
            return self.redirect(f"{BASE}/sign-in")
        lang = self.lang(request)
        f = self.filters(request)
        store = self.app.store
        ctx: dict[str, Any] = {"filters": f, "rows": [], "next": None, "error": ""}
        status = "200 OK"
        try:
            result = store.search(self.plan(f), sort="newest", limit=PAGE_SIZE,
                                  cursor=query(request).get("cursor") or None,
                                  include_hidden=True, snippets=False)
            ctx["rows"] = self.rows(result.rows, lang)
            if result.next_cursor:
                ctx["next"] = f"{BASE}/?" + urlencode(
                    {**{k: v for k, v in f.items() if v}, "lang": lang, "cursor": result.next_cursor})
        except (QuerySyntaxError, UsageError) as exc:
            ctx["error"], status = str(exc), "400 Bad Request"
        role = store.role(session.editor)
        names = store.source_names()
        return self.page(
            request, "moderation/queue.html", status, **ctx, session=session, role=role,
            csrf=session.csrf_token, missions=sorted(self.app.config.missions),
            sources=sorted(names.items(), key=lambda kv: kv[1].lower()), sources_map=names,
            request_cursor=bool(query(request).get("cursor")),
            states=STATES, counts=self.new_counts(), notice=self.notice(session.notice),
            here=request.path + ("?" + request.query_string if request.query_string else ""),
            first=f"{BASE}/?" + urlencode({**{k: v for k, v in f.items() if v}, "lang": lang}),
            other_lang_href=f"{BASE}/?" + urlencode(
                {**{k: v for k, v in f.items() if v}, "lang": "fr" if lang == "en" else "en"}),
            done=query(request).get("done", ""), done_n=query(request).get("n", ""),
            action_words=ACTION_WORDS[lang],
        )

    def notice(self, raw: str) -> dict[str, str] | None:
        count, _, rest = raw.partition("|")
        at, _, addr = rest.partition("|")
        return {"n": count, "at": at, "addr": addr or "?"} if count.isdigit() else None

    def rows(self, found: list[dict[str, Any]], lang: str) -> list[dict[str, Any]]:
        store = self.app.store
        ids = [str(r["id"]) for r in found]
        tags = store.tags_by_post(ids)
        details = store.moderation_details(ids)
        out = []
        for row in found:
            row = dict(row)
            for key in ("media", "links"):
                if isinstance(row.get(key), str):
                    row[key] = json.loads(row[key])
            row["tags"] = tags.get(row["id"], [])
            row.update(details.get(row["id"], {}))
            row["card"] = card(row, lang=lang)
            out.append(row)
        return out

    def act(self, request: Request) -> Response:
        session, _ = editor_session(self.app, request)
        tr = translator(self.lang(request))
        if session is None:
            return self.refused(request, tr("sign_in_first"))
        data = form(request)
        if not same(data.get("csrf", ""), session.csrf_token):
            return self.refused(request, tr("bad_token"))
        ids = list(dict.fromkeys(form_lists(request).get("post_id", [])))[:PAGE_SIZE]
        action = data.get("action", "")
        back = safe_back(data.get("back", f"{BASE}/"))
        if not ids:
            return self.page(request, "moderation/message.html", "400 Bad Request",
                             title=tr("not_done"), message=tr("bulk_help"), back=back)
        done, refused, changed = 0, [], set()
        try:
            for post_id in ids:
                try:
                    changed |= moderation.apply(
                        self.app, post_id, action, editor=session.editor,
                        note=data.get("note", ""), mission=data.get("mission") or None,
                        rerender=False,
                    )
                    done += 1
                except Refused as exc:
                    refused.append(f"{post_id}: {exc.message}")
        except UsageError as exc:
            if done:
                moderation.rerender_missions(self.app, changed)
            return self.page(request, "moderation/message.html", "400 Bad Request",
                             title=tr("not_done"), message=str(exc), back=back)
        if done:
            moderation.rerender_missions(self.app, changed)
        if refused:
            message = tr("refused_some", n=len(refused), why="; ".join(refused))
            if done:
                message = tr("done", n=done, what=ACTION_WORDS[self.lang(request)].get(action, action)) + " " + message
            return self.page(request, "moderation/message.html", "403 Forbidden",
                             title=tr("refused"), message=message, back=back)
        sep = "&" if "?" in back else "?"
        return self.redirect(f"{back}{sep}{urlencode({'done': action, 'n': done})}")
