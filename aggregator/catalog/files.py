"""Where each source is written: the mission files of ``missions_dir`` and ``_general.yaml``.

Finds an entry by source id, address or ``@handle`` (in any case, after normalisation),
refuses duplicates, and applies several edits to one file before it is written once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aggregator.catalog.discover import is_handle, normal_handle, normal_url
from aggregator.catalog.edit import Entry, SourcesFile
from aggregator.config import Config
from aggregator.errors import UsageError
from aggregator.missions import YAMLError, read_yaml

GENERAL_FILE = "_general.yaml"


@dataclass(frozen=True)
class Located:
    path: Path
    index: int
    entry: Entry


def key_of(entry: Mapping[str, Any]) -> str:
    """What makes two entries the same source: the normal address or the folded handle."""
    if entry.get("kind") == "x":
        return "x:" + normal_handle(str(entry.get("handle") or ""))
    return "feed:" + normal_url(str(entry.get("url") or ""))


def key_of_target(target: str) -> str:
    text = target.strip()
    if text.startswith("x:"):
        return "x:" + normal_handle(text[2:])
    if text.startswith("feed:"):
        return "feed:" + normal_url(text[5:])
    if is_handle(text):
        return "x:" + normal_handle(text)
    return "feed:" + normal_url(text)


class Catalog:
    """The files behind ``config.missions`` and ``config.general_sources``."""

    def __init__(self, config: Config) -> None:
        if config.settings.sources_file:
            raise UsageError(
                f"this configuration reads its sources from {config.settings.sources_file}",
                hint="the sources commands edit the mission files; use a config without sources_file",
            )
        self.config = config
        self.folder = config.missions_path
        self._index: dict[str, Located] | None = None

    def path_for(self, mission: str | None) -> Path:
        if mission is None or mission.casefold() in ("general", "_general"):
            return self.folder / GENERAL_FILE
        m = self.config.mission(mission)
        if m is None:
            raise UsageError(f"unknown mission {mission!r}",
                             hint=f"one of {', '.join(sorted(self.config.missions))}, or general")
        return self.folder / f"{m.slug}.yaml"

    def paths(self) -> list[Path]:
        out = [self.folder / f"{m.slug}.yaml" for m in self.config.missions.values()]
        general = self.folder / GENERAL_FILE
        return sorted(p for p in [*out, general] if p.exists())

    def index(self) -> dict[str, Located]:
        """Every entry of every file by its key (each file parsed once per command)."""
        if self._index is None:
            self._index = {}
            for path in self.paths():
                for i, entry in enumerate(_entries(path)):
                    self._index.setdefault(key_of(entry), Located(path, i, entry))
        return self._index

    def find(self, target: str) -> Located | None:
        return self.index().get(key_of_target(target))

    def locate(self, target: str) -> Located:
        found = self.find(target)
        if found is None:
            raise UsageError(f"no source {target!r} in {self.folder}",
                             hint="`aggregator sources list` shows every source's id and address")
        return found

    def refuse_duplicate(self, entry: Mapping[str, Any]) -> None:
        shown = f"@{entry.get('handle')}" if entry.get("kind") == "x" else str(entry.get("url"))
        found = self.index().get(key_of(entry))
        if found is not None:
            other = found.entry
            was = f"@{other.get('handle')}" if other.get("kind") == "x" else other.get("url")
            raise UsageError(
                f"{shown} is already a source in {found.path.name} (as {was}); nothing written",
                hint="a source is listed once; `aggregator sources remove` it first to move it",
            )


def _entries(path: Path) -> list[Entry]:
    """A file's source entries, read fast (libyaml); the round-trip parse is for edits only."""
    try:
        data = read_yaml(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, YAMLError) as exc:
        raise UsageError(f"{path}: cannot read: {exc}", hint="`aggregator check` names the problem") from exc
    items = data.get("sources") if isinstance(data, dict) else None
    return [dict(e) for e in items if isinstance(e, dict)] if isinstance(items, list) else []


def apply(path: Path, edits: Iterable[tuple[str, Any]]) -> str:
    """The text of ``path`` after the edits: ``("add", entry)``s (all appended at once),
    ``("update", (index, changes))``s (all in one pass) or one ``("remove", index)``; each
    result is parsed back and checked; nothing is written here."""
    ops = list(edits)
    doc = SourcesFile(path)
    adds = [arg for op, arg in ops if op == "add"]
    updates = {arg[0]: arg[1] for op, arg in ops if op == "update"}
    removes = [arg for op, arg in ops if op == "remove"]
    text = doc.text
    if updates:
        text = doc.update(updates)
        doc = SourcesFile.from_text(path, text)
    if adds:
        text = doc.add(*adds)
        doc = SourcesFile.from_text(path, text)
    for index in sorted(removes, reverse=True):
        text = doc.remove(index)
        doc = SourcesFile.from_text(path, text)
    return text
