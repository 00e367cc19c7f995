"""Change one source entry of a mission file and keep every other byte of it.

ruamel.yaml reads the file with the line and column of every node (a round-trip parse); the
edit is then a splice of the original text: only the lines of the entry added, removed or
changed are written, so comments, order, quoting and layout elsewhere stay byte for byte
(a re-dump, even ruamel's, reflows long lines and re-quotes strings). The new text is parsed
again and must hold exactly the intended sources, else nothing is written. Writing goes
through a temporary file and a rename: a failed command leaves the file as it was.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError as RoundTripError

from aggregator.errors import UsageError
from aggregator.missions import YAMLError, read_yaml

Entry = dict[str, Any]
_EMPTY_FLOW = re.compile(r"^(sources:)\s*\[\s*\]")
_COMMENT_OR_BLANK = re.compile(r"^\s*(#.*)?$")


class SourcesFile:
    """One mission file (or ``_general.yaml``) read for editing its ``sources:`` list."""

    def __init__(self, path: Path, text: str | None = None) -> None:
        self.path = path
        if text is None:
            try:
                text = path.read_bytes().decode("utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise UsageError(f"{path}: cannot read: {exc}", hint="check the file's name and encoding (UTF-8)") from exc
        self.text = text
        try:
            self.data = YAML(typ="rt").load(self.text)
        except RoundTripError as exc:
            raise UsageError(f"{path}: not valid YAML: {exc}", hint="fix the file by hand first; `aggregator check` names the problem") from exc
        if not isinstance(self.data, CommentedMap):
            raise UsageError(f"{path}: is not a mapping", hint="a mission file maps keys (acronym, sources, rules...) to values")
        self.lines = self.text.splitlines(keepends=True)

    @classmethod
    def from_text(cls, path: Path, text: str) -> SourcesFile:
        return cls(path, text)

    # --- reading ---------------------------------------------------------------------

    @property
    def entries(self) -> list[Entry]:
        seq = self.data.get("sources")
        return [dict(e) for e in seq] if isinstance(seq, list) else []

    def _seq(self) -> CommentedSeq | None:
        seq = self.data.get("sources")
        return seq if isinstance(seq, CommentedSeq) and len(seq) else None

    def _span(self, index: int) -> tuple[int, int]:
        """First and last line (0-based, inclusive) of entry ``index``; comment lines right
        after it belong to what follows."""
        seq = self._seq()
        assert seq is not None
        start = seq.lc.item(index)[0]
        stop = seq.lc.item(index + 1)[0] if index + 1 < len(seq) else self._after_sources()
        end = stop - 1
        while end > start and _COMMENT_OR_BLANK.match(self.lines[end]):
            end -= 1
        return start, end

    def _after_sources(self) -> int:
        keys = list(self.data)
        i = keys.index("sources")
        return self.data.lc.key(keys[i + 1])[0] if i + 1 < len(keys) else len(self.lines)

    def _flow(self) -> bool:
        seq = self._seq()
        return bool(seq) and self.lines[seq.lc.item(0)[0]].lstrip().startswith("- {")  # type: ignore[union-attr]

    def _dash_indent(self) -> int:
        seq = self._seq()
        if seq is None:
            return 2
        line = self.lines[seq.lc.item(0)[0]]
        return len(line) - len(line.lstrip(" "))

    # --- edits: each returns the new text, checked, never written --------------------

    def add(self, *entries: Entry) -> str:
        """Append ``entries`` at the end of the list, in the style of the entries there."""
        flow = self._flow()
        block = "".join(render_entry(e, self._dash_indent(), flow=flow) for e in entries)
        lines = list(self.lines)
        seq = self._seq()
        if seq is not None:
            _, end = self._span(len(seq) - 1)
            if not lines[end].endswith("\n"):  # the file's last line had no newline
                lines[end] += "\n"
            lines[end + 1:end + 1] = [block]
        elif "sources" in self.data:
            at = self.data.lc.key("sources")[0]
            head = lines[at]
            if not _EMPTY_FLOW.match(head) and self.data.get("sources") is not None:
                raise UsageError(f"{self.path}: `sources:` is not a list", hint="make it a list (one `- kind: ...` entry per source) by hand first")
            comment = head[head.index("#"):].rstrip("\n") if "#" in head else ""
            lines[at] = "sources:" + (f"  {comment}" if comment else "") + "\n"
            lines.insert(at + 1, block)
        else:
            if lines and not lines[-1].endswith("\n"):
                lines[-1] += "\n"
            lines.append("sources:\n" + block)
        return self._checked("".join(lines), [*self.entries, *entries])

    def remove(self, index: int) -> str:
        start, end = self._span(index)
        lines = list(self.lines)
        del lines[start:end + 1]
        left = [e for i, e in enumerate(self.entries) if i != index]
        if not left:  # the list would be empty: say so, as the shipped files do
            at = self.data.lc.key("sources")[0]
            lines[at] = _EMPTY_FLOW.sub(r"\1", lines[at].rstrip("\n")).replace("sources:", "sources: []", 1) + "\n"
        return self._checked("".join(lines), left)

    def update(self, changes: Mapping[int, Mapping[str, Any]]) -> str:
        """In each entry ``index -> changes``, set keys (a value) or drop them (``None``)."""
        seq = self._seq()
        assert seq is not None
        lines = list(self.lines)
        expected = self.entries
        for index in sorted(changes, reverse=True):  # bottom up: the spans above stay valid
            item = seq[index]
            new = {k: v for k, v in {**dict(item), **changes[index]}.items() if v is not None}
            expected[index] = new
            start, end = self._span(index)
            if not isinstance(item, CommentedMap) or item.fa.flow_style():
                tail = _flow_tail(lines[end])
                lines[start:end + 1] = [render_entry(new, self._dash_indent(), flow=True).rstrip("\n") + tail]
            else:
                lines[start:end + 1] = _block_update(item, lines[start:end + 1], start, changes[index])
        return self._checked("".join(lines), expected)

    def _checked(self, text: str, expected: list[Entry]) -> str:
        if self.text.count("\r\n") == self.text.count("\n") > 0:  # a Windows file stays one
            text = text.replace("\r\n", "\n").replace("\n", "\r\n")
        try:
            got = read_yaml(text) or {}
        except YAMLError as exc:  # pragma: no cover - a bug in the splice
            raise UsageError(f"{self.path}: the edit would break the file ({exc}); nothing written") from exc
        if _plain(got.get("sources") or []) != _plain(expected):
            raise UsageError(
                f"{self.path}: could not change this file's sources without touching the rest; nothing written",
                hint="its `sources:` list has a layout this tool does not edit; change it by hand",
            )
        return text

    def write(self, text: str) -> None:
        write_keeping_mode(self.path, text)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return str(value) if not isinstance(value, bool | int | float | type(None)) else value


def _flow_tail(line: str) -> str:
    """What follows a one-line flow entry's closing brace (an end-of-line comment)."""
    close = line.rfind("}")
    return line[close + 1:] if close >= 0 else "\n"


