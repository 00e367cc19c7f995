"""Saved searches that watch (#18 item 2): alerts by email through the digest's ledger."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit
from wsgiref.util import setup_testing_defaults

from click.testing import CliRunner

from aggregator.alerts import add_alert, due_alerts
from aggregator.cli import cli
from aggregator.service.scheduler import default_digests
from aggregator.web import make_wsgi
from tests.digest_support import (
    NOW,
    SECRET,
    Inbox,
    add_posts,
    open_app,
    parts,
    post,
    smtp_server,
    write_config,
)


def _kosovo(n: int, when, *, text: str = "") -> tuple:
    return post(n, "UNMIK", when, text=text or f"Kosovo: UNMIK patrol number {n} met community leaders.")


def _old(n: int, collected: datetime) -> tuple:
    p, tags = _kosovo(n, collected)
    return dataclasses.replace(p, published_at=collected - timedelta(days=2000)), tags


def _cli(cfg: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--config", str(cfg), *args], env={"AGGREGATOR_SECRET": SECRET})
    return result.exit_code, result.output


def test_alerts_add_list_remove_from_the_command_line(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    code, out = _cli(cfg, "alerts", "add", "kosovo", "--query", "Kosovo mission:UNMIK",
                     "--to", "Ana@Example.org", "--every", "hourly")
    assert code == 0, out
    code, out = _cli(cfg, "alerts", "list")
    assert "kosovo: 'Kosovo mission:UNMIK' -> ana@example.org, hourly" in out
    code, out = _cli(cfg, "alerts", "add", "Bad Name", "--query", "x", "--to", "a@example.org")
    assert code == 2 and "not a valid alert name" in out
    code, out = _cli(cfg, "alerts", "add", "broken", "--query", '"unclosed', "--to", "a@example.org")
    assert code == 2 and "unclosed quote" in out
    code, out = _cli(cfg, "alerts", "add", "nomail", "--query", "x", "--to", "not-an-address")
    assert code == 2 and "not an email address" in out
    code, out = _cli(cfg, "alerts", "add", "mars", "--query", "mission:MARS", "--to", "a@example.org")
    assert code == 2 and "MARS" in out
    code, out = _cli(cfg, "alerts", "remove", "kosovo")
    assert code == 0, out
    code, out = _cli(cfg, "alerts", "list")
    assert "kosovo" not in out
    code, out = _cli(cfg, "alerts", "remove", "kosovo")
    assert code == 2 and "no alert named" in out


def test_an_alert_sends_each_new_matching_post_once_even_across_restarts(tmp_path: Path) -> None:
    inbox = Inbox()
    with smtp_server(inbox) as port:
        cfg = write_config(tmp_path, port=port)
        start = NOW - timedelta(hours=3)
        with open_app(cfg, start) as app:
            # archive posts matching the query, collected before the alert: never sent
            add_posts(app, [_kosovo(1, start - timedelta(days=2))])
            add_alert(app, "kosovo", "Kosovo", "ana@example.org", "hourly")
        with open_app(cfg, NOW) as app:  # a first process
            add_posts(app, [
                _kosovo(2, NOW - timedelta(hours=2)),
                _kosovo(3, NOW - timedelta(hours=1)),
                post(4, "UNMIK", NOW - timedelta(hours=1), text="A patrol near the Ibar bridge."),
                _kosovo(5, NOW - timedelta(minutes=30)),
                # a new source's old post, collected after the alert was saved: new to it
                _old(7, NOW - timedelta(hours=1)),
            ])
            app.store.db.execute("INSERT INTO moderation (post_id, hidden) VALUES ('post-UNMIK-5', 1)")
            app.store.db.conn.commit()
            first = due_alerts(app, NOW)
            assert [(r.status, r.posts, r.sent) for r in first] == [("complete", 3, 1)]
            assert due_alerts(app, NOW + timedelta(minutes=10)) == []  # not an hour yet
        with open_app(cfg, NOW + timedelta(hours=2)) as app:  # restarted: nothing is new
            again = due_alerts(app, NOW + timedelta(hours=2))
            assert [r.status for r in again] == ["empty"]
            add_posts(app, [_kosovo(6, NOW + timedelta(hours=2, minutes=30))])
        with open_app(cfg, NOW + timedelta(hours=4)) as app:  # restarted again: one new post
            third = default_digests(app, NOW + timedelta(hours=4))  # what the service calls
            assert [(r.status, r.posts) for r in third] == [("complete", 1)]
        with open_app(cfg, NOW + timedelta(hours=6)) as app:
            assert [r.status for r in due_alerts(app, NOW + timedelta(hours=6))] == ["empty"]
    assert len(inbox.messages) == 2
    text, html = parts(inbox.messages[0])
    assert "number 2" in text and "number 3" in text and "number 7" in text
    assert "number 1" not in text and "number 4" not in text and "number 5" not in text
    assert "Your saved search: Kosovo" in text and "search?q=Kosovo" in text
    assert "number 2" in html and "Kosovo" in html
    assert inbox.messages[0]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert str(inbox.messages[0]["To"]) == "ana@example.org"
    later, _ = parts(inbox.messages[1])
    assert "number 6" in later and "number 2" not in later and "number 3" not in later
    assert len(set(inbox.ids)) == 2


def test_one_click_unsubscribe_stops_an_alert(tmp_path: Path) -> None:
    inbox = Inbox()
    with smtp_server(inbox) as port:
        cfg = write_config(tmp_path, port=port)
        with open_app(cfg, NOW - timedelta(hours=5)) as app:
            add_alert(app, "kosovo", "Kosovo", "ana@example.org")
        with open_app(cfg) as app:
            add_posts(app, [_kosovo(1, NOW - timedelta(hours=1))])
            assert [r.sent for r in due_alerts(app, NOW)] == [1]
            url = inbox.messages[0]["List-Unsubscribe"].split(",")[1].strip(" <>")
            parsed = urlsplit(url)
            page: dict[str, object] = {}
            setup_testing_defaults(page)
            page.update(PATH_INFO=parsed.path, QUERY_STRING=parsed.query)
            shown = b"".join(make_wsgi(app)(page, lambda s, h: None)).decode()
            assert "Alert: kosovo" in shown and "ana@example.org" in shown
            environ: dict[str, object] = {}
            setup_testing_defaults(environ)
            body = b"List-Unsubscribe=One-Click"
            environ.update(REQUEST_METHOD="POST", PATH_INFO=parsed.path, QUERY_STRING=parsed.query,
                           CONTENT_TYPE="application/x-www-form-urlencoded",
                           CONTENT_LENGTH=str(len(body)))
            import io

            environ["wsgi.input"] = io.BytesIO(body)
            seen: dict[str, str] = {}
            b"".join(make_wsgi(app)(environ, lambda s, h: seen.update(status=s)))
            assert seen["status"].startswith("200")
            add_posts(app, [_kosovo(2, NOW + timedelta(hours=2))])
            assert due_alerts(app, NOW + timedelta(days=2)) == []
        _, out = _cli(cfg, "alerts", "list")
        assert "[unsubscribed]" in out
    assert len(inbox.messages) == 1


def _post_form(app, path: str, form: dict[str, str], cookie: str) -> tuple[str, dict[str, str]]:
    import io

    environ: dict[str, object] = {}
    setup_testing_defaults(environ)
    body = urlencode(form).encode()
    environ.update(REQUEST_METHOD="POST", PATH_INFO=path, HTTP_COOKIE=cookie,
                   CONTENT_TYPE="application/x-www-form-urlencoded", CONTENT_LENGTH=str(len(body)))
    environ["wsgi.input"] = io.BytesIO(body)
    seen: dict[str, object] = {}
    b"".join(make_wsgi(app)(environ, lambda s, h: seen.update(status=s, headers=dict(h))))
    return str(seen["status"]), seen["headers"]  # type: ignore[return-value]


def test_a_signed_in_editor_saves_and_removes_alerts_from_the_search_page(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    with open_app(cfg) as app:
        app.store.add_editor("ana", "a long enough password")
        session = app.store.create_session("ana", hours=1)
        cookie = f"__Host-agg_editor={session.token}"  # base_url is https: the __Host- cookie
        form = {"q": "Kosovo mission:UNMIK", "name": "kosovo", "email": "ana@example.org",
                "every": "daily", "csrf": session.csrf_token}
        status, _ = _post_form(app, "/search/alerts", form, "")
        assert status.startswith("403")  # anonymous
        status, _ = _post_form(app, "/search/alerts", dict(form, csrf="forged"), cookie)
        assert status.startswith("403")
        assert app.store.alerts() == []
        status, headers = _post_form(app, "/search/alerts", form, cookie)
        assert status.startswith("303")
        message = parse_qs(urlsplit(headers["Location"]).query)["alert"][0]
        assert "saved" in message
        (row,) = app.store.alerts()
        assert (row["query"], row["email"], row["created_by"]) == ("Kosovo mission:UNMIK", "ana@example.org", "ana")
        status, headers = _post_form(app, "/search/alerts", dict(form, name="bad", q='"open'), cookie)
        assert "Not saved" in parse_qs(urlsplit(headers["Location"]).query)["alert"][0]
        status, _ = _post_form(app, "/search/alerts/remove", {"name": "kosovo", "csrf": session.csrf_token}, cookie)
        assert status.startswith("303") and app.store.alerts() == []
