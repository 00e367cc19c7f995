"""Local copies of post images: fetched with a size cap, resized, stored under output/media/.

Pages, widget and emails only ever show these copies (``media[].local_path``); where a copy
could not be made, they link to the original instead. Each attempt is recorded in the
``media_fetches`` table so a failing image is not fetched again on every run.
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
from PIL import Image, UnidentifiedImageError

from aggregator.app import write_atomic
from aggregator.models import iso

if TYPE_CHECKING:
    from aggregator.app import App

log = logging.getLogger(__name__)

MAX_PIXELS = 40_000_000  # larger images are refused before decoding (decompression bombs)
IMAGE_KINDS = ("image", "photo", "enclosure", "animated_gif", "video")


@dataclass(frozen=True)
class Copy:
    outcome: str  # stored, too_large, not_image, http_error, refused
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


def resize(data: bytes, max_width: int) -> tuple[bytes, int, int]:
    """Decode ``data`` as an image, shrink it to ``max_width`` at most, encode it as WebP."""
    with Image.open(io.BytesIO(data)) as img:
        if img.width * img.height > MAX_PIXELS:
            raise ValueError(f"{img.width}x{img.height} pixels is too large to decode")
        img.load()
        frame = img.convert("RGBA" if img.mode in ("RGBA", "LA", "P") else "RGB")
    if frame.width > max_width:
        height = max(1, round(frame.height * max_width / frame.width))
        frame = frame.resize((max_width, height), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    frame.save(out, format="WEBP", quality=80, method=4)
    return out.getvalue(), frame.width, frame.height


def _download(client: httpx.Client, url: str, max_bytes: int) -> bytes:
    with client.stream("GET", url) as response:
        response.raise_for_status()
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > max_bytes:
            raise OverflowError(f"{declared} bytes declared, the cap is {max_bytes}")
        chunks, total = [], 0
        for chunk in response.iter_bytes():
            total += len(chunk)
            if total > max_bytes:
                raise OverflowError(f"more than {max_bytes} bytes, the cap (media_max_bytes)")
            chunks.append(chunk)
    return b"".join(chunks)


def copy_image(app: App, client: httpx.Client, url: str) -> Copy:
    s = app.config.settings
    host = (urlsplit(url).hostname or "").lower()
    if s.offline and host not in {h.lower() for h in s.allowed_hosts}:
        return Copy("refused", error=f"{host} is not in allowed_hosts while offline is true")
    try:
        data = _download(client, url, s.media_max_bytes)
    except OverflowError as exc:
        return Copy("too_large", error=str(exc))
    except httpx.HTTPError as exc:
        return Copy("http_error", error=f"{type(exc).__name__}: {exc}")
    try:
        webp, width, height = resize(data, s.media_max_width)
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


def fetch_pending_media(app: App, *, limit: int = 500) -> int:
    """Copy the images of up to ``limit`` visible posts not tried before; return copies made."""
    s = app.config.settings
    pending = app.store.posts_pending_media(limit)
    if not pending:
        return 0
    stored = 0
    timeout = httpx.Timeout(s.http_read_timeout, connect=s.http_connect_timeout)
    with httpx.Client(
        timeout=timeout, follow_redirects=True, max_redirects=s.http_max_redirects,
        headers={"User-Agent": s.http_user_agent},
    ) as client:
        for post in pending:
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
