"""Build everything once: ``make_app(config, **overrides)``.

Commands, the scheduler and tests all start here. Tests pass overrides (a fake clock,
a fixed environment, a store on a temporary file) instead of patching globals.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from aggregator.config import Config
from aggregator.store import Store, system_clock


@dataclass
class App:
    config: Config
    store: Store
    clock: Callable[[], datetime] = system_clock
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))

    def now(self) -> datetime:
        return self.clock()

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> App:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def make_app(
    config: Config,
    *,
    clock: Callable[[], datetime] | None = None,
    env: Mapping[str, str] | None = None,
    store: Store | None = None,
    readonly: bool = False,
    check: bool = False,
) -> App:
    """Open the archive and sync the configured missions and sources into it. ``check``: a
    full quick check of the archive first, so that a writer never writes into a damaged file."""
    clock = clock or system_clock
    if store is None:
        store = Store(
            config.database_path, clock=clock, readonly=readonly,
            timeout=config.settings.database_timeout, check=check,
        )
        if not readonly:
            store.sync_missions(config.missions.values())
            store.sync_sources(config.all_sources())
    return App(
        config=config,
        store=store,
        clock=clock,
        env=dict(os.environ) if env is None else env,
    )


def write_atomic(path: Path, data: str | bytes) -> bool:
    """Write ``path`` through a temporary file and a rename. Returns False if unchanged."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        if path.read_bytes() == raw:
            return False
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True
