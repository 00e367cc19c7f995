"""Documentation that falls out of date fails the build: commands and settings."""

from __future__ import annotations

import re
from pathlib import Path

import click

from aggregator.cli import cli
from aggregator.settings import reference_markdown

README = Path(__file__).resolve().parent.parent / "README.md"


def _commands(group: click.Group, prefix: str = "aggregator") -> list[str]:
    out = []
    for name, command in sorted(group.commands.items()):
        if command.hidden:
            continue
        full = f"{prefix} {name}"
        if isinstance(command, click.Group):
            out.extend(_commands(command, full))
        else:
            out.append(full)
    return out


def test_every_command_is_in_the_cli_reference() -> None:
    text = README.read_text(encoding="utf-8")
    section = text.split("## CLI reference", 1)[1].split("\n## ", 1)[0]
    missing = [c for c in _commands(cli) if f"`{c}" not in section]
    assert not missing, f"commands missing from README's CLI reference: {missing}"


def test_configuration_reference_matches_the_settings_table() -> None:
    text = README.read_text(encoding="utf-8")
    match = re.search(r"<!-- settings -->\n(.*?)<!-- /settings -->", text, re.S)
    assert match, "README.md lacks the <!-- settings --> block"
    assert match.group(1) == reference_markdown(), (
        "README's configuration reference is out of date: "
        "paste the output of `aggregator settings --reference`"
    )
