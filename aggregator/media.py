"""Local copies of post images: fetched with a size cap, resized, stored under output/media/.

Pages, widget and emails only ever show these copies (``media[].local_path``); where a copy
could not be made, they link to the original instead. Each attempt is recorded in the
``media_fetches`` table so a failing image is not fetched again on every run.
"""

from __future__ import annotations

import hashlib
import io
import logging
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx
from PIL import Image, UnidentifiedImageError

from aggregator.addresses import refusal
from aggregator.app import write_atomic
from aggregator.models import iso

if TYPE_CHECKING:
    from aggregator.app import App
    from aggregator.settings import Settings

log = logging.getLogger(__name__)

IMAGE_KINDS = ("image", "photo", "enclosure", "animated_gif", "video")
REDIRECTS = (301, 302, 303, 307, 308)


class Refused(Exception):
    """An address the rules do not let a download reach (#16 item 4)."""


class Deadline(Exception):
    """The image took longer than ``media.deadline`` in all."""


@dataclass(frozen=True)
class Copy:
    outcome: str  # stored, too_large, not_image, http_error, refused, timeout
    local_path: str | None = None
    width: int | None = None
    height: int | None = None
    size: int = 0
    error: str | None = None


def _image_url(item: Mapping[str, Any]) -> str | None:
    kind = item.get("kind", "image")
    if kind not in IMAGE_KINDS:
        return None
    url = item.get("preview_url") if kind in ("video", "animated_gif") else item.get("url")
    url = url or item.get("url")
    if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
        return None
    return url


def local_name(url: str) -> str:
    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()
    return f"media/{digest[:2]}/{digest[2:22]}.webp"


