"""The daily digest over a real SMTP server on loopback: content, headers, lists, timing."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aggregator.config import Config, load_config
from aggregator.digest import due_digests, is_due, latest_occurrence, send_digest
from aggregator.digest.lists import get_list, load_digest_lists
from aggregator.errors import ConfigError
from aggregator.mailer import verify_token
from tests.digest_support import (
    NOW,
    SECRET,
    Inbox,
    add_posts,
    make_project,
    open_app,
    parts,
    post,
    smtp_server,
    write_config,
)


def _subscribe(cfg: Path, list_name: str, emails: list[str]) -> None:
    with open_app(cfg) as app:
        app.store.add_subscribers(list_name, emails, NOW)


def test_each_list_gets_its_own_missions_grouped_newest_first(tmp_path: Path) -> None:
    inbox = Inbox()
    with smtp_server(inbox) as port:
        cfg = make_project(tmp_path, port=port)
        _subscribe(cfg, "kosovo", ["ana@example.org", "bo@example.org"])
        _subscribe(cfg, "liban-fr", ["chloe@example.org"])
        with open_app(cfg) as app:
            kosovo = send_digest(app, get_list(app.config, "kosovo"), NOW)
            liban = send_digest(app, get_list(app.config, "liban-fr"), NOW)
    assert (kosovo.status, kosovo.sent, kosovo.posts) == ("complete", 2, 6)
    assert (liban.status, liban.sent, liban.posts) == ("complete", 1, 4)
    by_to = {str(m["To"]): m for m in inbox.messages}
    text, html = parts(by_to["ana@example.org"])
    assert "6 new posts" in str(by_to["ana@example.org"]["Subject"])
    assert "UNMIK post number 0" in text and "FINUL" not in text
    # newest first: post 0 was collected last
    assert text.index("number 0") < text.index("number 1") < text.index("number 5")
    assert 'alt="Photo 0"' in html and "https://feeds.example.org/media/0.jpg" in html
    assert "https://feeds.example.org/missions/unmik/" in html
    assert "https://feeds.example.org/widget/unmik.html" in html
    assert "ana@example.org is subscribed" in text
    fr_text, fr_html = parts(by_to["chloe@example.org"])
    assert "Ligne bleue" in fr_text and "مرحبا" in fr_text and "مرحبا" in fr_html
    assert "nouvelles publications" in str(by_to["chloe@example.org"]["Subject"])
    assert "Se désabonner" in fr_html and 'lang="fr"' in fr_html
    # Issue 18: the French digest links to the French pages, under the French title...
    assert "https://feeds.example.org/fr/missions/unifil/" in fr_html
    assert "https://feeds.example.org/missions/unifil/" not in fr_html
    assert "Flux des missions de maintien de la paix" in fr_text
    # ...and its times read as everywhere else, in the list's own time zone, named.
    assert re.search(r"\d{1,2} \S+ 20\d\d, \d\d:\d\d UTC\+[23]", fr_text)


def test_headers_unsubscribe_and_encoding(tmp_path: Path) -> None:
    inbox = Inbox()
    with smtp_server(inbox) as port:
        cfg = make_project(tmp_path, port=port)
        _subscribe(cfg, "liban-fr", ["reader@example.org"])
        with open_app(cfg) as app:
            send_digest(app, get_list(app.config, "liban-fr"), NOW)
    (msg,) = inbox.messages
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in msg.iter_parts())
    assert str(msg["Subject"]).startswith("FINUL – résumé")  # RFC 2047 decoded back
    assert parsedate_to_datetime(str(msg["Date"])) == NOW
    mid = str(msg["Message-ID"]).strip()
    assert mid.startswith("<digest.liban-fr.") and mid.endswith("@feeds.example.org>")
    assert msg["List-Id"] == "FINUL – résumé <liban-fr.feeds.example.org>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    mailto, https = [u.strip(" <>") for u in str(msg["List-Unsubscribe"]).split(",")]
    assert mailto.startswith("mailto:resume@feeds.example.org?subject=unsubscribe")
    assert https.startswith("https://feeds.example.org/unsubscribe?token=")
    token = https.split("token=", 1)[1]
    assert verify_token(SECRET.encode(), token, now=NOW, max_age_days=30) == ("liban-fr", "reader@example.org")
    _, html = parts(msg)
    assert https in html.replace("&amp;", "&")


def test_nothing_goes_out_for_a_list_without_news(tmp_path: Path) -> None:
    inbox = Inbox()
    with smtp_server(inbox) as port:
        cfg = write_config(tmp_path, port=port)
        _subscribe(cfg, "kosovo", ["ana@example.org"])
        with open_app(cfg) as app:
            add_posts(app, [post(1, "UNIFIL", NOW - timedelta(hours=1))])  # not Kosovo's
            result = send_digest(app, get_list(app.config, "kosovo"), NOW)
            assert result.status == "empty"
            assert not is_due(app, get_list(app.config, "kosovo"), NOW + timedelta(hours=1))
    assert inbox.messages == []


def test_hidden_and_removed_posts_never_appear(tmp_path: Path) -> None:
    inbox = Inbox()
    with smtp_server(inbox) as port:
        cfg = make_project(tmp_path, port=port)
        _subscribe(cfg, "kosovo", ["ana@example.org"])
        with open_app(cfg) as app:
            app.store.db.execute("INSERT INTO moderation (post_id, hidden) VALUES ('post-UNMIK-1', 1)")
            app.store.db.execute("UPDATE posts SET availability = 'withheld' WHERE id = 'post-UNMIK-2'")
            app.store.db.conn.commit()
            send_digest(app, get_list(app.config, "kosovo"), NOW)
    text, html = parts(inbox.messages[0])
    assert "number 0" in text and "number 3" in text
    assert "number 1" not in text + html and "number 2" not in text + html
    assert "4 new posts" in str(inbox.messages[0]["Subject"])


def test_window_is_since_the_last_digest_so_nothing_repeats_or_is_lost(tmp_path: Path) -> None:
    inbox = Inbox()
    with smtp_server(inbox) as port:
        cfg = make_project(tmp_path, port=port)
        _subscribe(cfg, "kosovo", ["ana@example.org"])
        with open_app(cfg) as app:
            dl = get_list(app.config, "kosovo")
            send_digest(app, dl, NOW)
            # three days of downtime: posts collected meanwhile all go into the next digest
            later = NOW + timedelta(days=3)
            add_posts(app, [post(100 + i, "UNMIK", NOW + timedelta(days=i, hours=1)) for i in range(3)])
            second = send_digest(app, dl, later)
    assert second.posts == 3 and second.window_start == NOW
    text, _ = parts(inbox.messages[1])
    assert all(f"number {100 + i}" in text for i in range(3))
    assert "number 0 " not in text


def test_due_digests_fires_once_per_day_in_the_lists_time_zone(tmp_path: Path) -> None:
    inbox = Inbox()
    with smtp_server(inbox) as port:
        cfg = make_project(tmp_path, port=port)
        _subscribe(cfg, "kosovo", ["ana@example.org"])
        with open_app(cfg) as app:
            dl = get_list(app.config, "kosovo")
            # 07:00 in Belgrade is 06:00 UTC in November
            assert latest_occurrence(dl, NOW).hour == 6
            before = NOW.replace(hour=5, minute=59)
            assert [r.list_name for r in due_digests(app, before) if r.sent] == []
            assert inbox.messages == []
            sent = due_digests(app, NOW)  # 08:00 UTC: after the send time (a missed tick)
            assert [(r.list_name, r.sent) for r in sent if r.sent] == [("kosovo", 1)]
            again = due_digests(app, NOW + timedelta(hours=3))
            assert [r for r in again if r.list_name == "kosovo"] == []
    assert len(inbox.messages) == 1


def test_digest_lists_file_reports_every_problem(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    (tmp_path / "lists.yaml").write_text(
        "lists:\n  - name: Bad Name\n    missions: [NOPE]\n    send_at: '25:00'\n"
        "    timezone: Mars/Olympus\n    sender: nobody\n    language: de\n    colour: red\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as err, open_app(cfg) as app:
        load_digest_lists(app.config)
    keys = {p.key for p in err.value.problems}
    assert {"lists[0].name", "lists[0].missions", "lists[0].send_at", "lists[0].timezone",
            "lists[0].sender", "lists[0].language", "lists[0].colour"} <= keys
    assert all(p.file.endswith("lists.yaml") for p in err.value.problems)


def test_send_time_follows_the_lists_clock_across_daylight_saving(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    with open_app(cfg) as app:
        dl = get_list(app.config, "kosovo")  # 07:00 Europe/Belgrade
    summer = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    assert latest_occurrence(dl, summer) == datetime(2026, 7, 1, 5, 0, tzinfo=UTC)
    winter = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert latest_occurrence(dl, winter) == datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
    # the night clocks go back (25 Oct 2026): 07:00 local is 06:00 UTC that morning
    assert latest_occurrence(dl, datetime(2026, 10, 25, 6, 30, tzinfo=UTC)).day == 25
    assert latest_occurrence(dl, datetime(2026, 10, 25, 5, 30, tzinfo=UTC)).day == 24


def test_a_missing_signing_key_is_reported_by_the_tick_and_records_nothing(tmp_path: Path) -> None:
    cfg = make_project(tmp_path, port=25)
    with open_app(cfg, env={}) as app:
        app.store.add_subscribers("kosovo", ["ana@example.org"], NOW)
        app.store.start_digest_run("kosovo", NOW - timedelta(days=2), NOW - timedelta(days=2), [],
                                   NOW - timedelta(days=2), empty=True)
        results = [r for r in due_digests(app, NOW) if r.list_name == "kosovo"]
        assert results and results[0].error and "AGGREGATOR_SECRET" in results[0].error
        assert app.store.open_digest_run("kosovo") is None


_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-2000, 2000), st.text(max_size=30),
    st.lists(st.text(max_size=12), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    st.sampled_from(["all", "UNMIK", ["UNMIK", "UNIFIL"], "07:00", "UTC", "Europe/Paris",
                     "a@example.org", "en", "fr", "x-y"]),
)
_CONFIGS: dict[Path, Config] = {}
_KEYS = st.sampled_from(["name", "title", "missions", "send_at", "timezone", "sender", "language",
                         "send_when_empty", "unsubscribe_mailto", "seed_subscribers", "other"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(items=st.lists(st.dictionaries(_KEYS, _VALUES, max_size=10), max_size=3))
def test_any_lists_file_loads_or_reports_problems_never_crashes(
    tmp_path: Path, items: list[dict[str, object]]
) -> None:
    if tmp_path not in _CONFIGS:  # one config per test run; only the lists file changes
        _CONFIGS[tmp_path] = load_config(write_config(tmp_path))
    config = _CONFIGS[tmp_path]
    (tmp_path / "lists.yaml").write_text(yaml.safe_dump({"lists": items}), encoding="utf-8")
    try:
        lists = load_digest_lists(config)
    except ConfigError as exc:
        assert exc.problems and all(p.key.startswith("lists[") for p in exc.problems)
        return
    for dl in lists.values():
        assert dl.language in ("en", "fr") and dl.sender and dl.timezone
