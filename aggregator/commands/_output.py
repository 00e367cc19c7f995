"""What commands print besides their text: ``--json`` documents and progress bars.

``--json`` output is one JSON document on stdout (indented, UTF-8, dates as ISO strings) so
scripts can read any command's result the same way. Progress bars are click's own
(``click.progressbar``), drawn on stderr and only when stderr is a terminal: under cron, in
a pipe or in CI a command prints exactly what it printed before (issue 18).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click


def echo_json(data: Any) -> None:
    """Print ``data`` as one JSON document on stdout."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def on_terminal() -> bool:
    return sys.stderr.isatty()


@contextmanager
def progress(total: int, label: str) -> Iterator[Callable[[int], None]]:
    """Yield ``advance(n)``; it moves a bar on a terminal and does nothing elsewhere."""
    if total <= 0 or not on_terminal():
        yield lambda n: None
        return
    with click.progressbar(length=total, label=label, file=sys.stderr, show_pos=True,
                           show_eta=True) as bar:
        yield bar.update
