"""Which posts a digest carries: published in its window, not merely collected in it (#18 item 3),
active missions before closed ones, and the time zone its times are in."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from pathlib import Path

import yaml

from aggregator.digest import send_digest
from aggregator.digest.lists import get_list
from tests.digest_support import (
    NOW,
    ROOT,
    Inbox,
    add_posts,
    open_app,
    parts,
    post,
    smtp_server,
    write_config,
)


def _dated(n: int, mission: str, published: datetime | None, collected: datetime) -> tuple:
    p, tags = post(n, mission, collected)
    return dataclasses.replace(p, published_at=published), tags


def test_old_archive_posts_collected_today_are_not_news(tmp_path: Path) -> None:
    inbox = Inbox()
    with smtp_server(inbox) as port:
        cfg = write_config(tmp_path, port=port)
        with open_app(cfg) as app:
            app.store.add_subscribers("kosovo", ["ana@example.org"], NOW)
            collected = NOW - timedelta(hours=2)  # a new source's whole archive, read today
            add_posts(app, [
                _dated(1, "UNMIK", datetime(2018, 3, 1, 9, 0, tzinfo=NOW.tzinfo), collected),
                _dated(2, "UNMIK", NOW - timedelta(days=9), collected),
                _dated(3, "UNMIK", NOW - timedelta(hours=3), collected),  # published today
                _dated(4, "UNMIK", None, collected),  # undated: its collection time counts
                # published the day before the window opened, but only seen now: still new
                _dated(5, "UNMIK", NOW - timedelta(hours=30), collected),
            ])
            result = send_digest(app, get_list(app.config, "kosovo"), NOW)
    assert result.posts == 3
    text, _ = parts(inbox.messages[0])
    assert "number 3" in text and "number 4" in text and "number 5" in text
    assert "number 1" not in text and "number 2" not in text


def test_a_post_published_in_one_window_and_collected_in_the_next_is_sent_once(
    tmp_path: Path,
) -> None:
    inbox = Inbox()
    with smtp_server(inbox) as port:
        cfg = write_config(tmp_path, port=port)
        with open_app(cfg) as app:
            dl = get_list(app.config, "kosovo")
            app.store.add_subscribers("kosovo", ["ana@example.org"], NOW)
            add_posts(app, [_dated(1, "UNMIK", NOW - timedelta(hours=1), NOW - timedelta(minutes=50))])
            first = send_digest(app, dl, NOW)
            # published a minute before the first digest, collected after it
            add_posts(app, [_dated(2, "UNMIK", NOW - timedelta(minutes=1), NOW + timedelta(minutes=5))])
            second = send_digest(app, dl, NOW + timedelta(days=1))
            third = send_digest(app, dl, NOW + timedelta(days=2))
    assert (first.posts, second.posts, third.status) == (1, 1, "empty")
    assert "number 2" in parts(inbox.messages[1])[0]


def _with_closed_mission(root: Path, port: int) -> Path:
    cfg = write_config(root, port=port)
    minusma = yaml.safe_load((ROOT / "feeds" / "minusma.yaml").read_text(encoding="utf-8"))
    minusma.pop("sources", None)
    assert minusma["status"] == "closed"
    (root / "feeds" / "minusma.yaml").write_text(
        yaml.safe_dump(minusma, allow_unicode=True), encoding="utf-8"
    )
    return cfg


def test_active_missions_come_before_closed_ones_and_the_time_zone_is_said(
    tmp_path: Path,
) -> None:
    inbox = Inbox()
    with smtp_server(inbox) as port:
        cfg = _with_closed_mission(tmp_path, port)
        with open_app(cfg) as app:
            app.store.add_subscribers("everything", ["ana@example.org"], NOW)
            add_posts(app, [post(1, "MINUSMA", NOW - timedelta(hours=1)),
                            post(2, "UNMIK", NOW - timedelta(hours=2)),
                            post(3, "UNIFIL", NOW - timedelta(hours=3))])
            send_digest(app, get_list(app.config, "everything"), NOW)
            kosovo = dataclasses.replace(get_list(app.config, "kosovo"), name="kosovo-2")
            app.store.add_subscribers("kosovo-2", ["bo@example.org"], NOW)
            send_digest(app, kosovo, NOW)
    text, html = parts(inbox.messages[0])
    assert text.index("== UNIFIL") < text.index("== UNMIK") < text.index("== MINUSMA")
    assert html.index(">UNIFIL ") < html.index(">MINUSMA ")
    assert "Times are in UTC." in text and "Times are in UTC." in html
    # Belgrade in November is UTC+1; its digest's times are local and say so
    text, html = parts(inbox.messages[1])
    assert "Times are in Europe/Belgrade (UTC+1)." in text
    assert "Europe/Belgrade (UTC+1)" in html
    assert "06:55" in text  # post 2 was published at 05:55 UTC
