"""Settings: every key of ``config.yaml`` declared once, with its default, type and help.

``config.yaml`` may nest keys in sections (``http: {connect_timeout: 10}``); a nested key
``section.name`` is the setting ``section_name``. Unknown keys, wrong types and bad values
are all reported at once by :func:`aggregator.config.load_config`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any


def _s(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class Settings:
    database: str = _s("data/aggregator.db", "SQLite archive file (relative to config.yaml)")
    database_timeout: float = _s(
        30.0, "seconds a command waits for another process's write lock on the archive"
    )
    output_dir: str = _s("output", "folder the site is rendered into (relative to config.yaml)")
    missions_dir: str = _s("feeds", "folder of mission files <acronym>.yaml and _general.yaml")
    sources_file: str = _s(
        "", "optional YAML list of sources that replaces the mission files' sources (the demo)"
    )
    base_url: str = _s(
        "http://127.0.0.1:8000/",
        "public URL where output/ is published; absolute links in feeds, emails, snippets",
    )
    site_title: str = _s("Peacekeeping mission feeds", "title shown on every page")
    site_title_fr: str = _s(
        "", "title of the French pages; empty: a French title when site_title is the default, "
        "else site_title"
    )
    http_connect_timeout: float = _s(10.0, "seconds to open a connection")
    http_read_timeout: float = _s(20.0, "seconds to wait for each chunk of a response")
    http_deadline: float = _s(60.0, "seconds one source may take in all, redirects included")
    http_max_body_bytes: int = _s(10_000_000, "larger responses are cut off and recorded as errors")
    http_max_redirects: int = _s(5, "redirects followed before giving up")
    http_user_agent: str = _s(
        "aggregator/0.1 (+https://github.com/peacekeeping-feeds/aggregator)",
        "User-Agent sent with every request",
    )
    http_concurrency: int = _s(16, "sources fetched at the same time")
    http_per_host_limit: int = _s(2, "requests at the same time to one host")
    parse_workers: int = _s(0, "processes that parse feeds; 0 means one per CPU core")
    max_items_per_run: int = _s(
        500, "entries read from one source in one run (feeds list newest first); the rest is reported on the source"
    )
    default_interval_minutes: int = _s(30, "how often a source is polled unless its file says")
    min_interval_minutes: int = _s(5, "the shortest poll interval the adaptive schedule may choose")
    max_interval_minutes: int = _s(360, "the longest poll interval the adaptive schedule may choose")
    backoff_cap_hours: float = _s(24.0, "longest wait between retries of a failing source")
    stale_factor: float = _s(
        10.0, "a source is stale when its newest post is older than this many usual intervals"
    )
    alert_after_hours: float = _s(24.0, "failing or stale this long sends one ops alert")
    service_tick_seconds: float = _s(
        60.0, "`aggregator run` looks for due sources, digests and alerts this often"
    )
    service_health_max_age_minutes: float = _s(
        10.0, "`aggregator health` fails when the service's last tick is older than this"
    )
    offline: bool = _s(False, "refuse every host not listed in allowed_hosts")
    allowed_hosts: tuple[str, ...] = _s((), "hosts reachable when offline is true")
    page_posts: int = _s(20, "posts shown on a mission page")
    show_retweets: bool = _s(True, "show retweets on pages and in the widget by default")
    show_replies: bool = _s(False, "show replies on pages and in the widget by default")
    log_format: str = _s("auto", "auto (text on a terminal, JSON otherwise), text or json")
    log_level: str = _s("INFO", "DEBUG, INFO, WARNING or ERROR")
    media_max_bytes: int = _s(5_000_000, "largest image downloaded for local copies")
    media_max_width: int = _s(1200, "local image copies are resized to at most this width")
    media_max_pixels: int = _s(
        16_000_000, "images with more pixels than this (after JPEG draft scaling) are not decoded"
    )
    media_deadline: float = _s(30.0, "seconds one image download may take in all, redirects included")
    media_run_deadline: float = _s(
        120.0, "seconds one run spends copying images; the rest wait for the next run"
    )
    media_private_hosts: tuple[str, ...] = _s(
        (), "image hosts allowed on private, loopback or link-local addresses (others are refused)"
    )
    x_token_env: str = _s("X_BEARER_TOKEN", "environment variable holding the X API bearer token")
    x_api_base: str = _s("https://api.x.com", "X API base URL (a loopback fake in tests)")
    x_backfill: int = _s(20, "posts read from an X account the first time it is collected")
    x_max_pages: int = _s(3, "pages read from one X account in one run, at most")
    x_price_per_post: float = _s(0.005, "USD charged by X per post read")
    x_price_per_user: float = _s(0.010, "USD charged by X per user read")
    x_monthly_budget: float = _s(50.0, "USD; a run that would pass it is refused")
    x_count_expansions: bool = _s(
        True, "count posts and users returned as expansions (includes) as billed reads"
    )
    x_max_retries: int = _s(2, "retries of an X call after a 5xx or connection error")
    x_recheck_days: float = _s(
        7.0, "stored X posts up to this many days old are re-checked through the tweets lookup"
    )
    x_recheck_hours: float = _s(
        24.0, "hours between the service's re-checks of stored X posts (0: only `x recheck`)"
    )
    x_bridge_template: str = _s(
        "", "RSS bridge URL for X handles without API access, e.g. http://rsshub.local/twitter/user/{handle}"
    )
    digest_lists: str = _s("", "YAML file of digest lists (recipients are personal data)")
    smtp_host: str = _s("localhost", "SMTP server")
    smtp_port: int = _s(587, "SMTP port")
    smtp_security: str = _s(
        "starttls", "starttls, ssl or none (none only for a relay on this machine: loopback host)"
    )
    smtp_user_env: str = _s("SMTP_USER", "environment variable holding the SMTP user name")
    smtp_password_env: str = _s("SMTP_PASSWORD", "environment variable holding the SMTP password")
    smtp_rate_per_second: float = _s(10.0, "messages sent per second at most")
    secret_env: str = _s(
        "AGGREGATOR_SECRET", "environment variable holding the key that signs unsubscribe links"
    )
    smtp_timeout: float = _s(30.0, "seconds to wait for the SMTP server at each step")
    smtp_ca_file: str = _s("", "CA bundle to trust for SMTP TLS (empty: the system's)")
    unsubscribe_url: str = _s(
        "", "HTTPS unsubscribe endpoint (`aggregator serve` route); empty: <base_url>unsubscribe"
    )
    unsubscribe_max_age_days: float = _s(400.0, "unsubscribe links older than this stop working")
    ops_email: str = _s("", "comma-separated addresses that receive ops alerts (empty: log only)")
    ops_sender: str = _s("", "From address of ops alerts (empty: aggregator@<ops domain>)")
    alerts_sender: str = _s(
        "", "From address of saved-search alerts (empty: alerts@<base_url host>)"
    )
    serve_host: str = _s("127.0.0.1", "address `aggregator serve` listens on")
    serve_port: int = _s(8000, "port `aggregator serve` listens on")
    serve_threads: int = _s(8, "threads of `aggregator serve` that answer requests at the same time")
    serve_connection_limit: int = _s(
        500, "open connections `aggregator serve` accepts; more wait in the listen backlog"
    )
    serve_body_timeout: float = _s(
        10.0, "seconds a request body may take to arrive; a slower client gets 408"
    )
    serve_max_body_bytes: int = _s(1_000_000, "largest request body `aggregator serve` reads (413 above)")
    editor_session_hours: float = _s(
        12.0, "hours an editor stays signed in to the moderation page (sign-out ends it sooner)"
    )
    signin_max_failures: int = _s(
        5, "failed sign-ins (per account since its last sign-in, per address in a day) before"
        " each further try waits a delay that doubles from 30 s (429 meanwhile)"
    )
    signin_max_delay_minutes: float = _s(
        15.0, "the longest wait between sign-in tries once throttled (nobody is locked out for good)"
    )
    serve_trusted_proxies: tuple[str, ...] = _s(
        (), "addresses or networks of reverse proxies whose X-Forwarded-For names the client"
    )
    templates_dir: str = _s(
        "", "folder of jinja2 templates searched before the built-in ones (override by name)"
    )
    widget_posts: int = _s(5, "posts the widget shows unless the snippet sets data-posts (1-50)")
    feed_posts: int = _s(50, "entries in each Atom, RSS and JSON feed")


def setting_fields() -> list[tuple[str, Any, str, str]]:
    """(name, default, type name, help) for every setting: the config reference table."""
    out = []
    for f in fields(Settings):
        type_name = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
        out.append((f.name, f.default, str(type_name), f.metadata.get("help", "")))
    return out


# Nested sections of config.yaml. `digest_lists` is written flat, as the email docs and the
# demo write it (`digest: {lists: ...}` reads the same).
SECTIONS = ("http", "x", "smtp", "serve", "media", "ops", "service", "alerts")


def display_key(name: str) -> str:
    """The key as written in config.yaml: ``http_connect_timeout`` -> ``http.connect_timeout``."""
    head, _, rest = name.partition("_")
    return f"{head}.{rest}" if head in SECTIONS and rest else name


def reference_markdown() -> str:
    """The configuration reference table, as the README shows it."""
    lines = ["| key | default | type | what it does |", "| --- | --- | --- | --- |"]
    for name, default, type_name, help_text in setting_fields():
        shown = "" if default in ("", ()) else default
        if isinstance(shown, tuple):
            shown = list(shown)
        lines.append(f"| `{display_key(name)}` | `{shown}` | {type_name} | {help_text} |")
    return "\n".join(lines) + "\n"
