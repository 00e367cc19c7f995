"""Test setup shared by every test.

- A socket guard: tests may only connect to loopback addresses.
- ``shared``: the path of ../shared (read in place, never copied). Where it is absent the
  test skips with a message; under CI=true it fails instead.
- ``chromium_path``: the Debian Chromium binary for browser tests, same skip/fail rule.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("AGGREGATOR_SHARED", ROOT.parent / "shared"))
IN_CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")

# CI explores the same examples every run (a red build must mean a regression, not a new
# random draw); developers' runs keep drawing new ones and keep failures in .hypothesis/.
hypothesis_settings.register_profile("ci", derandomize=True, deadline=None)
if IN_CI:
    hypothesis_settings.load_profile("ci")


def need(condition: bool, message: str) -> None:
    """Skip when ``condition`` is false, except under CI=true where it is a failure."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{message} (required under CI=true)")
    pytest.skip(message)


def _is_loopback(address: Any) -> bool:
    if not isinstance(address, tuple):
        return isinstance(address, str | bytes)  # AF_UNIX paths are local
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
        raise ConnectionRefusedError(f"test socket guard: {address!r} is not loopback")
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> Any:
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
        raise ConnectionRefusedError(f"test socket guard: {address!r} is not loopback")
    return _real_connect_ex(self, address)


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    name = host.decode() if isinstance(host, bytes) else host
    if name is not None and name not in ("localhost",):
        try:
            ipaddress.ip_address(name)
        except ValueError as exc:
            raise socket.gaierror(f"test socket guard: no DNS for {name!r}") from exc
    return _real_getaddrinfo(host, *args, **kwargs)


@pytest.fixture(autouse=True)
def socket_guard(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", _guarded_getaddrinfo)
    yield


@pytest.fixture(scope="session")
def shared() -> Path:
    need(SHARED.is_dir(), f"../shared not found at {SHARED}; tests on real fixtures need it")
    return SHARED


@pytest.fixture(scope="session")
def chromium_path() -> str:
    found = shutil.which(CHROMIUM) or (CHROMIUM if Path(CHROMIUM).exists() else None)
    need(found is not None, f"Chromium not found at {CHROMIUM}; install Debian's chromium")
    try:
        import playwright  # noqa: F401
    except ImportError:
        need(False, "the playwright package is not installed")
    assert found is not None
    return found


@pytest.fixture
def project_root() -> Path:
    return ROOT
