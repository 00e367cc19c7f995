"""``aggregator sources probe``, ``coverage``, ``list`` and ``check``'s source warnings."""

from __future__ import annotations

import json
import time
from pathlib import Path

import yaml

from aggregator.config import load_config
from tests.feeds_server import serving
from tests.projects import feed, write_mission
from tests.sources_support import HTML, UN_NEWS_EUROPE, page, project, run

ACTIVE = {"MINURSO", "MINUSCA", "MONUSCO", "UNDOF", "UNFICYP", "UNIFIL", "UNISFA", "UNMIK",
          "UNMISS", "UNMOGIP", "UNTSO"}
EUROPE = "https://news.un.org/feed/subscribe/en/news/region/europe/feed/rss.xml"


def test_coverage_of_the_shipped_files_reaches_all_eighteen_missions(tmp_path: Path) -> None:
    result = run(project(tmp_path), "sources", "coverage", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    rows = {r["mission"]: r for r in data["missions"]}
    assert len(rows) == 18 and data["uncovered"] == []
    assert all(r["covered"] for r in rows.values())
    assert EUROPE in rows["UNMIK"]["covered_by"]
    for acronym, r in rows.items():
        if r["status"] == "closed":  # a frozen site of its own, or a stated reason
            assert r["reason"], acronym
        else:
            assert acronym in ACTIVE
    assert "@UNIFIL_" in rows["UNIFIL"]["own"]["page_seen"]
    # A disabled source covers nothing: UN Peacekeeping's feed waits for a successful probe.
    assert "https://peacekeeping.un.org/en/rss.xml" not in rows["UNIFIL"]["covered_by"]


def test_coverage_and_check_name_a_mission_nothing_covers(tmp_path: Path) -> None:
    feeds = tmp_path / "feeds"
    write_mission(feeds, "AAA")
    write_mission(feeds, "BBB", sources=[feed("http://127.0.0.1:9/b.xml", "B")])
    config = project(tmp_path, feeds=False)
    rows = json.loads(run(config, "sources", "coverage", "--json").output)
    assert rows["uncovered"] == ["AAA"]
    result = run(config, "check")
    assert result.exit_code == 0, result.output
    assert "warning: AAA: no source of its own and no general source covers it" in result.output
    assert "1 of 1 sources were never probed" in result.output


def test_check_fails_for_a_bridge_source_without_a_bridge(tmp_path: Path) -> None:
    feeds = tmp_path / "feeds"
    write_mission(feeds, "AAA", sources=[{"kind": "x", "handle": "aaa_news", "via": "bridge"}])
    config = project(tmp_path, feeds=False)
    result = run(config, "check")
    assert result.exit_code != 0
    assert "x:aaa_news (AAA): via: bridge but x.bridge_template is not set" in result.output
    (tmp_path / "config.yaml").write_text(yaml.safe_dump({
        **yaml.safe_load((tmp_path / "config.yaml").read_text()),
        "x": {"bridge_template": "http://127.0.0.1:9/{handle}"}}))
    assert run(config, "check").exit_code == 0


def test_probe_reports_redirects_errors_and_html_and_write_records_them(tmp_path: Path, shared: Path) -> None:
    body = (shared / UN_NEWS_EUROPE).read_bytes()
    feeds = tmp_path / "feeds"
    with serving() as server:
        server.add("/new.xml", body=body)
        server.add("/old.xml", status=301, location="/older.xml")
        server.add("/older.xml", status=308, location="/new.xml")
        server.add("/moving.xml", status=302, location="/new.xml")
        server.add("/missing.xml", status=404, body=b"no", headers={"Content-Type": "text/plain"})
        server.add("/page.xml", body=page("application/atom+xml /new.xml"), headers=HTML)
        names = ["old", "moving", "missing", "page"]
        write_mission(feeds, "AAA", sources=[feed(server.url(f"/{n}.xml"), n) for n in names])
        config = project(tmp_path, feeds=False)
        original = (feeds / "aaa.yaml").read_text(encoding="utf-8")
        result = run(config, "sources", "probe", "--json", "--write")
    assert result.exit_code == 0, result.output
    reports = {r["address"].rsplit("/", 1)[1]: r for r in json.loads(result.stdout)}
    old, moving = reports["old.xml"], reports["moving.xml"]
    assert old["ok"] and old["redirect"] == "permanent" and old["suggested_url"] == server.url("/new.xml")
    assert old["entries"] == 30 and old["http_status"] == 200
    assert moving["ok"] and moving["redirect"] == "temporary" and moving["suggested_url"] is None
    missing = reports["missing.xml"]
    assert not missing["ok"] and missing["http_status"] == 404 and "HTTP 404" in missing["error"]
    assert missing["hint"]
    html = reports["page.xml"]
    assert not html["ok"] and html["html_page"] and html["feeds_found"] == [server.url("/new.xml")]
    # --write: the permanent redirect's new address and the date of each success.
    specs = {s.name: s for s in load_config(config).mission("AAA").sources}
    assert specs["old"].url == server.url("/new.xml") and specs["old"].last_probed
    assert specs["moving"].url == server.url("/moving.xml") and specs["moving"].last_probed
    assert specs["missing"].last_probed is None and specs["page"].last_probed is None
    # Nothing but those entries' lines changed.
    assert (feeds / "aaa.yaml").read_text(encoding="utf-8").split("sources:")[0] == original.split("sources:")[0]


SMALL = (b"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title><link>http://a/</link>"
         b"<item><title>one</title><link>http://a/1</link><pubDate>Fri, 01 Apr 2022 10:00:00 GMT</pubDate>"
         b"</item></channel></rss>")


def test_probing_many_slow_sources_takes_about_the_slowest(tmp_path: Path) -> None:
    feeds = tmp_path / "feeds"
    with serving() as server:
        # One loopback server stands for many hosts (the per-host limit is raised to match):
        # one at a time this takes 120 s, at the collector's usual 16 at once 9 s.
        urls = []
        for i in range(40):
            server.add(f"/slow{i}.xml", body=SMALL, delay=3.0)
            urls.append(server.url(f"/slow{i}.xml"))
        write_mission(feeds, "AAA", sources=[feed(u, f"s{i}") for i, u in enumerate(urls)])
        config = project(tmp_path, feeds=False, http={"per_host_limit": 40, "deadline": 6})
        started = time.monotonic()
        result = run(config, "sources", "probe", "--json")
        took = time.monotonic() - started
    assert result.exit_code == 0, result.output
    assert all(r["ok"] for r in json.loads(result.stdout))
    assert took < 6.0 + 2.0, f"40 sources of 3 s each took {took:.1f} s (deadline 6 s)"


def test_list_shows_every_source_with_its_evidence(tmp_path: Path) -> None:
    config = project(tmp_path)
    rows = json.loads(run(config, "sources", "list", "--json").output)
    by = {r["address"]: r for r in rows}
    assert len(rows) == len(load_config(config).all_sources())
    assert by["@UNIFIL_"]["mission"] == "UNIFIL" and by["@UNIFIL_"]["evidence"] == "page_seen"
    assert by[EUROPE]["mission"] is None and "UNMIK" in by[EUROPE]["covers"]
    assert by[EUROPE]["state"] == "new" and by[EUROPE]["last_probed"] is None
    text = run(config, "sources", "list", "--mission", "UNMIK").output
    assert "@UNMIKOnline" in text and "unverified" in text and "UNIFIL" not in text
    bad = run(config, "sources", "list", "--mission", "NOPE")
    assert bad.exit_code != 0 and "unknown mission" in bad.output


def test_check_json_carries_the_source_warnings(tmp_path: Path) -> None:
    feeds = tmp_path / "feeds"
    write_mission(feeds, "AAA")
    config = project(tmp_path, feeds=False)
    result = run(config, "check", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["ok"] and any(w.startswith("AAA: no source") for w in data["warnings"])
