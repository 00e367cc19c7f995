"""Command modules, one per area; each adds its commands to ``aggregator.cli.cli``.

Keeping commands in their own modules keeps ``cli.py`` the thin entry point and lets
each area (collection, X, digest, search, moderation, service) own its commands.
"""

from __future__ import annotations

import importlib
import pkgutil


def load() -> None:
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")
