"""Configuration files that cannot be trusted are errors, never tracebacks (issue 15 item 8):
non-UTF-8 text, duplicate YAML keys (the second one silently won), a broken digest lists file;
and the small things a newcomer met in the config reference and `editors add`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from aggregator.cli import cli
from aggregator.missions import YAMLError, read_yaml
from aggregator.settings import reference_markdown
from tests.conftest import ROOT
from tests.projects import write_mission


def _project(tmp_path: Path, config: str = "") -> Path:
    write_mission(tmp_path / "feeds", "UNMIK")
    cfg = tmp_path / "config.yaml"
    cfg.write_text("database: data/a.db\nmissions_dir: feeds\n" + config, encoding="utf-8")
    return cfg


def _check(cfg: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--config", str(cfg), *(args or ("check",))])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stderr + result.stdout


def test_a_duplicate_key_in_config_yaml_is_an_error_naming_both_lines(tmp_path: Path) -> None:
    cfg = _project(tmp_path, "offline: true\nallowed_hosts: [example.org]\noffline: false\n")
    code, out = _check(cfg)
    assert code == 3
    assert str(cfg) in out and "duplicate key 'offline' on line 5 (first on line 3)" in out


def test_a_duplicate_key_in_a_mission_file_and_in_a_nested_mapping(tmp_path: Path) -> None:
    cfg = _project(tmp_path, "http:\n  connect_timeout: 5\n  connect_timeout: 50\n")
    mission = tmp_path / "feeds" / "unmik.yaml"
    mission.write_text(mission.read_text(encoding="utf-8") + "country: Serbia\n", encoding="utf-8")
    code, out = _check(cfg)
    assert code == 3
    assert "duplicate key 'connect_timeout' on line 5 (first on line 4)" in out
    assert str(mission) in out and "duplicate key 'country'" in out


def test_merge_keys_are_not_duplicates() -> None:
    text = "base: &b {a: 1, b: 2}\nuse:\n  <<: *b\n  b: 3\n"
    assert read_yaml(text) == {"base": {"a": 1, "b": 2}, "use": {"a": 1, "b": 3}}


@given(st.dictionaries(st.text(min_size=1, max_size=8), st.integers(), max_size=6))
def test_documents_without_duplicates_read_as_safe_load_reads_them(data: dict[str, int]) -> None:
    text = yaml.safe_dump(data, allow_unicode=True)
    assert read_yaml(text) == yaml.safe_load(text)


@given(st.text(min_size=1, max_size=8).filter(lambda k: k.strip() == k and k.isalnum()))
def test_any_repeated_key_is_refused(key: str) -> None:
    with pytest.raises(YAMLError, match="duplicate key"):
        read_yaml(f"{key}: 1\nother: 2\n{key}: 3\n")


@pytest.mark.parametrize("where", ["config", "mission", "general"])
def test_a_file_that_is_not_utf8_is_named_with_its_line_and_the_fix(tmp_path: Path, where: str) -> None:
    cfg = _project(tmp_path)
    target = {"config": cfg, "mission": tmp_path / "feeds" / "unmik.yaml",
              "general": tmp_path / "feeds" / "_general.yaml"}[where]
    if where == "general":
        target.write_text("sources: []\n", encoding="utf-8")
    target.write_bytes(target.read_bytes() + "# Mitrovicë\n".encode("latin-1"))
    line = target.read_bytes().count(b"\n")
    code, out = _check(cfg)
    assert code == 3, out
    assert str(target) in out and f"not UTF-8 text (byte 0xeb on line {line})" in out
    assert "save it as UTF-8" in out


def test_a_utf8_file_with_a_byte_order_mark_reads(tmp_path: Path) -> None:
    cfg = _project(tmp_path, "site_title: Missions\n")
    cfg.write_bytes(b"\xef\xbb\xbf" + cfg.read_bytes())
    assert _check(cfg)[0] == 0


def _lists(tmp_path: Path, body: bytes) -> Path:
    cfg = _project(tmp_path, "digest_lists: lists.yaml\n")
    (tmp_path / "lists.yaml").write_bytes(body)
    return cfg


GOOD_LIST = (b"lists:\n  - name: kosovo\n    missions: [UNMIK]\n    send_at: \"07:00\"\n"
             b"    timezone: Europe/Belgrade\n    sender: \"Feeds <d@example.org>\"\n")


@pytest.mark.parametrize(("body", "words"), [
    (GOOD_LIST.replace(b"Feeds", "Flux é".encode("latin-1")), "not UTF-8 text"),
    (GOOD_LIST + b"    send_at: \"08:00\"\n", "duplicate key 'send_at'"),
    (GOOD_LIST.replace(b"UNMIK", b"UNMIX"), "unknown mission 'UNMIX'"),
    (b"lists: [oops\n", "not valid YAML"),
])
def test_a_broken_digest_lists_file_fails_check_and_the_service_start(
    tmp_path: Path, body: bytes, words: str
) -> None:
    cfg = _lists(tmp_path, body)
    code, out = _check(cfg)
    assert code == 3 and "lists.yaml" in out and words in out, out
    code, out = _check(cfg, "run", "--ticks", "1", "--tick-seconds", "0.05")
    assert code == 3 and words in out, out
    assert not (tmp_path / "data" / "a.db").exists()  # refused before touching anything


def test_a_good_digest_lists_file_passes_check(tmp_path: Path) -> None:
    assert _check(_lists(tmp_path, GOOD_LIST))[0] == 0


def test_a_missing_digest_lists_file_fails_check(tmp_path: Path) -> None:
    cfg = _project(tmp_path, "digest_lists: nowhere.yaml\n")
    code, out = _check(cfg)
    assert code == 3 and "nowhere.yaml" in out


# --- small things a newcomer met ------------------------------------------------------------


def test_the_config_reference_names_digest_lists_as_it_is_written() -> None:
    table = reference_markdown()
    assert "| `digest_lists` |" in table and "digest.lists" not in table
    assert "digest_lists:" in (ROOT / "feeds" / "demo" / "config.yaml").read_text(encoding="utf-8")


def test_a_misspelled_nested_key_is_shown_and_hinted_as_written(tmp_path: Path) -> None:
    cfg = _project(tmp_path, "http:\n  conect_timeout: 5\npage_post: 3\n")
    code, out = _check(cfg)
    assert code == 3
    assert "http.conect_timeout: unknown setting (hint: did you mean 'http.connect_timeout'?)" in out
    assert "page_post: unknown setting (hint: did you mean 'page_posts'?)" in out


def test_a_wrong_type_names_the_key_as_written(tmp_path: Path) -> None:
    cfg = _project(tmp_path, "page_posts: many\nsmtp:\n  port: eleven\n")
    code, out = _check(cfg)
    assert code == 3 and "page_posts: expected int" in out and "smtp.port: expected int" in out


def test_editors_add_without_a_terminal_says_to_use_password_stdin(tmp_path: Path) -> None:
    cfg = _project(tmp_path)
    done = subprocess.run(
        [str(Path(sys.executable).parent / "aggregator"), "--config", str(cfg), "editors", "add", "ana", "--admin"],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "Aborted" not in done.stderr and "--password-stdin" in done.stderr
    assert "Traceback" not in done.stderr
