"""Read the YAML files the project reads (config.yaml, mission files, sources and digest lists).

One reader for all of them (PyYAML is imported here only): a safe loader, libyaml's when
PyYAML has it, that refuses a mapping with the same key twice (PyYAML keeps the last one
silently, so a second ``offline: false`` would win without a word, #15 item 8), and
:func:`read_yaml_file`, which also names a file that is not UTF-8 text with its line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node

# libyaml's loader when PyYAML was built with it (its wheels are): the same documents, read
# 5-9x faster, which a config of hundreds of sources notices at every command's start.
_BASE: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MERGE = "tag:yaml.org,2002:merge"

YAMLError = yaml.YAMLError  # what ``read_yaml`` raises on a document that is not YAML


class _UniqueKeys(_BASE):  # type: ignore[valid-type,misc]
    """A safe loader for which a key given twice in one mapping is an error."""

    def construct_mapping(self, node: Node, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == _MERGE:  # "<<: *base" merges; its keys may be overridden
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.setdefault(key, key_node.start_mark.line)
                except TypeError:  # an unhashable key: the base class reports it
                    continue
                if first != key_node.start_mark.line:
                    raise ConstructorError(
                        None, None,
                        f"duplicate key {key!r} on line {key_node.start_mark.line + 1}"
                        f" (first on line {first + 1}): remove one; the second would win silently",
                        None,
                    )
        return dict(super().construct_mapping(node, deep=deep))


def read_yaml(text: str) -> Any:
    """``yaml.safe_load`` with libyaml when it is there, refusing duplicate keys (raises
    ``YAMLError``)."""
    return yaml.load(text, Loader=_UniqueKeys)  # a safe loader: plain data, no Python objects


class YAMLFileError(ValueError):
    """A file that cannot be read as YAML; ``message`` and ``hint`` for a ConfigProblem."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def read_yaml_file(path: Path) -> Any:
    """Read and parse one file (UTF-8, a byte order mark allowed); raise ``YAMLFileError``."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise YAMLFileError(f"cannot read: {exc.strerror or exc}",
                            "check the path in config.yaml and the file's permissions") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise YAMLFileError(
            f"is not UTF-8 text (byte 0x{raw[exc.start]:02x} on line {line})",
            "save it as UTF-8 (e.g. `iconv -f latin1 -t utf-8 FILE > FILE.new`)",
        ) from exc
    try:
        return read_yaml(text)
    except YAMLError as exc:
        detail = " ".join(str(exc).replace('in "<unicode string>", ', "").split())
        hint = "remove one of the two" if "duplicate key" in detail else "fix the YAML syntax"
        raise YAMLFileError(f"not valid YAML: {detail}", hint) from exc
