"""Digest lists: read and validate the YAML file named by the ``digest_lists`` setting.

The file is kept apart from ``config.yaml`` because it belongs with personal data
(subscribers live in the database; the file only says what each list sends, when and how).
Every problem is reported at once with its file, key and a hint, like the rest of the config.

```yaml
lists:
  - name: unmik-daily          # letters, digits and - ; used in List-Id and commands
    title: UNMIK daily         # optional; shown in the subject and the email
    missions: [UNMIK]          # or: all
    send_at: "07:00"           # local time in `timezone`
    timezone: Europe/Belgrade  # IANA time zone
    sender: "Peacekeeping feeds <digest@example.org>"
    language: en               # en or fr
    send_when_empty: false     # default false: no email on a day without news
    unsubscribe_mailto: unsubscribe@example.org   # optional; default: the sender
    seed_subscribers: [a@example.org]   # demo only: added by `digest send` when the list is empty
```
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aggregator.errors import ConfigError, ConfigProblem, UsageError
from aggregator.mailer import valid_address
from aggregator.yamlfile import YAMLFileError, read_yaml_file

if TYPE_CHECKING:
    from aggregator.config import Config

LANGUAGES = ("en", "fr")
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_KEYS = {
    "name", "title", "missions", "send_at", "timezone", "sender", "language", "send_when_empty",
    "unsubscribe_mailto", "seed_subscribers",
}


@dataclass(frozen=True)
class DigestList:
    name: str
    title: str
    missions: tuple[str, ...] | None  # None: every mission
    send_at: time
    timezone: str
    sender: str
    language: str = "en"
    send_when_empty: bool = False
    unsubscribe_mailto: str = ""
    seed_subscribers: tuple[str, ...] = ()

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def load_digest_lists(config: Config) -> dict[str, DigestList]:
    """All lists by name; ``{}`` when ``digest_lists`` is not set. Raises ``ConfigError``."""
    if not config.settings.digest_lists:
        return {}
    path = config.resolve(config.settings.digest_lists)
    problems: list[ConfigProblem] = []
    lists = _load(path, set(config.missions), problems)
    if problems:
        raise ConfigError(problems)
    return lists


def get_list(config: Config, name: str) -> DigestList:
    lists = load_digest_lists(config)
    if name not in lists:
        known = ", ".join(sorted(lists)) or "none (set digest_lists in config.yaml)"
        raise UsageError(f"no digest list named {name!r}", hint=f"known lists: {known}")
    return lists[name]


def _load(path: Path, missions: set[str], problems: list[ConfigProblem]) -> dict[str, DigestList]:
    file = str(path)
    try:
        data = read_yaml_file(path)
    except YAMLFileError as exc:
        missing = isinstance(exc.__cause__, OSError)
        problems.append(ConfigProblem(
            file, "", f"the digest lists file {exc.message}" if missing else exc.message,
            "create it or fix the digest_lists setting in config.yaml" if missing else exc.hint,
        ))
        return {}
    items = data.get("lists") if isinstance(data, dict) else None
    if not isinstance(items, list):
        problems.append(ConfigProblem(file, "lists", "must be a list of digest lists", "see docs/email.md"))
        return {}
    out: dict[str, DigestList] = {}
    for i, item in enumerate(items):
        dl = _one(file, f"lists[{i}]", item, missions, problems)
        if dl is None:
            continue
        if dl.name in out:
            problems.append(ConfigProblem(file, f"lists[{i}].name", f"{dl.name!r} is used twice", "names must be unique"))
        out[dl.name] = dl
    return out


def _one(
    file: str, key: str, item: Any, missions: set[str], problems: list[ConfigProblem]
) -> DigestList | None:
    def bad(field: str, message: str, hint: str | None = None) -> None:
        problems.append(ConfigProblem(file, f"{key}.{field}", message, hint))

    if not isinstance(item, dict):
        problems.append(ConfigProblem(file, key, "must be a mapping", "see docs/email.md"))
        return None
    before = len(problems)
    for unknown in sorted(set(item) - _KEYS):
        bad(str(unknown), "unknown key", f"known keys: {', '.join(sorted(_KEYS))}")
    name = str(item.get("name", ""))
    if not _NAME.match(name):
        bad("name", f"{name!r} is not a valid list name", "lower-case letters, digits and -")
    chosen = _missions(item.get("missions"), missions, bad)
    send_at = _send_at(item.get("send_at"), bad)
    tz = str(item.get("timezone", ""))
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        bad("timezone", f"{tz!r} is not an IANA time zone", "e.g. Europe/Paris, Africa/Juba, UTC")
    sender = str(item.get("sender", ""))
    if not valid_address(sender):
        bad("sender", f"{sender!r} is not an email address", 'e.g. "Feeds <digest@example.org>"')
    language = str(item.get("language", "en"))
    if language not in LANGUAGES:
        bad("language", f"{language!r} is not supported", "use en or fr")
    when_empty = item.get("send_when_empty", False)
    if not isinstance(when_empty, bool):
        bad("send_when_empty", "must be true or false")
    mailto = str(item.get("unsubscribe_mailto") or "")
    if mailto and not valid_address(mailto):
        bad("unsubscribe_mailto", f"{mailto!r} is not an email address")
    seeds = item.get("seed_subscribers") or []
    if not isinstance(seeds, list) or not all(isinstance(s, str) and valid_address(s) for s in seeds):
        bad("seed_subscribers", "must be a list of email addresses", "demo placeholders only")
        seeds = []
    if len(problems) > before or send_at is None:
        return None
    return DigestList(
        name=name, title=str(item.get("title") or name), missions=chosen, send_at=send_at,
        timezone=tz, sender=sender, language=language, send_when_empty=bool(when_empty),
        unsubscribe_mailto=mailto, seed_subscribers=tuple(s.strip().lower() for s in seeds),
    )


def _missions(value: Any, known: set[str], bad: Any) -> tuple[str, ...] | None:
    if value == "all":
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        bad("missions", "must be `all` or a list of mission acronyms", "e.g. [UNMIK, UNIFIL]")
        return ()
    out = []
    for m in value:
        acronym = str(m).upper()
        if acronym not in known:
            bad("missions", f"unknown mission {m!r}", f"known: {', '.join(sorted(known))}")
        out.append(acronym)
    return tuple(out)


def _send_at(value: Any, bad: Any) -> time | None:
    if isinstance(value, int) and not isinstance(value, bool):
        value = f"{value // 60:02d}:{value % 60:02d}"  # YAML 1.1 reads 07:00 as 420
    text = str(value or "")
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", text)
    if not match:
        bad("send_at", f"{value!r} is not a time", 'quote it: send_at: "07:00"')
        return None
    return time(int(match.group(1)), int(match.group(2)))