def resize(data: bytes, max_width: int, max_pixels: int) -> tuple[bytes, int, int]:
    """Decode ``data`` as an image, shrink it to ``max_width`` at most, encode it as WebP.

    The pixel budget is checked from the header, before anything is decoded; a JPEG is
    decoded straight at a reduced scale when it is wider than needed (``Image.draft``), so
    the budget counts the pixels actually decoded.
    """
    with Image.open(io.BytesIO(data)) as img:
        if img.width > max_width and img.format == "JPEG":
            img.draft("RGB", (max_width, max(1, img.height * max_width // img.width)))
        if img.width * img.height > max_pixels:
            raise ValueError(
                f"{img.width}x{img.height} pixels is more than media.max_pixels ({max_pixels:,})"
            )
        img.load()
        frame = img.convert("RGBA" if img.mode in ("RGBA", "LA", "P") else "RGB")
    if frame.width > max_width:
        height = max(1, round(frame.height * max_width / frame.width))
        frame = frame.resize((max_width, height), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    frame.save(out, format="WEBP", quality=80, method=4)
    return out.getvalue(), frame.width, frame.height


@dataclass(frozen=True)
class Target:
    """Where one request goes: the URL as written, and the checked address to connect to."""

    url: str
    host: str
    address: str
    port: int

    def request_url(self) -> str:
        parts = urlsplit(self.url)
        ip = f"[{self.address}]" if ":" in self.address else self.address
        return urlunsplit((parts.scheme, f"{ip}:{self.port}", parts.path or "/", parts.query, ""))

    def host_header(self) -> str:
        return urlsplit(self.url).netloc.rsplit("@", 1)[-1]


Resolver = Callable[[str, int], list[str]]


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (IPv4 and IPv6)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise httpx.ConnectError(f"cannot resolve {host}: {exc}") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def check_target(url: str, settings: Settings, resolver: Resolver | None = None) -> Target:
    """Apply the rules to one URL (the first, or any redirect hop): http(s) only; when
    ``offline``, only ``allowed_hosts``; every address the host resolves to must be public,
    unless the host is listed in ``media.private_hosts`` (or in ``allowed_hosts`` while
    offline). The address returned is the one checked, so the connection goes there and a
    second DNS answer (rebinding) cannot send it elsewhere."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().rstrip(".")
    if parts.scheme not in ("http", "https") or not host:
        raise Refused(f"{url!r} is not an http(s) URL")
    allowed = {h.lower() for h in settings.allowed_hosts}
    if settings.offline and host not in allowed:
        raise Refused(f"{host} is not in allowed_hosts while offline is true")
    trusted = host in {h.lower() for h in settings.media_private_hosts} or (
        settings.offline and host in allowed
    )
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = (resolver or resolve)(host, port)
    if not addresses:
        raise httpx.ConnectError(f"{host} has no address")
    if not trusted:
        for address in addresses:
            reason = refusal(address)
            if reason:
                raise Refused(
                    f"{host} is refused: {reason}; list the host in media.private_hosts "
                    "if images should be fetched from it"
                )
    return Target(url, host, addresses[0], port)


def download(
    client: httpx.Client, url: str, settings: Settings, resolver: Resolver | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> bytes:
    """The image's bytes, every hop checked by ``check_target``, within ``media.deadline``
    seconds in all (a server that trickles is cut off) and ``media_max_bytes``."""
    deadline = clock() + settings.media_deadline
    for _hop in range(settings.http_max_redirects + 1):
        target = check_target(url, settings, resolver)
        remaining = deadline - clock()
        if remaining <= 0:
            raise Deadline(f"took more than media.deadline ({settings.media_deadline:g} s)")
        timeout = httpx.Timeout(min(settings.http_read_timeout, remaining),
                                connect=min(settings.http_connect_timeout, remaining))
        request = client.build_request(
            "GET", target.request_url(), headers={"Host": target.host_header()}, timeout=timeout,
            extensions={"sni_hostname": target.host} if url.startswith("https:") else {},
        )
        response = client.send(request, stream=True)
        try:
            if response.status_code in REDIRECTS and response.headers.get("location"):
                url = urljoin(url, response.headers["location"])
                continue
            response.raise_for_status()
            return _body(response, settings.media_max_bytes, deadline, settings, clock)
        finally:
            response.close()
    raise httpx.TooManyRedirects(f"more than {settings.http_max_redirects} redirects")


def _body(response: httpx.Response, max_bytes: int, deadline: float, settings: Settings,
          clock: Callable[[], float]) -> bytes:
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise OverflowError(f"{declared} bytes declared, the cap is {max_bytes}")
    chunks, total = [], 0
    for chunk in response.iter_bytes():
        total += len(chunk)
        if total > max_bytes:
            raise OverflowError(f"more than {max_bytes} bytes, the cap (media_max_bytes)")
        chunks.append(chunk)
        if clock() > deadline:
            raise Deadline(f"took more than media.deadline ({settings.media_deadline:g} s); "
                           f"{total:,} bytes had arrived")
    return b"".join(chunks)


def copy_image(app: App, client: httpx.Client, url: str) -> Copy:
    s = app.config.settings
    try:
        data = download(client, url, s)
    except Refused as exc:
        return Copy("refused", error=str(exc))
    except Deadline as exc:
        return Copy("timeout", error=str(exc))
    except OverflowError as exc:
        return Copy("too_large", error=str(exc))
    except httpx.TimeoutException as exc:
        return Copy("timeout", error=f"{type(exc).__name__}: {exc}")
    except httpx.HTTPError as exc:
        return Copy("http_error", error=f"{type(exc).__name__}: {exc}")
    try:
        webp, width, height = resize(data, s.media_max_width, s.media_max_pixels)
    except (UnidentifiedImageError, ValueError, OSError, Image.DecompressionBombError) as exc:
        return Copy("not_image", error=f"cannot read the image: {exc}")
    name = local_name(url)
    write_atomic(app.config.output_path / name, webp)
    return Copy("stored", name, width, height, len(webp))


def _copy_item(
    app: App, client: httpx.Client, item: dict[str, Any], attempts: list[dict[str, Any]], post_id: str
) -> int:
    """Give one media item a local copy (reusing an earlier one); 1 if it now has one."""
    url = _image_url(item)
    if url is None:
        attempts.append({"url": str(item.get("url") or ""), "outcome": "not_image",
                         "error": f"no http(s) image URL for a {item.get('kind', 'image')} item"})
        return 0
    earlier = app.store.stored_media(url)
    if earlier and (app.config.output_path / earlier).is_file():
        with Image.open(app.config.output_path / earlier) as img:
            item.update(local_path=earlier, width=img.width, height=img.height)
        return 1
    result = copy_image(app, client, url)
    attempts.append({"url": url, "outcome": result.outcome, "local_path": result.local_path,
                     "bytes": result.size, "error": result.error})
    if result.local_path:
        item.update(local_path=result.local_path, width=result.width, height=result.height)
        return 1
    log.warning("media of post %s: %s: %s", post_id, url, result.error)
    return 0


def fetch_pending_media(
    app: App, *, limit: int = 500, clock: Callable[[], float] = time.monotonic
) -> int:
    """Copy the images of up to ``limit`` visible posts not tried before; return copies made.

    Each image has ``media.deadline`` seconds in all; the run starts no new post after
    ``media.run_deadline`` seconds (the rest wait for the next run), so a slow image host
    cannot hold the service, or its shutdown, for long.
    """
    s = app.config.settings
    pending = app.store.posts_pending_media(limit)
    if not pending:
        return 0
    stored = 0
    stop_at = clock() + s.media_run_deadline
    timeout = httpx.Timeout(s.http_read_timeout, connect=s.http_connect_timeout)
    # Redirects are followed by ``download``, each hop checked; no proxy from the
    # environment, so the connection goes to the address that was checked.
    with httpx.Client(
        timeout=timeout, follow_redirects=False, trust_env=False,
        headers={"User-Agent": s.http_user_agent},
    ) as client:
        for post in pending:
            if clock() > stop_at:
                log.info("media: %s seconds spent (media.run_deadline); the rest waits for "
                         "the next run", f"{s.media_run_deadline:g}")
                break
            media: list[dict[str, Any]] = []
            attempts: list[dict[str, Any]] = []
            for item in post["media"]:
                item = dict(item)
                if not item.get("local_path"):
                    stored += _copy_item(app, client, item, attempts, post["id"])
                media.append(item)
            app.store.record_media(post["id"], media, attempts, iso(app.now()) or "")
    return stored


def withdraw_media(app: App) -> int:
    """Delete the local copies that no public post shows any more, so an image of a post an
    editor hid, or that X reports deleted or withheld, leaves the published site too."""
    withdrawn = app.store.withdrawn_media()
    if not withdrawn:
        return 0
    root = app.config.output_path.resolve()
    for rel in withdrawn:
        target = (root / rel).resolve()
        if target.is_relative_to(root):
            target.unlink(missing_ok=True)
    app.store.forget_media(withdrawn)
    log.info("withdrew %d image copies of posts that are no longer public", len(withdrawn))
    return len(withdrawn)
