"""A post's language: the entry's own, else its feed's, else detected from its text (#18).

Pure apart from the detector's model, loaded once per process on the first detection (posts
whose entry or feed declares a language never load it). py3langid is imported here alone;
``docs/design.md`` says why it was chosen over lingua.

Declared codes are tidied to BCP 47 case (``EN-us`` -> ``en-US``); what cannot be a language
tag (``""``, ``"English"``, X's ``und``/``zxx``/``qme``) counts as undeclared. A text with too
little to detect from (an image with no words, a bare link) gets ``und`` ("undetermined"), so
every post has a language and the language facet adds up to the number of posts.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

Origin = Literal["entry", "feed", "detected"]

UNDETERMINED = "und"
# Detection reads the title and the start of the text: the first few hundred characters
# decide as well as the whole (docs/benchmarks.md, benchmarks/language.py) at a fraction of
# the cost, and the cost is per character.
SAMPLE_CHARS = 300
# Fewer letters than this and the detector is guessing: ``und``.
MIN_LETTERS = 12

_TAG = re.compile(r"^([A-Za-z]{2,3})(?:[-_]([A-Za-z0-9]{2,8}))*$")
# X: und (undetermined), zxx (no linguistic content), qam/qct/qht/qme/qst (mentions,
# cashtags, hashtags, media, short links): not languages.
_NOT_LANGUAGES = {"und", "zxx", "mul", "mis", "art", "qam", "qct", "qht", "qme", "qst"}
_URL = re.compile(r"https?://\S+|www\.\S+|[@#][\w.]+")


@dataclass(frozen=True)
class Language:
    code: str
    origin: Origin
    confidence: float | None = None  # detected only: the detector's probability, 0-1


def tidy(code: Any) -> str | None:
    """A declared language as a BCP 47 tag in canonical case, or None when it is none."""
    if not isinstance(code, str):
        return None
    code = code.strip()
    if not _TAG.match(code):
        return None
    parts = code.replace("_", "-").split("-")
    if parts[0].lower() in _NOT_LANGUAGES:
        return None
    out = [parts[0].lower()]
    for part in parts[1:]:
        if len(part) == 2 and part.isalpha():
            out.append(part.upper())  # region: en-GB
        elif len(part) == 4 and part.isalpha():
            out.append(part.title())  # script: zh-Hant
        else:
            out.append(part.lower())
    return "-".join(out)


def sample(title: str, text: str) -> str:
    """What detection reads: title and text without links, handles and hashtags."""
    both = f"{title}\n{text}" if title and not text.startswith(title[:40]) else text or title
    return _URL.sub(" ", both[: SAMPLE_CHARS * 2])[:SAMPLE_CHARS]


@lru_cache(maxsize=1)
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    try:
        return _cached_identifier()
    except (OSError, EOFError, ValueError, KeyError, ImportError):  # a damaged cache too
        return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def cache_dir() -> Path:
    """Where the detector's model is kept unpacked: ``$XDG_CACHE_HOME/aggregator`` (or
    ``~/.cache/aggregator``), overridable with ``$AGGREGATOR_CACHE``."""
    override = os.environ.get("AGGREGATOR_CACHE")
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "aggregator"


def _cached_identifier() -> Any:
    """py3langid's model, unpacked once into ``cache_dir()`` and memory-mapped from there.

    The package ships it LZMA-compressed (4.5 MB -> 68 MB): unpacking it took 0.6 s per
    process on a quiet machine and 3 s on a busy one, paid by every parse worker and every
    restarted service. Unpacked, it loads in a few tens of milliseconds, and its largest
    table is shared by every process through the page cache. Any problem (a read-only home,
    a model layout this code does not know) falls back to the package's own loader."""
    import lzma
    from importlib.metadata import version

    import numpy as np
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier
    from py3langid.modelio import _to_array

    source = MODEL_DIR / MODEL_FILE
    folder = cache_dir() / f"py3langid-{version('py3langid')}-{source.stat().st_size}"
    if not (folder / "done").exists():
        folder.parent.mkdir(parents=True, exist_ok=True)
        temp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".unpack-"))
        try:
            with lzma.open(source) as packed, np.load(packed, allow_pickle=False) as data:
                for key in _KEYS:
                    np.save(temp / f"{key}.npy", data[key], allow_pickle=False)
            (temp / "done").write_text("ok", encoding="utf-8")
            os.replace(temp, folder)
        except OSError:
            shutil.rmtree(temp, ignore_errors=True)
            if not (folder / "done").exists():  # another process may have won the race
                raise

    def load(key: str, mmap: bool = False) -> Any:
        return np.load(folder / f"{key}.npy", mmap_mode="r" if mmap else None, allow_pickle=False)

    return LanguageIdentifier(
        load("ptc", mmap=True), load("pc"), load("classes").tolist(),
        _to_array(load("nextmove")), load("out_feat").tolist(),
        norm_probs=True, tk_row=_to_array(load("nextmove_row")),
    )


_KEYS = ("ptc", "pc", "classes", "nextmove", "nextmove_row", "out_feat")


def detect(title: str, text: str) -> Language:
    """The language of a post's words, with the detector's confidence."""
    words = sample(title, text)
    if sum(ch.isalpha() for ch in words) < MIN_LETTERS:
        return Language(UNDETERMINED, "detected", 0.0)
    code, probability = _identifier().classify(words)
    return Language(str(code), "detected", round(float(probability), 3))


def resolve(entry: Any, feed: Any, title: str, text: str) -> Language:
    """The entry's declared language, else the feed's, else the detected one."""
    declared = tidy(entry)
    if declared:
        return Language(declared, "entry")
    declared = tidy(feed)
    if declared:
        return Language(declared, "feed")
    return detect(title, text)


__all__ = ["UNDETERMINED", "Language", "Origin", "detect", "resolve", "sample", "tidy"]
