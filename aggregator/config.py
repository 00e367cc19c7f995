"""Load and validate ``config.yaml`` (settings) and ``feeds/`` (missions and their sources).

Every problem is collected and reported at once, each with its file, key and a hint.
Secrets are never read from these files: only the names of environment variables.
"""

from __future__ import annotations

import difflib
import ipaddress
from dataclasses import dataclass, fields
from pathlib import Path
from types import UnionType
from typing import Any, get_args, get_type_hints

from aggregator.addresses import is_loopback_host
from aggregator.errors import ConfigError, ConfigProblem
from aggregator.missions import load_missions_dir, load_sources_file
from aggregator.models import Mission, SourceSpec
from aggregator.settings import Settings, display_key
from aggregator.yamlfile import YAMLFileError, read_yaml_file


@dataclass(frozen=True)
class Config:
    path: Path
    settings: Settings
    missions: dict[str, Mission]
    general_sources: tuple[SourceSpec, ...]

    @property
    def root(self) -> Path:
        return self.path.parent

    def resolve(self, relative: str) -> Path:
        p = Path(relative)
        return p if p.is_absolute() else (self.root / p)

    @property
    def database_path(self) -> Path:
        return self.resolve(self.settings.database)

    @property
    def output_path(self) -> Path:
        return self.resolve(self.settings.output_dir)

    @property
    def missions_path(self) -> Path:
        return self.resolve(self.settings.missions_dir)

    def all_sources(self) -> list[SourceSpec]:
        out = [s for m in self.missions.values() for s in m.sources]
        out.extend(self.general_sources)
        return out

    def mission(self, acronym: str) -> Mission | None:
        return self.missions.get(acronym.upper())


def _flatten(data: dict[str, Any], prefix: str = "", written: str = "") -> dict[str, tuple[str, Any]]:
    """Setting name -> (the key as written in the file, dotted when nested; its value)."""
    out: dict[str, tuple[str, Any]] = {}
    known = {f.name for f in fields(Settings)}
    for key, value in data.items():
        name, path = f"{prefix}{key}", f"{written}{key}"
        if isinstance(value, dict) and name not in known:
            out.update(_flatten(value, f"{name}_", f"{path}."))
        else:
            out[name] = (path, value)
    return out


def _coerce(name: str, written: str, value: Any, typ: Any, file: str,
            problems: list[ConfigProblem]) -> Any:
    key = display_key(name)
    origin_args = get_args(typ) if isinstance(typ, UnionType) else ()
    if typ is bool:
        if isinstance(value, bool):
            return value
    elif typ is int:
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
    elif typ is float:
        if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
            return float(value)
    elif typ is str:
        if isinstance(value, str):
            return value
    elif (getattr(typ, "__origin__", None) is tuple or origin_args) and (
        isinstance(value, list) and all(isinstance(v, str) for v in value)
    ):
        return tuple(value)
    tname = getattr(typ, "__name__", str(typ))
    problems.append(
        ConfigProblem(file, written, f"expected {tname}, got {value!r}", f"see the config reference in README.md ({key})")
    )
    return None


def load_settings(path: Path) -> Settings:
    problems: list[ConfigProblem] = []
    settings = _load_settings(path, problems)
    if problems:
        raise ConfigError(problems)
    return settings


def _load_settings(path: Path, problems: list[ConfigProblem]) -> Settings:
    file = str(path)
    if not path.exists():
        problems.append(
            ConfigProblem(file, "", "file not found", "pass --config PATH or run from the project folder")
        )
        return Settings()
    try:
        data = read_yaml_file(path) or {}
    except YAMLFileError as exc:
        problems.append(ConfigProblem(file, "", exc.message, exc.hint))
        return Settings()
    if not isinstance(data, dict):
        problems.append(ConfigProblem(file, "", "must be a mapping of settings", None))
        return Settings()
    hints = get_type_hints(Settings)
    known = {f.name for f in fields(Settings)}
    values: dict[str, Any] = {}
    for name, (written, value) in _flatten(data).items():
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = (f"did you mean {display_key(close[0])!r}?" if close
                    else "see the config reference in README.md")
            problems.append(ConfigProblem(file, written, "unknown setting", hint))
            continue
        coerced = _coerce(name, written, value, hints[name], file, problems)
        if coerced is not None:
            values[name] = coerced
    settings = Settings(**values)
    _check_values(settings, file, problems)
    return settings


def _check_values(s: Settings, file: str, problems: list[ConfigProblem]) -> None:
    if not s.base_url.startswith(("http://", "https://")):
        problems.append(ConfigProblem(file, "base_url", "must start with http:// or https://", None))
    if s.log_format not in {"auto", "text", "json"}:
        problems.append(ConfigProblem(file, "log_format", "must be auto, text or json", None))
    if s.smtp_security not in {"starttls", "ssl", "none"}:
        problems.append(ConfigProblem(file, "smtp_security", "must be starttls, ssl or none", None))
    elif s.smtp_security == "none" and not is_loopback_host(s.smtp_host):
        problems.append(ConfigProblem(
            file, "smtp.security",
            f"is none, which sends mail and the SMTP password in clear text, but smtp.host "
            f"{s.smtp_host!r} is not a loopback address",
            "use starttls or ssl, or run a relay on this machine (localhost, 127.0.0.1 or ::1)",
        ))
    if s.http_concurrency < 1 or s.http_per_host_limit < 1:
        problems.append(
            ConfigProblem(file, "http", "concurrency and per_host_limit must be at least 1", None)
        )
    if s.serve_threads < 1 or s.serve_connection_limit < 1:
        problems.append(
            ConfigProblem(file, "serve", "threads and connection_limit must be at least 1", None)
        )
    if s.max_items_per_run < 1:
        problems.append(ConfigProblem(file, "max_items_per_run", "must be at least 1",
                                      "the default is 500 entries per source and run"))
    if s.min_interval_minutes > s.max_interval_minutes:
        problems.append(
            ConfigProblem(file, "min_interval_minutes", "is larger than max_interval_minutes", None)
        )
    for proxy in s.serve_trusted_proxies:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            problems.append(ConfigProblem(
                file, "serve.trusted_proxies", f"{proxy!r} is not an IP address or network",
                "list the reverse proxies' addresses, e.g. [127.0.0.1, 10.0.0.0/8]",
            ))
    if s.signin_max_failures < 1 or s.signin_max_delay_minutes <= 0:
        problems.append(ConfigProblem(
            file, "signin_max_failures", "max_failures must be at least 1 and max_delay_minutes"
            " above 0", "the defaults are 5 and 15",
        ))
    if s.x_bridge_template and "{handle}" not in s.x_bridge_template:
        problems.append(
            ConfigProblem(file, "x.bridge_template", "must contain {handle}", "e.g. http://rsshub.local/twitter/user/{handle}")
        )


def load_config(path: str | Path = "config.yaml") -> Config:
    """Load settings and missions; raise one ``ConfigError`` listing every problem."""
    cfg_path = Path(path).resolve()
    problems: list[ConfigProblem] = []
    settings = _load_settings(cfg_path, problems)
    root = cfg_path.parent
    missions_dir = Path(settings.missions_dir)
    if not missions_dir.is_absolute():
        missions_dir = root / missions_dir
    missions, general = load_missions_dir(missions_dir, problems)
    if settings.sources_file and missions:
        missions, general = load_sources_file(
            root / settings.sources_file, missions, problems
        )
    if problems:
        raise ConfigError(problems)
    return Config(path=cfg_path, settings=settings, missions=missions, general_sources=general)