def _block_update(item: CommentedMap, lines: list[str], first: int, changes: Mapping[str, Any]) -> list[str]:
    """Change single-line ``key: value`` lines of a block entry in place; add new keys
    after its last line; other lines (and their comments) are left as they are."""
    out = list(lines)
    keys = list(item)
    indent = item.lc.col
    drop: list[int] = []
    for key, value in changes.items():
        if key in item:
            at = item.lc.key(key)[0] - first
            nxt = item.lc.key(keys[keys.index(key) + 1])[0] - first if keys.index(key) + 1 < len(keys) else len(lines)
            if nxt != at + 1 and not all(_COMMENT_OR_BLANK.match(x) for x in lines[at + 1:nxt]):
                raise UsageError(f"the value of {key!r} spans several lines", hint="edit this entry by hand")
            if value is None:
                drop.append(at)
            else:
                old = out[at]
                hash_at = _comment_column(item, key)
                tail = ("  " + old[hash_at:].rstrip("\n")) if hash_at is not None else ""
                out[at] = " " * indent + f"{key}: {scalar(value)}{tail}\n"
        elif value is not None:
            out.append(" " * indent + f"{key}: {scalar(value)}\n")
    return [line for i, line in enumerate(out) if i not in drop]


def _comment_column(item: CommentedMap, key: str) -> int | None:
    info = item.ca.items.get(key)
    token = info[2] if info and len(info) > 2 else None
    if token is None or not str(token.value).lstrip(" ").startswith("#"):
        return None
    return int(token.start_mark.column)


def scalar(value: Any) -> str:
    """One value as ruamel writes it in a flow context (quoted only when it must be)."""
    text = render_entry({"v": value}, 0, flow=True)
    return text.strip()[len("- {v: "):-1]


def render_entry(entry: Entry, indent: int, *, flow: bool) -> str:
    """``entry`` as list item lines at ``indent`` spaces (block, or one flow line)."""
    yaml = YAML(typ="rt")
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    item = CommentedMap(entry)
    for key, value in entry.items():
        if isinstance(value, list | tuple):
            seq = CommentedSeq(value)
            seq.fa.set_flow_style()
            item[key] = seq
    if flow:
        item.fa.set_flow_style()
    buf = io.StringIO()
    yaml.dump([item], buf)
    text = buf.getvalue()
    pad = " " * indent
    return "".join(pad + line[2:] if line.startswith("  ") else pad + line for line in text.splitlines(keepends=True))


def write_keeping_mode(path: Path, text: str, mutate: Callable[[], None] | None = None) -> None:
    """Replace ``path`` by a temporary file and a rename, keeping its permission bits."""
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
